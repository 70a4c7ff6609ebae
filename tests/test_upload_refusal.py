"""``/run?upload=<id>`` with an id that names no upload (issue 16, item 6).

Whatever the id (malformed, hostile, or well-formed but unknown), the Run page shows its refusal ("This upload
cannot be shown" and why), raises nothing, and the server's log gets at most one line for it.
"""

from __future__ import annotations

import logging

import pytest

from dashboard.uploads.store import UploadStore
from tests.helpers import open_page, page_text

REFUSAL = "This upload cannot be shown"
INVALID = [
    "not/an-id", "../../etc/passwd", "", " ", "<script>alert(1)</script>", "a" * 65, "%00", "\x00", "é",
    "0123456789abcdef0123456", "0123456789ABCDEF01234567", "0123456789abcdef01234567\n", "zzzz", "None",
    "0123456789abcdef01234567/../x",
]
UNKNOWN = ["0123456789abcdef01234567", "ffffffffffffffffffffffff"]


@pytest.fixture
def env(tmp_path, monkeypatch):
    from tests.conftest import SAMPLE_LOGS

    monkeypatch.setenv("MMDASH_UPLOAD_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("MMDASH_ROOTS", str(SAMPLE_LOGS))
    monkeypatch.setenv("MMDASH_DEMO", "0")
    yield
    from dashboard.ui import common

    common.release_all()


def refused(upload_id: str, caplog) -> tuple[str, list[logging.LogRecord]]:
    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        at = open_page("run", {"upload": upload_id})  # fails on a script exception
    assert not at.exception
    records = [r for r in caplog.records if r.levelno >= logging.INFO]
    return page_text(at), records


@pytest.mark.parametrize("upload_id", INVALID + UNKNOWN)
def test_an_id_that_names_no_upload_is_refused_quietly(env, caplog, upload_id):
    text, records = refused(upload_id, caplog)
    assert REFUSAL in text, text
    assert len(records) <= 1, [r.getMessage() for r in records]
    assert not any(r.exc_info for r in records)


@pytest.mark.parametrize("upload_id", INVALID)
def test_a_malformed_id_is_called_not_an_upload_id(env, caplog, upload_id):
    text, _ = refused(upload_id, caplog)
    assert "not an upload id" in text and "No run selected" not in text


@pytest.mark.parametrize("upload_id", UNKNOWN)
def test_an_unknown_id_is_called_unknown(env, caplog, upload_id):
    text, _ = refused(upload_id, caplog)
    assert "there is no upload with this id" in text


def test_the_store_takes_only_24_lowercase_hex_digits():
    assert UploadStore.valid_id("0123456789abcdef01234567")
    for bad in ("0123456789abcdef01234567\n", "0123456789ABCDEF01234567", "", None, "x" * 24):
        assert not UploadStore.valid_id(bad)
