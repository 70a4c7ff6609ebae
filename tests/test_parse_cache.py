"""The parse cache (``dashboard/live/parse_cache.py``): a restarted tailer resumes a saved parse and gives exactly
the records of a fresh parse, on real files; a changed, truncated or replaced file or a damaged entry is parsed
from its start."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from dashboard.live.parse_cache import ParseCache
from dashboard.live.tailer import Tailer
from dashboard.views.app_state import AppConfig, AppState
from dashboard.views.summary_cache import SummaryCache
from tests.conftest import SAMPLE_LOGS, corpus_params, sample_log_files
from tests.helpers import append, snapshot, train_line


def cache(tmp_path: Path) -> ParseCache:
    return ParseCache(tmp_path / "cache" / "parses", min_bytes=0)


def read(path: Path, pc: ParseCache | None, root: Path | None = None) -> Tailer:
    t = Tailer(path, parse_cache=pc, root=root)
    t.poll(force=True)
    while t.behind:
        t.poll(force=True)
    return t


def records(t: Tailer) -> list:
    with t.lock:
        t.parser.close()
        return snapshot(t.parser.result())


def fresh(path: Path) -> list:
    return records(read(path, None))


def copy_under(tmp_path: Path, src: Path) -> Path:
    """The log under a ``YYYYMMDD_HHMMSS`` folder of its own (the name gives its year, as MMEngine's do)."""
    d = tmp_path / "logs" / "20250101_000000"
    d.mkdir(parents=True, exist_ok=True)
    dest = d / src.name
    shutil.copyfile(src, dest)
    return dest


def check_resumes(tmp_path: Path, src: Path) -> None:
    data = src.read_bytes()
    cut = len(data) // 2 + 7  # not at a line end: the parser's held-back partial line is part of the state
    log = copy_under(tmp_path, src)
    log.write_bytes(data[:cut])
    pc = cache(tmp_path)
    first = read(log, pc)
    assert first.resumed_at is None and first.save_parse()
    assert pc.stores == 1
    # Restart on the same bytes: everything comes from the cache.
    again = read(log, cache(tmp_path))
    assert again.resumed_at == cut and again.offset == cut
    assert records(again) == fresh(log)
    # Lines appended after the cache was written are read on from its offset.
    append(log, data[cut:])
    later = read(log, cache(tmp_path))
    assert later.resumed_at == cut and later.offset == len(data)
    assert records(later) == fresh(log)


@pytest.mark.parametrize("path", sample_log_files(), ids=lambda p: str(p.relative_to(SAMPLE_LOGS)))
def test_a_restart_gives_the_records_of_a_fresh_parse_sample_logs(tmp_path, path):
    check_resumes(tmp_path, path)


@pytest.mark.parametrize("path", corpus_params())
def test_a_restart_gives_the_records_of_a_fresh_parse_real_logs(tmp_path, path):
    check_resumes(tmp_path, path)


def log_of(tmp_path: Path, n: int = 200) -> Path:
    d = tmp_path / "logs" / "20250101_000000"
    d.mkdir(parents=True, exist_ok=True)
    log = d / "20250101_000000.log"
    log.write_bytes(b"".join(train_line(i) for i in range(1, n)))
    return log


def saved(tmp_path: Path, log: Path) -> ParseCache:
    pc = cache(tmp_path)
    assert read(log, pc).save_parse()
    return pc


def test_a_truncated_file_is_parsed_from_its_start(tmp_path):
    log = log_of(tmp_path)
    saved(tmp_path, log)
    data = log.read_bytes()
    with open(log, "r+b") as f:  # the same inode, shorter
        f.truncate(len(data) // 3)
    t = read(log, cache(tmp_path))
    assert t.resumed_at is None and records(t) == fresh(log)


def test_a_replaced_file_is_parsed_from_its_start(tmp_path):
    log = log_of(tmp_path)
    saved(tmp_path, log)
    data = log.read_bytes()
    other = log.with_name("new")
    other.write_bytes(data + train_line(500))  # the same bytes and more, but another inode (a rotation)
    os.replace(other, log)
    t = read(log, cache(tmp_path))
    assert t.resumed_at is None and records(t) == fresh(log)


def test_a_file_rewritten_in_place_is_parsed_from_its_start(tmp_path):
    log = log_of(tmp_path)
    saved(tmp_path, log)
    data = log.read_bytes()
    # The same inode and size, one digit changed before the saved offset: a fingerprint or the mtime differs.
    i = data.index(b"loss: ") + 6
    log.write_bytes(data[:i] + (b"9" if data[i:i + 1] != b"9" else b"8") + data[i + 1:])
    t = read(log, cache(tmp_path))
    assert t.resumed_at is None and records(t) == fresh(log)
    # A rewrite that keeps the first and last KiB but grows the file is the tailer's documented limit; a change in
    # the last KiB before the offset is seen:
    pc = saved(tmp_path, log)
    data = log.read_bytes()
    log.write_bytes(data[:-20] + b"X" * 20 + train_line(900))
    t = read(log, pc)
    assert t.resumed_at is None and records(t) == fresh(log)


@pytest.mark.parametrize("damage", ["flip a payload byte", "cut short", "garbage", "empty", "bad header"])
def test_a_damaged_cache_entry_is_ignored_with_a_note(tmp_path, damage):
    log = log_of(tmp_path)
    pc = saved(tmp_path, log)
    (entry,) = pc.dir.glob("*.parse")
    raw = bytearray(entry.read_bytes())
    if damage == "flip a payload byte":
        raw[-100] ^= 0xFF
    elif damage == "cut short":
        raw = raw[: len(raw) - 500]
    elif damage == "garbage":
        raw = bytearray(os.urandom(len(raw)))
    elif damage == "empty":
        raw = bytearray()
    else:
        raw[len(b"mmdash parse cache\n") + 6] = ord("!")  # the JSON header is not JSON any more
    entry.write_bytes(bytes(raw))
    pc2 = cache(tmp_path)
    t = read(log, pc2)
    assert t.resumed_at is None and records(t) == fresh(log)
    assert any("parse cache" in n and "ignored" in n for n in pc2.notes), pc2.notes


def test_another_parser_version_or_setting_is_a_miss(tmp_path):
    log = log_of(tmp_path)
    saved(tmp_path, log)
    other = ParseCache(tmp_path / "cache" / "parses", min_bytes=0, version="another")
    t = read(log, other)
    assert t.resumed_at is None and other.misses == 1 and not other.notes
    # A different size limit is a different parser: not resumed into.
    t = Tailer(log, parse_cache=cache(tmp_path), max_bytes=10 << 20)
    t.poll(force=True)
    assert t.resumed_at is None and records(t) == fresh(log)


def test_small_gzip_and_unfinished_logs_are_not_saved(tmp_path):
    log = log_of(tmp_path)
    assert not read(log, ParseCache(tmp_path / "c1", min_bytes=1 << 30)).save_parse()  # below min_bytes
    import gzip

    gz = log.with_suffix(".log.gz")
    gz.write_bytes(gzip.compress(log.read_bytes()))
    assert not read(gz, cache(tmp_path)).save_parse()
    t = Tailer(log, parse_cache=cache(tmp_path), read_chunk=1024)
    assert not t.save_parse()  # nothing read yet


def test_the_cache_is_read_only_through_the_checked_descriptor(tmp_path):
    """A symlink swapped in for the log, leading outside the root: refused before anything (the cache included)
    is used, although the cache holds the parse of a file with the same bytes."""
    root = tmp_path / "logs"
    log = log_of(tmp_path)
    pc = cache(tmp_path)
    assert read(log, pc, root=root).save_parse()
    outside = tmp_path / "outside.log"
    shutil.copyfile(log, outside)
    log.unlink()
    log.symlink_to(outside)
    pc2 = cache(tmp_path)
    t = read(log, pc2, root=root)
    assert t.refused and t.resumed_at is None and not t.runs
    assert pc2.hits == 0


def test_a_restarted_dashboard_resumes_the_parse_and_shows_the_same_run(tmp_path):
    """``AppState`` with both caches: the first server saves the parse once the log settled; a restarted one takes
    the log from it (its summary from the summary cache until the page asks) and the run model has the records of
    the first."""
    root = tmp_path / "logs"
    root.mkdir()
    src = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
    d = root / "20260314_090000"
    d.mkdir()
    log = d / src.name
    shutil.copyfile(src, log)
    old = log.stat().st_mtime - 3600
    os.utime(log, (old, old))  # settled
    config = AppConfig((str(root),), "MMDASH_ROOTS", False)
    sid = f"logs/20260314_090000/{src.name}"

    def start() -> tuple[AppState, object, object]:
        state = AppState(config, summary_cache=SummaryCache(tmp_path / "cache" / "summaries"),
                         parse_cache=cache(tmp_path))
        s = state.lookup(sid).source
        model = state.run_model(s, None)
        return state, s, model

    state, s, model = start()
    try:
        state.save_parse(s)  # the summaries worker may have saved it already (the log is settled): once either way
        # The worker may be writing it right now: its state is taken (one writer per state) before the file is
        # written and counted, so this call skipped it; wait for that write (seen failing under load average 8).
        deadline = time.monotonic() + 60
        while state.parse_cache.stores < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert state.parse_cache.stores == 1 and not state.save_parse(s)
        first = (model.summary, list(model.frame["iter"]), list(model.frame.columns))
        state.run_summaries(s)
        assert state.summary_cache.stores == 1  # so the restarted server leaves the log unread until it is opened
    finally:
        state.close()
    state, s, model = start()
    try:
        assert state.stats()["summaries from the cache"] == 1
        assert s.tailer.resumed_at == log.stat().st_size
        assert state.stats()["logs resumed from the parse cache"] == 1
        assert (model.summary, list(model.frame["iter"]), list(model.frame.columns)) == first
    finally:
        state.close()


def make_untrusted(target: Path, how: str) -> None:
    if how == "writable by other users":
        target.chmod(target.stat().st_mode | 0o022)
    else:  # as root (CI): hand it to "nobody"; as another user this cannot be staged and the case is skipped
        if os.getuid() != 0:
            pytest.skip("chown to another user needs root")
        os.chown(target, 65534, 65534)


@pytest.mark.parametrize("how", ["writable by other users", "owned by another user"])
def test_an_entry_another_user_could_have_written_is_never_loaded(tmp_path, how):
    """An entry is a pickle (code when loaded): one that another user wrote or could have written is refused."""
    log = log_of(tmp_path)
    pc = saved(tmp_path, log)
    (entry,) = pc.dir.glob("*.parse")
    make_untrusted(entry, how)
    pc2 = cache(tmp_path)
    t = read(log, pc2)
    assert t.resumed_at is None and records(t) == fresh(log)
    assert any(f"is {how}: not loaded" in n for n in pc2.notes), pc2.notes


@pytest.mark.parametrize("how", ["writable by other users", "owned by another user"])
def test_a_cache_folder_others_can_write_is_not_used(tmp_path, how):
    log = log_of(tmp_path)
    pc = saved(tmp_path, log)
    make_untrusted(pc.dir, how)
    pc2 = cache(tmp_path)
    assert not pc2.usable and any(f"is {how}; not used" in n for n in pc2.notes), pc2.notes
    t = read(log, pc2)
    assert t.resumed_at is None and records(t) == fresh(log)
    assert not t.save_parse()  # nothing is written there either
