"""Parking (issue 18: "free what a finished, unopened run does not need"): a log nobody needed for a while gives its
records back and reads them again, from the parse cache, when a page needs them or the file grows.

``live.deferred`` ``DeferredTailer.park`` (the watcher's side) and ``AppState.park_idle`` (who is parked), on real
files and real caches.
"""

from __future__ import annotations

import gc
import os
import shutil
import time
import weakref
from pathlib import Path

from dashboard.live.deferred import DeferredTailer
from dashboard.live.parse_cache import ParseCache
from dashboard.live.tailer import Tailer
from dashboard.views.app_state import AppConfig, AppState
from dashboard.views.summary_cache import SummaryCache
from tests.conftest import SAMPLE_LOGS
from tests.helpers import append, snapshot, train_line, wait_until

SFT = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"


def settled_copy(tmp_path: Path, src: Path = SFT) -> Path:
    """``src`` under a root of its own, in a timestamped folder, written an hour ago."""
    d = tmp_path / "logs" / src.parent.name
    d.mkdir(parents=True)
    log = d / src.name
    shutil.copyfile(src, log)
    old = time.time() - 3600
    os.utime(log, (old, old))
    return log


def parse_cache(tmp_path: Path) -> ParseCache:
    return ParseCache(tmp_path / "cache" / "parses", min_bytes=0)  # every log is kept (the sample log is small)


def deferred(log: Path, pc: ParseCache) -> DeferredTailer:
    """A deferred tailer that knows nothing of the file (it reads it at once), read to the end."""
    t = DeferredTailer(log, known=lambda path, st: False, factory=Tailer, parse_cache=pc)
    t.poll(force=True)
    while t.behind:
        t.poll(force=True)
    return t


def records(t) -> list:
    with t.lock:
        t.parser.close()
        return snapshot(t.parser.result())


def fresh(log: Path) -> list:
    t = Tailer(log)
    t.poll(force=True)
    while t.behind:
        t.poll(force=True)
    return records(t)


def test_a_parked_log_holds_no_records_and_reads_them_again_from_the_parse_cache(tmp_path):
    log = settled_copy(tmp_path)
    t = deferred(log, parse_cache(tmp_path))
    assert t.save_parse()
    held = weakref.ref(t.parser)  # the parser holds the runs and their record columns
    lock, version = t.lock, t.version
    t.park()
    assert t.poll() and t.deferred and t.parked == 1
    assert t.runs == [] and t.version == version + 1 and t.lock is lock and t.size == log.stat().st_size
    gc.collect()
    assert held() is None  # the records are gone from memory, not only hidden
    assert not t.poll(force=True) and t.deferred  # unchanged: nothing read
    t.want()
    assert t.poll() and not t.deferred and t.version > version + 1
    assert t.resumed_at == log.stat().st_size  # loaded from the parse cache, not parsed again
    assert records(t) == fresh(log)


def test_a_parked_log_that_grows_reads_on_from_the_cache(tmp_path):
    log = settled_copy(tmp_path)
    t = deferred(log, parse_cache(tmp_path))
    assert t.save_parse()
    size = log.stat().st_size
    t.park()
    assert t.poll() and t.deferred
    append(log, train_line(10_000, n=20_000))
    assert t.poll() and not t.deferred
    assert t.resumed_at == size and t.offset == log.stat().st_size
    assert records(t) == fresh(log)


def test_want_calls_off_a_park_not_done_yet(tmp_path):
    log = settled_copy(tmp_path)
    t = deferred(log, parse_cache(tmp_path))
    t.park()
    t.want()
    t.poll()
    assert not t.deferred and t.parked == 0 and t.runs


def test_a_log_that_changed_since_it_was_read_is_read_not_parked(tmp_path):
    log = settled_copy(tmp_path)
    t = deferred(log, parse_cache(tmp_path))
    t.park()
    append(log, train_line(10_000, n=20_000))
    t.poll()
    assert not t.deferred and t.parked == 0
    assert records(t) == fresh(log)


def test_a_log_with_a_restart_behind_it_is_not_parked(tmp_path):
    """Its restarts (a truncation here) would be lost with the tailer that saw them."""
    log = settled_copy(tmp_path)
    t = deferred(log, parse_cache(tmp_path))
    log.write_bytes(b"".join(train_line(i) for i in (10, 20)))
    t.poll()
    assert t.restarts
    t.park()
    t.poll()
    assert not t.deferred and t.parked == 0


def start(tmp_path: Path, root: Path) -> AppState:
    state = AppState(AppConfig((str(root),), "MMDASH_ROOTS", False),
                     summary_cache=SummaryCache(tmp_path / "cache" / "summaries"), parse_cache=parse_cache(tmp_path))
    assert wait_until(lambda: state.watcher.ready), "the first scan did not end"
    return state


def test_the_dashboard_parks_an_idle_log_and_shows_the_same_run_when_it_is_opened_again(tmp_path):
    log = settled_copy(tmp_path)
    state = start(tmp_path, log.parents[1])
    try:
        src = state.lookup(f"logs/{log.parent.name}/{log.name}").source
        model = state.run_model(src, None)
        before = (model.summary, list(model.frame["iter"]))
        runs_page = [s.as_dict() for s, _ in state.run_summaries(src)]
        assert state.save_parse(src) or src.tailer.parse_saved
        assert wait_until(lambda: state.run_summaries(src) and state.summary_cache.stores == 1)
        assert state.park_idle() == 0  # just opened: kept
        assert state.drop_idle_models(idle=0) == 1
        assert state.park_idle(idle=0) == 1
        assert wait_until(lambda: src.tailer.deferred), "the watcher did not park the log"
        assert src.runs == [] and state.stats()["logs whose records were given back (parked)"] == 1
        assert [s.as_dict() for s, _ in state.run_summaries(src)] == runs_page  # the Runs page is unchanged
        again = state.run_model(src, None)
        assert not src.tailer.deferred and src.tailer.resumed_at == log.stat().st_size
        assert (again.summary, list(again.frame["iter"])) == before
    finally:
        state.close()


def test_a_log_written_just_now_is_not_parked(tmp_path):
    """Its summaries are not in the summary cache yet (a log is stored once settled): the Runs page would have
    nothing to show for it."""
    log = settled_copy(tmp_path)
    os.utime(log)  # written now
    state = start(tmp_path, log.parents[1])
    try:
        src = state.lookup(f"logs/{log.parent.name}/{log.name}").source
        state.run_summaries(src)
        assert state.park_idle(idle=0) == 0 and not src.tailer.deferred and src.runs
    finally:
        state.close()
