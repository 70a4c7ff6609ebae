"""The summary cache (issue 16 item 11): a restart takes the Runs page's summaries of unchanged logs from disk and
does not read those logs; a log that changed, a new parser version or a damaged cache file means reading again.

Counted through ``AppState.stats()``: bytes fed to parsers, summaries built, summaries from the cache, logs not read.
"""

from __future__ import annotations

import os
import pickle
import shutil
import time
from pathlib import Path

import pytest

from dashboard.live.deferred import DeferredTailer
from dashboard.views import app_state
from dashboard.views import summary_cache as sc
from dashboard.views.app_state import AppConfig, AppState
from dashboard.views.summary_cache import SummaryCache
from tests.conftest import SAMPLE_LOGS
from tests.helpers import append, train_line, wait_until

TEE = SAMPLE_LOGS / "det_crash_resume" / "console_tee.log"
CLS = SAMPLE_LOGS / "cls_epoch_val" / "20260315_140000" / "20260315_140000.log"
AN_HOUR_AGO = time.time() - 3600


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    (root / "w" / "20250101_000000").mkdir(parents=True)
    (root / "w" / "20250101_000000" / "20250101_000000.log").write_bytes(
        b"".join(train_line(i) for i in range(10, 110, 10)))
    shutil.copyfile(TEE, root / "tee.log")
    (root / "cls").mkdir()
    shutil.copyfile(CLS, root / "cls" / "20260315_140000.log")
    for p in root.rglob("*.log"):
        os.utime(p, (AN_HOUR_AGO, AN_HOUR_AGO))  # settled logs (a log written just now is not cached yet)
    return root


def start(root: Path, cache_dir: Path, version: str = "v-test") -> AppState:
    """A server's state once its first scan of the root is done (on a loaded machine that takes a while)."""
    state = AppState(AppConfig((str(root),), "MMDASH_ROOTS", False), summary_cache=SummaryCache(cache_dir,
                                                                                                 version=version))
    assert wait_until(lambda: state.watcher.ready), "the first scan did not end"
    return state


def summaries(state: AppState) -> dict[str, list[dict]]:
    return {src.id: [s.as_dict() for s, _ in state.run_summaries(src)] for src in state.watcher.sources()}


def first_start(root: Path, cache_dir: Path) -> dict[str, list[dict]]:
    state = start(root, cache_dir)
    try:
        before = summaries(state)
        # Written by the page's call, else by the summaries worker within STORE_RETRY seconds (a log the worker was
        # summarizing at that moment is written at its next round).
        assert wait_until(lambda: state.stats()["cache entries written"] == 3, timeout=90), state.stats()
        assert state.stats()["summaries built"] == 4  # tee.log holds two runs
        return before
    finally:
        state.close()


def test_a_restart_takes_unchanged_logs_from_the_cache_and_does_not_read_them(root, tmp_path):
    before = first_start(root, tmp_path / "cache")
    state = start(root, tmp_path / "cache")
    try:
        assert summaries(state) == before
        stats = state.stats()
        assert stats["bytes fed to parsers"] == 0 and stats["lines parsed"] == 0
        assert stats["summaries built"] == 0
        assert stats["summaries from the cache"] == 4 and stats["logs left unread"] == 3
        assert stats["cache entries written"] == 0
    finally:
        state.close()


def test_a_log_that_changed_is_read_again_and_the_others_are_not(root, tmp_path):
    first_start(root, tmp_path / "cache")
    log = root / "w" / "20250101_000000" / "20250101_000000.log"
    append(log, train_line(110))
    state = start(root, tmp_path / "cache")
    try:
        got = summaries(state)
        assert got["logs/w/20250101_000000/20250101_000000.log"][0]["last_iter"] == 110
        stats = state.stats()
        assert stats["bytes fed to parsers"] == log.stat().st_size  # that log, from its first byte; no other
        assert stats["summaries built"] == 1 and stats["summaries from the cache"] == 3
        assert stats["logs left unread"] == 2
    finally:
        state.close()


def test_a_new_parser_version_reads_every_log_again(root, tmp_path):
    before = first_start(root, tmp_path / "cache")
    state = start(root, tmp_path / "cache", version="v-next")
    try:
        assert summaries(state) == before
        stats = state.stats()
        assert stats["summaries built"] == 4 and stats["summaries from the cache"] == 0
        assert stats["bytes fed to parsers"] == stats["file bytes"] and stats["logs left unread"] == 0
    finally:
        state.close()


def test_the_code_version_follows_the_parser_and_analysis_source(tmp_path):
    from dashboard.live.parse_cache import code_hash

    assert sc.code_version() == code_hash(sc._CODE_DIRS, f"format {sc.FORMAT}")
    fake = tmp_path / "repo"
    for d in sc._CODE_DIRS:
        (fake / d).mkdir(parents=True)
        (fake / d / "x.py").write_text("A = 1\n")
    one = code_hash(sc._CODE_DIRS, "s", fake)
    assert one != sc.code_version()
    code_hash.cache_clear()
    (fake / "parsers" / "x.py").write_text("A = 2\n")
    assert code_hash(sc._CODE_DIRS, "s", fake) != one
    code_hash.cache_clear()
    (fake / "dashboard" / "analysis" / "x.py").write_text("A = 3\n")
    assert code_hash(sc._CODE_DIRS, "s", fake) != one


def test_a_damaged_cache_file_is_ignored_with_a_note(root, tmp_path):
    before = first_start(root, tmp_path / "cache")
    victim = sorted((tmp_path / "cache").glob("*.pkl"))[0]
    victim.write_bytes(b"\x80\x05not a pickle at all")
    state = start(root, tmp_path / "cache")
    try:
        assert summaries(state) == before
        stats = state.stats()
        assert stats["logs left unread"] == 2 and stats["summaries built"] >= 1
        assert any("could not be read" in n and victim.name in n for n in state.cache_notes), state.cache_notes
        assert wait_until(lambda: state.stats()["cache entries written"] == 1, timeout=90)  # and written again, whole
    finally:
        state.close()
    state = start(root, tmp_path / "cache")
    try:
        assert state.stats()["logs left unread"] == 3 and not state.cache_notes
    finally:
        state.close()


def test_a_failed_write_keeps_the_old_entry(tmp_path, monkeypatch):
    cache = SummaryCache(tmp_path / "c", version="v")
    log = tmp_path / "a.log"
    log.write_bytes(train_line(10))
    st = log.stat()
    assert cache.put(str(log), "x/a.log", st, [("old", 1.0)])

    def broken(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pickle, "dump", broken)
    assert not cache.put(str(log), "x/a.log", st, [("new", 2.0)])
    assert cache.get(str(log), st).summaries == (("old", 1.0),)
    assert [p.name for p in (tmp_path / "c").iterdir() if p.name.startswith(".tmp")] == []
    assert any("cannot write" in n for n in cache.notes)


def test_the_run_page_reads_a_log_the_restart_left_unread(root, tmp_path):
    first_start(root, tmp_path / "cache")
    state = start(root, tmp_path / "cache")
    try:
        src = state.lookup("logs/tee.log").source
        assert src is not None and src.tailer.deferred and src.runs == []
        model = wait_until(lambda: (m := state.run_model(src, 0)) is not None and m.reading is None and m)
        assert model and model.run_count == 2 and model.summary.status == "crashed"
        assert not src.tailer.deferred and src.tailer.offset == (root / "tee.log").stat().st_size
    finally:
        state.close()


def test_a_log_read_for_the_run_page_after_a_restart_is_not_summarized_again(root, tmp_path):
    """The Run page reads a log the restart left unread (from its start, or from the parse cache): the file is the
    one the summary cache's entry is of, so its runs' summaries are the entry's, for the model too (issue 18: a
    restart summarized every run of the big log again, twice for the run shown)."""
    before = first_start(root, tmp_path / "cache")
    state = start(root, tmp_path / "cache")
    try:
        src = state.lookup("logs/tee.log").source
        model = wait_until(lambda: (m := state.run_model(src, 1)) is not None and m.reading is None and m)
        assert model and not src.tailer.deferred
        assert [s.as_dict() for s, _ in state.run_summaries(src)] == before["logs/tee.log"]
        assert model.summary.as_dict() == before["logs/tee.log"][1]
        assert state.stats()["summaries built"] == 0 and state.stats()["summaries from the cache kept once read"] == 2
    finally:
        state.close()


def test_the_run_page_and_the_runs_page_share_a_run_summary(root, tmp_path):
    state = start(root, tmp_path / "cache")
    try:
        src = state.lookup("logs/tee.log").source
        listed = state.run_summaries(src)
        built = state.stats()["summaries built"]
        model = state.run_model(src, 1)
        assert model is not None and model.summary is listed[1][0] and model.median_record_gap == listed[1][1]
        assert state.stats()["summaries built"] == built
    finally:
        state.close()


def test_a_log_read_after_the_first_pass_gets_its_summaries_written_without_a_page(root, tmp_path, monkeypatch):
    """A log the first pass did not summarize (it changed after, or a big one was read to its end later) gets its
    summaries into the cache once it settles, with no page asking for them (issue 18: a restart after the Run page
    of the big log found its parse but not its summaries, read it at once and summarized every run again)."""
    monkeypatch.setattr(app_state, "STORE_RETRY", 0.2)
    state = start(root, tmp_path / "cache")
    try:
        assert wait_until(lambda: state.stats()["cache entries written"] == 3, timeout=60), state.stats()
        log = root / "w" / "20250101_000000" / "20250101_000000.log"
        append(log, train_line(110))
        src = state.lookup("logs/w/20250101_000000/20250101_000000.log").source
        assert wait_until(lambda: src.runs and src.runs[0].last_iter == 110)
        os.utime(log, (AN_HOUR_AGO, AN_HOUR_AGO))  # settled
        assert wait_until(lambda: state.stats()["cache entries written"] == 4, timeout=60), state.stats()
        st = log.stat()
        assert state.summary_cache.get(str(log), st).summaries[0][0].last_iter == 110
    finally:
        state.close()


def test_a_log_left_unread_that_grows_is_followed(root, tmp_path):
    first_start(root, tmp_path / "cache")
    state = start(root, tmp_path / "cache")
    try:
        src = state.lookup("logs/w/20250101_000000/20250101_000000.log").source
        assert src.tailer.deferred and state.run_summaries(src)[0][0].last_iter == 100
        append(root / "w" / "20250101_000000" / "20250101_000000.log", train_line(110))
        assert wait_until(lambda: state.run_summaries(src)[0][0].last_iter == 110)
        assert not src.tailer.deferred
    finally:
        state.close()


def test_the_deferred_tailer_reads_nothing_until_the_file_changes_or_is_wanted(tmp_path):
    log = tmp_path / "a.log"
    log.write_bytes(b"".join(train_line(i) for i in (10, 20)))
    t = DeferredTailer(log, known=lambda path, st: True)
    assert t.poll(force=True) and t.deferred and t.version == 1 and t.runs == [] and t.offset == 0
    assert t.exists and t.size == log.stat().st_size
    assert not t.poll(force=True) and t.version == 1  # unchanged: one lstat, nothing read
    t.want()
    assert t.poll() and not t.deferred and t.version > 1 and len(t.runs[0].train) == 2
    grown = DeferredTailer(log, known=lambda path, st: True)
    grown.poll()
    append(log, train_line(30))
    assert grown.poll() and not grown.deferred and len(grown.runs[0].train) == 3
    unknown = DeferredTailer(log, known=lambda path, st: False)
    assert unknown.poll() and not unknown.deferred and len(unknown.runs[0].train) == 3


@pytest.mark.parametrize("how", ["writable by other users", "owned by another user"])
def test_an_entry_or_folder_another_user_could_have_written_is_never_loaded(tmp_path, how):
    """An entry is a pickle (code when loaded): one another user wrote or could have written is refused, and a
    folder others can write is not used at all."""
    from tests.test_parse_cache import make_untrusted

    cache = SummaryCache(tmp_path / "c", version="v")
    log = tmp_path / "a.log"
    log.write_bytes(b"x")
    st = os.stat(log)
    assert cache.put(str(log), "root/a.log", st, ["s"]) and cache.get(str(log), st) is not None
    (entry,) = (tmp_path / "c").glob("*.pkl")
    make_untrusted(entry, how)
    assert cache.get(str(log), st) is None
    assert any(f"is {how}: not loaded" in n for n in cache.notes), cache.notes
    entry.unlink()
    make_untrusted(tmp_path / "c", how)
    again = SummaryCache(tmp_path / "c", version="v")
    assert not again.usable and any(f"is {how}; not used" in n for n in again.notes)
    assert not again.put(str(log), "root/a.log", st, ["s"]) and not list((tmp_path / "c").glob("*.pkl"))
