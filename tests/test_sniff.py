"""The one file sniffer (``parsers.sniff``): exact verdicts for each kind, the 30% rule, NUL-led files,
and what its callers (discovery, tailer, upload store, review) do with them."""

from __future__ import annotations

import gzip
import io
import random

import pytest

from dashboard.live import discovery as disc
from dashboard.live.tailer import FINGERPRINT_BYTES, Tailer
from dashboard.live.watcher import LogWatcher
from dashboard.uploads.store import UploadRejected, check_log
from dashboard.views import review as rv
from parsers import sniff
from tests.conftest import SHARED_LOGS
from tests.helpers import append, wait_until

LINE = (b"2024/08/27 06:33:10 - mmengine - INFO - Iter(train) [  10/2000]  lr: 1.5255e-06  eta: 2:04:46  "
        b"time: 3.7622  data_time: 0.0285  memory: 39252  loss: 5.6116\n")
SCALARS = b'{"lr": 0.1, "loss": 1.0, "iter": 10, "step": 10}\n'
BOM = b"\xef\xbb\xbf"
REAL = SHARED_LOGS / "mmdet3-rtmdet-balloon-train.log"


def train_lines(n: int, start: int = 1) -> bytes:
    return b"".join(
        b"2024/08/27 06:%02d:%02d - mmengine - INFO - Iter(train) [%5d/2000]  lr: 1.0e-04  time: 0.5  loss: %d.5\n"
        % (i // 60 % 60, i % 60, i * 10, i % 7) for i in range(start, start + n))


def noise(n: int, seed: int = 0) -> bytes:
    """Random bytes without a NUL: binary only by the share of odd characters."""
    return bytes(b or 1 for b in random.Random(seed).randbytes(n))


# ------------------------------------------------------------------------------ verdicts, one per kind


def test_plain_text():
    s = sniff.sniff_head(LINE * 3)
    assert (s.kind, s.gzip, s.damaged, s.leading_nuls, s.text) == (sniff.TEXT, False, False, 0, LINE * 3)


def test_gzip_of_text():
    s = sniff.sniff_head(gzip.compress(LINE * 3))
    assert (s.kind, s.gzip, s.damaged, s.leading_nuls, s.text) == (sniff.TEXT, True, False, 0, LINE * 3)


def test_gzip_of_json_lines():
    s = sniff.sniff_head(gzip.compress(b"\n" + SCALARS * 2))
    assert (s.kind, s.gzip, s.damaged, s.text) == (sniff.JSON, True, False, b"\n" + SCALARS * 2)


def test_gzip_in_several_members_is_read_across_them():
    s = sniff.sniff_head(gzip.compress(LINE) + gzip.compress(SCALARS))
    assert (s.kind, s.gzip, s.text) == (sniff.TEXT, True, LINE + SCALARS)


def test_truncated_gzip_is_judged_on_what_came_out_and_is_not_damaged():
    whole = train_lines(2000)
    blob = gzip.compress(whole)
    s = sniff.sniff_head(blob[: len(blob) // 2])
    assert (s.kind, s.gzip, s.damaged) == (sniff.TEXT, True, False)
    assert s.text and whole.startswith(s.text)


def test_gzip_that_zlib_rejects_is_damaged():
    s = sniff.sniff_head(b"\x1f\x8b\x08\x00garbage" * 10)
    assert (s.kind, s.gzip, s.damaged, s.text) == (sniff.UNDECIDED, True, True, b"")


def test_binary_with_nul_bytes():
    s = sniff.sniff_head(b"\x7fELF\x02\x01\x01\x00\x00\x00" + noise(2000))
    assert (s.kind, s.gzip, s.leading_nuls) == (sniff.BINARY, False, 0)


def test_binary_without_a_nul_byte_by_its_share_of_odd_characters():
    assert sniff.odd_share(noise(16384)) > 0.45
    assert sniff.sniff_head(noise(16384)).kind == sniff.BINARY
    assert sniff.sniff_head(gzip.compress(noise(16384))).kind == sniff.BINARY


def test_json_lines_with_a_byte_order_mark():
    s = sniff.sniff_head(BOM + SCALARS * 3)
    assert (s.kind, s.leading_nuls, s.text) == (sniff.JSON, 0, BOM + SCALARS * 3)


def test_text_led_by_nul_bytes_is_the_text_after_them():
    s = sniff.sniff_head(b"\x00" * 5000 + LINE * 2)
    assert (s.kind, s.leading_nuls, s.text) == (sniff.TEXT, 5000, LINE * 2)
    s = sniff.sniff_head(gzip.compress(b"\x00" * 100_000 + SCALARS))
    assert (s.kind, s.gzip, s.leading_nuls, s.text) == (sniff.JSON, True, 100_000, SCALARS)


def test_nul_bytes_alone_are_undecided_not_binary():
    s = sniff.sniff_head(b"\x00" * 4096)
    assert (s.kind, s.leading_nuls, s.text) == (sniff.UNDECIDED, 4096, b"")
    assert not sniff.looks_binary(b"\x00" * 4096)
    assert sniff.sniff_head(b"").kind == sniff.UNDECIDED


def test_a_nul_byte_after_the_text_started_is_binary():
    s = sniff.sniff_head(LINE + b"\x00" * 10 + LINE)
    assert (s.kind, s.leading_nuls) == (sniff.BINARY, 0)


# ------------------------------------------------------------------------------------ the 30% rule


@pytest.mark.parametrize(("odd", "kind"), [(30, sniff.TEXT), (31, sniff.BINARY)])
def test_the_threshold_is_30_percent_of_the_characters(odd, kind):
    assert sniff.sniff_head(b"a" * (100 - odd) + b"\x01" * odd).kind == kind
    assert sniff.sniff_head(b"a" * (100 - odd) + b"\xff" * odd).kind == kind  # not UTF-8 counts too


def test_what_text_logs_hold_is_not_odd():
    assert sniff.odd_share(b"\t\r\n\x0c\x08\x1b[31m" * 100) == 0.0
    assert sniff.odd_share("学习率 loss: 1.0 — ok\n".encode()) == 0.0  # UTF-8 is text
    assert sniff.sniff_head("café naïve résumé ".encode("latin-1") * 500).kind == sniff.TEXT
    if REAL.exists():
        assert sniff.sniff_head(REAL.read_bytes()).kind == sniff.TEXT


def test_the_window_bounds_what_is_judged():
    s = sniff.sniff_head(LINE * 10 + noise(5000), window=len(LINE) * 10)
    assert (s.kind, s.text) == (sniff.TEXT, LINE * 10)
    assert sniff.sniff_head(LINE * 10 + noise(5000)).kind == sniff.BINARY


def test_may_be_gzip_and_is_gzip():
    assert sniff.may_be_gzip(b"\x1f") and sniff.may_be_gzip(b"\x1f\x8b\x08") and not sniff.may_be_gzip(b"20")
    assert sniff.is_gzip(b"\x1f\x8b") and not sniff.is_gzip(b"\x1f")


def test_read_past_nuls_reads_on_to_the_text_and_no_further_than_the_cap():
    f = io.BytesIO(b"\x00" * 100_000 + LINE * 50)
    head = f.read(16384)
    assert sniff.read_past_nuls(f, head, 16384) == (100_000, (LINE * 50)[:16384])
    f = io.BytesIO(b"\x00" * 100_000)
    assert sniff.read_past_nuls(f, f.read(4096), 4096, max_nuls=40_000) == (40_000, b"")
    assert f.tell() <= 40_000 + 4096


# --------------------------------------------------------------------------------------- the callers


def test_discovery_follows_a_log_led_by_nul_bytes(tmp_path):
    p = tmp_path / "train.log"
    p.write_bytes(b"\x00" * 100_000 + b"\n" + LINE * 20)
    v = disc.sniff_file(str(p))
    assert (v.status, v.kind) == (disc.LOG, "mmengine-text")


def test_discovery_leaves_a_file_of_nul_bytes_undecided_and_decides_when_text_follows(tmp_path):
    p = tmp_path / "train.log"
    p.write_bytes(b"\x00" * 40_000)
    assert disc.sniff_file(str(p)).status == disc.UNDECIDED
    with open(p, "ab") as f:
        f.write(LINE)
    assert disc.sniff_file(str(p)).status == disc.LOG


def test_discovery_still_calls_binary_after_nul_bytes_binary(tmp_path):
    p = tmp_path / "core.log"
    p.write_bytes(b"\x00" * 50_000 + noise(20_000))
    assert disc.sniff_file(str(p)).status == disc.BINARY


def test_the_tailer_reads_the_records_written_after_nul_bytes(tmp_path):
    """A crash left the file's first blocks as zeros; the resumed run's records come after them."""
    p = tmp_path / "20260316_000000.log"
    p.write_bytes(b"\x00" * 4096)
    t = Tailer(p)
    t.poll(force=True)
    assert t.skipped is None
    with open(p, "ab") as f:
        f.write(b"\n" + train_lines(200))
    t.poll(force=True)
    assert t.skipped is None
    assert t.counts() == (200, 0)


def test_a_file_under_a_root_that_holds_only_nul_bytes_is_followed_once_text_follows(tmp_path):
    root = tmp_path / "logs"
    root.mkdir()
    append(root / "crashed.log", b"\x00" * 8192)
    with LogWatcher([root], mode="poll", poll_interval=0.05, safety_interval=0.05) as w:
        assert w.sources() == [] and not any("binary" in n for n in w.notes)
        append(root / "crashed.log", b"\n" + train_lines(200))

        def followed() -> bool:
            src = w.get("logs/crashed.log")
            return src is not None and src.tailer.counts() == (200, 0)

        assert wait_until(followed)


def test_the_tailer_still_skips_binary(tmp_path):
    p = tmp_path / "x.log"
    p.write_bytes(b"\x00" * 3000 + noise(FINGERPRINT_BYTES * 2))
    t = Tailer(p)
    t.poll(force=True)
    assert t.skipped and "binary" in t.skipped


def test_the_upload_store_accepts_a_log_led_by_nul_bytes_and_refuses_nul_bytes_alone():
    checked = check_log("crashed.log", b"\x00" * 20_000 + b"\n" + train_lines(30))
    assert checked.records == 30
    with pytest.raises(UploadRejected, match="binary"):
        check_log("zeros.log", b"\x00" * 20_000)
    with pytest.raises(UploadRejected, match="binary"):
        check_log("noise.log", noise(20_000))


@pytest.mark.parametrize(("data", "kind"), [
    (gzip.compress(SCALARS), rv.JSON), (BOM + SCALARS, rv.JSON), (b"\x00" * 10 + SCALARS, rv.JSON),
    (gzip.compress(LINE), rv.TEXT), (b"\x1f\x8b\x08\x00garbage", rv.TEXT), (noise(1000), rv.TEXT),
])
def test_review_takes_json_or_text_from_the_sniffer(data, kind):
    assert rv.sniff_kind(data) == kind


def test_every_real_log_is_sniffed_as_its_format():
    files = sorted(SHARED_LOGS.glob("*")) if SHARED_LOGS.is_dir() else []
    for path in files:
        if path.suffix not in (".log", ".json"):
            continue
        s = sniff.sniff_head(path.read_bytes())
        assert (s.kind, s.gzip, s.leading_nuls) == (sniff.JSON if path.suffix == ".json" else sniff.TEXT, False, 0), \
            path.name
        assert sniff.sniff_head(gzip.compress(path.read_bytes())).kind == s.kind, path.name


def test_discovery_judges_a_full_window_after_the_nul_bytes(tmp_path):
    p = tmp_path / "tee.txt"
    p.write_bytes(b"\x00" * 5000 + b"Loading dataset...\n" * 700 + LINE)  # the log line is 13 KiB after the NULs
    assert disc.sniff_file(str(p)).status == disc.LOG
