"""The upload store: content addressing, atomic writes, retention, caps, gzip bombs, non-logs."""

from __future__ import annotations

import gzip
import os
import threading

import pytest

from dashboard.uploads.store import UploadRejected, UploadStore, safe_name

from .conftest import SAMPLE_LOGS

LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
SCALARS = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "vis_data" / "scalars.json"


@pytest.fixture
def store(tmp_path):
    return UploadStore(tmp_path / "uploads", max_bytes=5 << 20)


def test_same_bytes_twice_give_the_same_id_and_one_copy(store):
    a = store.add([("run.log", LLM.read_bytes())])
    b = store.add([("renamed.log", LLM.read_bytes())])
    assert a.id == b.id and len(store.list()) == 1
    assert a.files[0].read_bytes() == LLM.read_bytes()


def test_different_bytes_give_different_ids(store):
    a = store.add([("run.log", LLM.read_bytes())])
    b = store.add([("run.log", LLM.read_bytes() + b"\n")])
    assert a.id != b.id


def test_a_log_and_its_scalars_are_one_upload_whatever_the_order(store):
    a = store.add([("x.log", LLM.read_bytes()), ("scalars.json", SCALARS.read_bytes())])
    assert len(a.files) == 2
    assert UploadStore.id_for([SCALARS.read_bytes(), LLM.read_bytes()]) == a.id


def test_gzip_log_is_accepted_and_kept_as_uploaded(store):
    gz = gzip.compress(LLM.read_bytes())
    u = store.add([("run.log.gz", gz)])
    assert u.files[0].read_bytes() == gz


@pytest.mark.parametrize("name,data,message", [
    ("empty.log", b"", "empty"),
    ("notes.txt", b"just some notes\nnothing about training\n" * 10, "not an MMEngine"),
    ("image.log", bytes(range(256)) * 40, "binary"),
    ("model.pth", b"PK\x03\x04" + b"\x00" * 100, "only .log"),
])
def test_bad_uploads_are_rejected_with_a_reason_and_nothing_is_stored(store, name, data, message):
    with pytest.raises(UploadRejected, match=message):
        store.add([(name, data)])
    assert store.list() == [] and not [p for p in store.root.iterdir()]


def test_over_the_limit_is_rejected(tmp_path):
    small = UploadStore(tmp_path / "u", max_bytes=10_000)
    with pytest.raises(UploadRejected, match="over the upload limit"):
        small.add([("big.log", LLM.read_bytes())])


def test_gzip_bomb_stops_at_the_cap(tmp_path):
    small = UploadStore(tmp_path / "u", max_bytes=1 << 20)
    bomb = gzip.compress(LLM.read_bytes() * 40)  # ~2.7 MB of text in a small gzip
    assert len(bomb) < 1 << 20
    with pytest.raises(UploadRejected, match="expands to more than"):
        small.add([("bomb.log.gz", bomb)])


def test_one_bad_file_in_a_group_stores_nothing(store):
    with pytest.raises(UploadRejected):
        store.add([("good.log", LLM.read_bytes()), ("bad.log", b"hello\n")])
    assert store.list() == []


def test_ids_are_validated_before_touching_the_disk(store):
    for bad in ("../etc", "/etc/passwd", "a" * 23, "A" * 24, "0" * 24 + "\x00", ""):
        assert store.get(bad) is None


def test_file_names_cannot_leave_the_folder():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("..\\..\\x.log") == "x.log"
    assert "/" not in safe_name("a/b/c.log") and not safe_name(".hidden").startswith(".")


def test_atomic_write_leaves_no_partial_upload_when_writing_fails(store, monkeypatch):
    real_fsync = os.fsync

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError):
        store.add([("run.log", LLM.read_bytes())])
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert store.list() == [] and list(store.root.iterdir()) == []


def test_retention_by_age_and_size_oldest_first_never_an_open_upload(tmp_path):
    store = UploadStore(tmp_path / "u", max_bytes=5 << 20, max_total_bytes=10**9, max_age_days=1, open_grace=60)
    data = LLM.read_bytes()
    ups = [store.add([(f"r{i}.log", data + b"\n" * (i + 1))]) for i in range(3)]
    now = ups[-1].created + 3 * 86400  # three days later: all are too old
    store.pin(ups[1].id)  # someone has it open
    removed = store.enforce_retention(now=now)
    assert set(removed) == {ups[0].id, ups[2].id}
    assert store.get(ups[1].id) is not None
    store.unpin(ups[1].id)
    assert store.enforce_retention(now=now) == [ups[1].id]


def test_retention_by_total_size_removes_least_recently_opened(tmp_path):
    data = LLM.read_bytes()
    store = UploadStore(tmp_path / "u", max_bytes=5 << 20, max_total_bytes=int(len(data) * 2.5), open_grace=0)
    a = store.add([("a.log", data + b"\n")])
    b = store.add([("b.log", data + b"\n\n")])
    store.touch(a.id)  # a was opened after b
    c = store.add([("c.log", data + b"\n\n\n")])  # adding c goes over the limit
    ids = {u.id for u in store.list()}
    assert c.id in ids and a.id in ids and b.id not in ids


@pytest.mark.parametrize("round_", range(5))
def test_concurrent_uploads_of_the_same_bytes_store_one_copy(tmp_path, round_):
    store = UploadStore(tmp_path / "uploads", max_bytes=5 << 20)
    data = LLM.read_bytes()
    results, errors = [], []

    def go():
        try:
            results.append(store.add([("run.log", data)]).id)
            store.touch(results[-1])
        except Exception as e:  # pragma: no cover - the assertion below reports it
            errors.append(e)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1 and len(store.list()) == 1
    assert [p.name for p in store.root.iterdir()] == [results[0]]  # no temp folder left behind
