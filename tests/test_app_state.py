"""dashboard.views.app_state: configuration, run lookups (the security gate of the run page), shared caches, demo."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from dashboard.live.roots import DEFAULT_ROOT
from dashboard.views import app_state as aps
from dashboard.views.app_state import AppConfig, AppState, DemoReplay, config_from, parse_logs_args
from tests.conftest import SAMPLE_LOGS
from tests.helpers import WAIT_TIMEOUT, append, wait_until
from tests.helpers import train_line as _train_line

TIMEOUT = WAIT_TIMEOUT


def train_line(i: int, n: int = 1000) -> bytes:
    """This file's train lines (data_time=False)."""
    return _train_line(i, n, data_time=False)
TEE = SAMPLE_LOGS / "det_crash_resume" / "console_tee.log"


# ---------------------------------------------------------------------------------------------- configuration

@pytest.mark.parametrize(("argv", "roots"), [
    (["app.py"], None),
    (["app.py", "--logs", "/a", "/b"], ["/a", "/b"]),
    (["app.py", "--logs=/a", "/b", "--other", "x"], ["/a", "/b"]),
    (["/usr/bin/pytest", "-q", "tests/test_app_pages.py", "-k", "x"], None),
    (["app.py", "--logs"], None),
])
def test_parse_logs_args(argv, roots):
    got, notes = parse_logs_args(argv)
    assert got == roots
    assert bool(notes) == (argv[-1] == "--logs")


def test_config_precedence(tmp_path):
    cli = config_from(["app.py", "--logs", str(tmp_path)], {"MMDASH_ROOTS": "/elsewhere"})
    assert cli == AppConfig((str(tmp_path),), "--logs", False)
    env = config_from(["app.py"], {"MMDASH_ROOTS": f"{tmp_path}{os.pathsep}{tmp_path / 'b'}"})
    assert env.roots == (str(tmp_path), str(tmp_path / "b")) and env.roots_from == "MMDASH_ROOTS" and not env.demo
    default = config_from(["app.py"], {})
    assert default.roots == (str(DEFAULT_ROOT),) and default.roots_from == "default" and default.demo
    assert not config_from(["app.py"], {"MMDASH_DEMO": "0"}).demo
    assert not config_from(["app.py"], {"MMDASH_ROOTS": "", "MMDASH_DEMO": "off"}).demo
    assert config_from(["app.py"], {"MMDASH_ROOTS": ""}).demo  # empty = not configured


# ------------------------------------------------------------------------------------------------- fixtures

@pytest.fixture
def tree(tmp_path: Path):
    root = tmp_path / "logs"
    (root / "w" / "20250101_000000").mkdir(parents=True)
    log = root / "w" / "20250101_000000" / "20250101_000000.log"
    log.write_bytes(b"".join(train_line(i) for i in range(10, 110, 10)))
    (root / "tee.log").write_bytes(TEE.read_bytes())
    (root / "notes.txt").write_text("not a log")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.log").write_bytes(train_line(10))
    (root / "escape.log").symlink_to(outside / "secret.log")
    return root, log


@pytest.fixture
def state(tree):
    root, _ = tree
    s = AppState(AppConfig((str(root),), "MMDASH_ROOTS", False))
    yield s
    s.close()


# --------------------------------------------------------------------------------------------------- lookups

@pytest.mark.parametrize("run_id", [
    "", "../outside/secret.log", "logs/../outside/secret.log", "/etc/passwd", "logs\\..\\x.log", "logs/x.log\x00",
    "logs/%2e%2e/outside/secret.log", "other/w.log", "logs", "logs/escape.log", "C:/x.log", "logs/./tee.log",
])
def test_unsafe_or_foreign_ids_are_refused(state, run_id):
    found = state.lookup(run_id)
    assert found.source is None and found.refusal


@pytest.mark.parametrize("run_id", ["logs/missing.log", "logs/notes.txt"])
def test_well_formed_ids_without_a_log_are_missing_not_refused(state, run_id):
    found = state.lookup(run_id)
    assert found.source is None and found.refusal is None and found.missing


def test_a_followed_log_is_found(state):
    found = state.lookup("logs/w/20250101_000000/20250101_000000.log")
    assert found.source is not None and found.refusal is None


# ---------------------------------------------------------------------------------------------------- caches

def test_summaries_are_cached_per_run_and_rebuilt_only_for_the_run_that_grew(state, tree):
    root, log = tree
    tee = state.lookup("logs/tee.log").source
    first = state.run_summaries(tee)
    assert [s.status for s, _ in first] == ["crashed", "finished"]
    built = state.counters.summaries_built
    assert state.run_summaries(tee)[0][0] is first[0][0]
    assert state.counters.summaries_built == built
    src = state.lookup("logs/w/20250101_000000/20250101_000000.log").source
    (s0, _), = state.run_summaries(src)
    assert s0.last_iter == 100
    built = state.counters.summaries_built
    append(log, train_line(110))
    assert wait_until(lambda: state.run_summaries(src)[0][0].last_iter == 110)
    assert state.counters.summaries_built == built + 1


def test_five_sessions_on_one_run_build_its_model_once(state, tree):
    root, log = tree
    src = state.lookup("logs/w/20250101_000000/20250101_000000.log").source
    models = []
    barrier = threading.Barrier(5)

    def session():
        barrier.wait()
        models.append(state.run_model(src, None))

    threads = [threading.Thread(target=session) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert len(models) == 5 and all(m is models[0] for m in models)
    assert state.counters.models_built == 1 and state.counters.models_reused == 4
    append(log, train_line(110))
    assert wait_until(lambda: state.run_model(src, None).summary.last_iter == 110)
    assert state.counters.models_built == 2
    stats = state.stats()
    assert stats["bytes fed to parsers"] == stats["file bytes"]  # every byte of every file parsed once


def test_the_model_of_an_earlier_run_is_not_rebuilt_when_the_last_run_grows(state, tree):
    root, _ = tree
    tee_path = root / "tee.log"
    src = state.lookup("logs/tee.log").source
    m0 = state.run_model(src, 0)
    assert m0.run_index == 0 and m0.run_count == 2 and not m0.is_last_run
    assert m0.summary.status == "crashed" and any(e["kind"] == "traceback" for e in m0.events)
    version = src.version
    append(tee_path, train_line(610, 1000).replace(b"Iter(train)", b"Iter(train)"))
    assert wait_until(lambda: src.version != version)
    assert state.run_model(src, 0) is m0
    last = state.run_model(src, None)
    assert last.run_index == last.run_count - 1 and last.is_last_run
    assert state.run_model(src, 99).run_index == last.run_index  # past the end: the last run


def test_a_model_no_page_asked_for_in_a_while_is_dropped_and_built_again_when_asked(state, tree):
    src = state.lookup("logs/tee.log").source
    m0 = state.run_model(src, 0)
    last = state.run_model(src, None)
    assert state.drop_idle_models() == 0  # both just asked for
    assert state.drop_idle_models(idle=0.0) == 2 and state.stats()["run models dropped unused"] == 2
    built = state.counters.models_built
    again = state.run_model(src, 0)
    assert again is not m0 and state.counters.models_built == built + 1
    assert again.summary == m0.summary and list(again.frame["iter"]) == list(m0.frame["iter"])
    assert state.run_model(src, None).summary == last.summary


def test_a_slow_model_is_reused_for_a_while_even_when_its_run_grew(state, tree, monkeypatch):
    root, log = tree
    src = state.lookup("logs/w/20250101_000000/20250101_000000.log").source
    m = state.run_model(src, None)
    m.build_seconds = 1000.0  # pretend it took long
    version = src.version
    append(log, train_line(110))
    assert wait_until(lambda: src.version != version)
    assert state.run_model(src, None) is m and state.counters.models_throttled == 1
    monkeypatch.setattr(aps, "MODEL_THROTTLE", 0.0)
    monkeypatch.setattr(aps, "MIN_AGE", 0.0)
    assert state.run_model(src, None).summary.last_iter == 110


# ------------------------------------------------------------------------------------------------------ demo

def test_the_demo_replays_a_live_run_that_the_watcher_follows():
    demo = DemoReplay(speed=5000.0, max_gap=0.02)
    state = AppState(AppConfig((str(SAMPLE_LOGS),), "default", True), demo=demo)
    try:
        assert state.roots[-1].label == aps.DEMO_ROOT_NAME
        src = wait_until(lambda: state.lookup(demo.source_id).source)
        assert src is not None
        first = wait_until(lambda: (m := state.run_model(src, None)) is not None and m.summary.last_iter)
        assert first
        assert wait_until(lambda: (state.run_model(src, None).summary.last_iter or 0) > first)
        from dashboard.views import run_model

        lv = run_model.liveness(discovered_at=src.discovered_at, last_growth_at=src.last_growth_at,
                         mtime=os.stat(src.path).st_mtime)
        assert lv.live
    finally:
        state.close()
    assert not os.path.exists(demo.base)


def test_a_young_chart_stands_for_newer_states_of_its_run(state, monkeypatch):
    """Five sessions ticking at their own moments see five states of a fast log: one chart build serves them
    for FIGURE_REUSE seconds (issue 16 item 10: chart builds were most of the server's time)."""
    builds = []

    def build(fp):
        return lambda: builds.append(fp) or f"chart of {fp}"

    family = ("run", 0, "loss", "view")
    assert state.figure(("run", 0, 1, "loss", "view"), build(1), family=family) == "chart of 1"
    assert state.figure(("run", 0, 2, "loss", "view"), build(2), family=family) == "chart of 1"
    assert state.counters.figures_throttled == 1 and builds == [1]
    assert state.figure(("run", 0, 2, "loss", "other view"), build(2), family=family[:3] + ("other view",)) \
        == "chart of 2"
    monkeypatch.setattr(aps, "FIGURE_REUSE", 0.0)
    assert state.figure(("run", 0, 3, "loss", "view"), build(3), family=family) == "chart of 3"
    assert builds == [1, 2, 3]


# ------------------------------------------------------------------------------- a log read over several looks

def test_a_log_read_over_several_looks_says_how_far_the_reading_is(tmp_path, monkeypatch):
    """Issue 18: a model built while the first read is under way says so; once read, it does not."""
    from types import SimpleNamespace

    from dashboard.live import tailer as tailer_mod

    log = tmp_path / "big.log"
    log.write_bytes(b"".join(train_line(i) for i in range(1, 201)))
    size = log.stat().st_size
    monkeypatch.setattr(tailer_mod, "MAX_READ_PER_POLL", size // 4)
    t = tailer_mod.Tailer(log)
    src = SimpleNamespace(tailer=t, size=size)
    assert aps.reading_of(src) == aps.Reading(0, size)  # found, not read yet
    t.poll()
    reading = aps.reading_of(src)
    assert reading is not None and 0 < reading.done < size and reading.total == size
    assert reading.done == t.offset
    while t.behind:
        t.poll()
    assert aps.reading_of(src) is None and t.offset == size
    append(log, train_line(201))
    t.poll()
    assert aps.reading_of(src) is None  # a log that grows after its first read is not "being read"


def test_a_log_read_in_chunks_is_still_being_read_between_two_chunks_of_one_look(tmp_path, monkeypatch):
    """The parser takes the lock per chunk: a model built between two chunks of one look is of a part."""
    from types import SimpleNamespace

    from dashboard.live import tailer as tailer_mod

    log = tmp_path / "big.log"
    log.write_bytes(b"".join(train_line(i) for i in range(1, 201)))
    t = tailer_mod.Tailer(log, read_chunk=1000)
    src = SimpleNamespace(tailer=t, size=log.stat().st_size)
    seen = []
    feed = t.parser.feed

    def feed_and_look(data):
        feed(data)
        seen.append(aps.reading_of(src))

    monkeypatch.setattr(t.parser, "feed", feed_and_look)
    t.poll()
    assert len(seen) > 5 and all(r is not None and r.total == src.size for r in seen)
    assert aps.reading_of(src) is None


def test_the_reading_note_and_the_charts_note_say_what_is_read():
    from dashboard.views.run_model import Reading, charts_wait_text

    r = Reading(64_000_000, 230_000_000)
    assert r.text() == ("Reading the log: 28 % (64.0 of 230.0 MB). Until it is read, the numbers are those of the "
                        "part read so far.")
    assert charts_wait_text(r, 286_716) == ("The charts are drawn once the whole log is read (28 % so far, up to "
                                            "iteration 286,716): a chart of part of the run would look like the "
                                            "whole run.")
    assert Reading(5, 0).fraction == 0.0 and Reading(7, 5).fraction == 1.0


def test_a_model_of_a_half_read_log_is_never_reused_for_a_newer_state(state, tree):
    from dashboard.views.run_model import Reading

    root, log = tree
    src = state.lookup("logs/w/20250101_000000/20250101_000000.log").source
    m = state.run_model(src, None)
    m.build_seconds = 1000.0  # slow: a complete model would be reused (the throttle) ...
    m.reading = Reading(10, 20)  # ... but not one built while the log was half read
    version = src.version
    append(log, train_line(110))
    assert wait_until(lambda: src.version != version)
    fresh = state.run_model(src, None)
    assert fresh is not m and fresh.reading is None and fresh.summary.last_iter == 110


def test_a_model_built_while_the_log_was_read_is_not_reused_once_it_is_read(state, tree):
    """The run a model shows may be complete while the file is still read (an earlier run of a multi-run log):
    its fingerprint no longer changes, but the reading did."""
    from dashboard.views.run_model import Reading

    src = state.lookup("logs/tee.log").source
    first = state.run_model(src, 0)
    assert first.reading is None
    first.reading = Reading(1, 2)  # as if built during the first read
    again = state.run_model(src, 0)
    assert again is not first and again.reading is None and again.fingerprint == first.fingerprint
