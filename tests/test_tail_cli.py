"""``python -m dashboard tail`` and ``replay`` as real subprocesses against real files."""

from __future__ import annotations

import gzip
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from parsers import parse_bytes, parse_path
from tests.conftest import ROOT, SHARED_LOGS
from tests.helpers import append
from tests.helpers import train_line as _train_line

REPO = ROOT
TIMEOUT = 20.0


def train_line(i: int, n: int = 1000) -> bytes:
    """This file's train lines (eta="1:02:03")."""
    return _train_line(i, n, eta="1:02:03")
JSON_KEYS = {"source", "run", "kind", "iter", "max_iters", "epoch", "progress", "eta_seconds", "timestamp", "values"}
TEXT_TRAIN = re.compile(r"^\S+ run \d+ iter \d+/(\d+|\?) \((\d+\.\d|\?)%\) eta (\d+:\d\d:\d\d|\?) loss \S+$")


VAL_LINE = (b"2024/08/27 07:00:00 - mmengine - INFO - Epoch(val) [3][11/11]    coco/bbox_mAP: 0.3830  "
            b"coco/bbox_mAP_50: 0.6120\n")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("MMDASH_WATCHER", None)
    return env


class Tail:
    """A running ``tail`` subprocess whose stdout/stderr lines arrive on queues."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dashboard", "tail", *args], cwd=REPO, env=_env(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: queue.Queue[str] = queue.Queue()
        self.err_lines: list[str] = []
        for stream, q in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, q), daemon=True).start()

    @staticmethod
    def _pump(stream, q) -> None:
        for line in stream:
            q.put(line.rstrip("\n"))

    def wait_started(self) -> None:
        """Until the watcher's first scan is done (it says so on stderr)."""
        self.wait_err(lambda line: line.startswith("note: following"))

    def wait_err(self, pred) -> str:
        """Until a stderr line (already seen or new) matches."""
        for line in self.err_lines:
            if pred(line):
                return line
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self.err.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.err.empty():
                    break
                continue
            self.err_lines.append(line)
            if pred(line):
                return line
        raise AssertionError(f"stderr never matched; got {self.err_lines!r}")

    def lines(self, n: int) -> list[str]:
        got = []
        deadline = time.monotonic() + TIMEOUT
        while len(got) < n and time.monotonic() < deadline:
            try:
                got.append(self.out.get(timeout=0.1))
            except queue.Empty:
                continue
        while not self.err.empty():
            self.err_lines.append(self.err.get())
        assert len(got) == n, f"expected {n} lines, got {got!r}; stderr: {self.err_lines!r}"
        return got

    def no_more_lines(self, within: float = 0.3) -> bool:
        try:
            extra = self.out.get(timeout=within)
        except queue.Empty:
            return True
        raise AssertionError(f"unexpected output: {extra!r}")

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def tail_proc():
    procs = []

    def start(*args: str) -> Tail:
        t = Tail(*args)
        procs.append(t)
        return t

    yield start
    for t in procs:
        t.close()


@pytest.mark.parametrize("mode", ["inotify", "poll"])
def test_tail_json_prints_each_new_record_once(tmp_path, tail_proc, mode):
    log = tmp_path / "run.log"
    append(log, train_line(1) + train_line(2))
    t = tail_proc(str(log), "--json", "--mode", mode, "--poll-interval", "0.1")
    t.wait_started()
    for i in range(3, 8):
        append(log, train_line(i))
    recs = [json.loads(x) for x in t.lines(5)]
    assert [r["iter"] for r in recs] == [3, 4, 5, 6, 7]  # not 1 and 2: they were there before
    r = recs[0]
    assert set(r) == JSON_KEYS
    assert r["source"] == f"{tmp_path.name}/run.log" and r["kind"] == "train" and r["run"] == 0
    assert r["max_iters"] == 1000 and r["progress"] == pytest.approx(0.003) and r["eta_seconds"] == 3723
    assert r["values"]["loss"] == pytest.approx(1 / 3, abs=1e-4) and r["timestamp"] is not None
    t.no_more_lines()
    assert t.close() == 130


def test_tail_from_start_prints_existing_records_first(tmp_path, tail_proc):
    log = tmp_path / "run.log"
    append(log, train_line(1) + train_line(2) + VAL_LINE)
    t = tail_proc(str(log), "--json", "--from-start")
    recs = [json.loads(x) for x in t.lines(3)]
    assert [(r["kind"], r["iter"]) for r in recs] == [("train", 1), ("train", 2), ("val", 2)]
    assert recs[2]["epoch"] == 3 and recs[2]["values"] == {"coco/bbox_mAP": 0.383, "coco/bbox_mAP_50": 0.612}


def test_tail_text_lines(tmp_path, tail_proc):
    log = tmp_path / "run.log"
    append(log, b"")
    t = tail_proc(str(log))
    t.wait_started()
    append(log, train_line(250) + VAL_LINE)
    train, val = t.lines(2)
    assert TEXT_TRAIN.match(train), train
    assert train == f"{tmp_path.name}/run.log run 0 iter 250/1000 (25.0%) eta 1:02:03 loss 0.004"
    assert val == f"{tmp_path.name}/run.log run 0 val epoch 3 coco/bbox_mAP=0.383 coco/bbox_mAP_50=0.612"


def test_tail_a_partial_line_waits_for_its_newline(tmp_path, tail_proc):
    log = tmp_path / "run.log"
    append(log, b"")
    t = tail_proc(str(log), "--json")
    t.wait_started()
    line = train_line(9)
    append(log, line[:40])
    t.no_more_lines(0.5)
    append(log, line[40:])
    assert json.loads(t.lines(1)[0])["iter"] == 9


def test_tail_after_truncation_prints_the_new_content(tmp_path, tail_proc):
    log = tmp_path / "run.log"
    append(log, train_line(1) + train_line(2) + train_line(3))
    t = tail_proc(str(log), "--json", "--mode", "poll", "--poll-interval", "0.1")
    t.wait_started()
    with open(log, "r+b") as f:
        f.truncate(0)
    append(log, train_line(1))
    assert json.loads(t.lines(1)[0])["iter"] == 1
    t.wait_err(lambda line: "starts over" in line)


def test_tail_a_root_follows_runs_that_appear_later(tmp_path, tail_proc):
    root = tmp_path / "work_dirs"
    root.mkdir()
    t = tail_proc(str(root), "--json")
    t.wait_started()
    run_dir = root / "cfg" / "20240827_063210"
    run_dir.mkdir(parents=True)
    append(run_dir / "20240827_063210.log", train_line(10))
    r = json.loads(t.lines(1)[0])
    assert r["source"] == "work_dirs/cfg/20240827_063210/20240827_063210.log" and r["iter"] == 10


def test_tail_waits_for_a_file_that_does_not_exist_yet(tmp_path, tail_proc):
    log = tmp_path / "later.log"
    t = tail_proc(str(log), "--json")
    t.wait_started()
    append(log, train_line(4))
    assert json.loads(t.lines(1)[0])["iter"] == 4


def test_tail_of_a_missing_directory_is_an_error(tmp_path):
    p = subprocess.run([sys.executable, "-m", "dashboard", "tail", str(tmp_path / "nope" / "x")], cwd=REPO,
                       env=_env(), capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and p.stderr.startswith("error:")


def _replay(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dashboard", "replay", *args], cwd=REPO, env=_env(),
                          capture_output=True, text=True, timeout=timeout)


def _sample_log() -> Path:
    p = SHARED_LOGS / "xtuner-internvl2-2b-qlora-ft-20240827.log"
    if not p.is_file():
        pytest.skip("../shared/real_logs is absent: the replay tests use a real log")
    return p


@pytest.mark.corpus
def test_replay_copies_a_real_log_line_by_line(tmp_path):
    src = _sample_log()
    p = _replay(str(src), str(tmp_path / "out" / "run.log"), "--speed", "0")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "out" / "run.log").read_bytes() == src.read_bytes()


@pytest.mark.corpus
def test_replay_reads_gzip_and_writes_into_a_directory(tmp_path):
    src = _sample_log()
    gz = tmp_path / "run.log.gz"
    gz.write_bytes(gzip.compress(src.read_bytes()))
    (tmp_path / "dest").mkdir()
    assert _replay(str(gz), str(tmp_path / "dest"), "--speed", "0").returncode == 0
    assert (tmp_path / "dest" / "run.log").read_bytes() == src.read_bytes()


def test_replay_keeps_the_pace_of_the_timestamps(tmp_path):
    """Lines 2 s apart at --speed 10 take at least 0.2 s each; --max-gap caps an hour-long gap."""
    src = tmp_path / "src.log"
    src.write_bytes(b"".join(train_line(i * 2) for i in range(1, 5))  # 2 s apart
                    + train_line(10).replace(b"06:00:10", b"07:00:10"))  # an hour later
    t0 = time.monotonic()
    p = _replay(str(src), str(tmp_path / "dest.log"), "--speed", "10", "--max-gap", "0.5")
    took = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    assert took >= 3 * 0.2 + 0.5
    assert took < 30  # the hour was capped (generous bound: start-up on a noisy machine)
    assert (tmp_path / "dest.log").read_bytes() == src.read_bytes()


def test_replay_of_a_missing_source_is_an_error(tmp_path):
    p = _replay(str(tmp_path / "nope.log"), str(tmp_path / "x.log"))
    assert p.returncode == 2 and p.stderr.startswith("error:")
    assert not (tmp_path / "x.log").exists()


@pytest.mark.corpus
@pytest.mark.parametrize("mode", ["inotify", "poll"])
def test_replay_into_tail_shows_every_record_of_the_real_log(tmp_path, tail_proc, mode):
    """The live demo path end to end: replay writes a real log, tail --json prints each record once."""
    src = SHARED_LOGS / "xtuner-nursingai-deepseek-lora64-multirun-oom.log"
    if not src.is_file():
        pytest.skip("../shared/real_logs is absent: the replay tests use a real log")
    want = parse_path(src)
    n_train = sum(len(r.train) for r in want.runs)
    n_eval = sum(len(r.evals) for r in want.runs)
    dest = tmp_path / "live" / "demo.log"
    dest.parent.mkdir()
    t = tail_proc(str(dest), "--json", "--mode", mode, "--poll-interval", "0.1")
    t.wait_started()
    p = _replay(str(src), str(dest), "--speed", "0")
    assert p.returncode == 0, p.stderr
    recs = [json.loads(x) for x in t.lines(n_train + n_eval)]
    got = [(r["run"], r["iter"]) for r in recs if r["kind"] == "train"]
    assert got == [(r.index, it) for r in want.runs for it in r.train.iters]
    t.no_more_lines()
    assert parse_bytes(dest.read_bytes()).runs[-1].train.iters == want.runs[-1].train.iters
