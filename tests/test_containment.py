"""Root containment holds at every open, not only when a file is found (issue 16, item 1).

The attack: a log under a root is listed, then removed and replaced by a symlink to a file outside the root
(``ln -s /outside/secret.log``), or a directory on its path is replaced by a symlink that leads out. Whatever
opens the path afterwards (the tailer, discovery's sniffing, a log opened by reference for Compare or the
Calculator) must refuse, and the outside file's text must never reach a run, ``tail`` or a page.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dashboard.live import discovery as disc
from dashboard.live import roots as roots_mod
from dashboard.live.roots import UnsafePath, make_roots, open_inside
from dashboard.live.tailer import Tailer
from dashboard.live.watcher import LogWatcher
from dashboard.views import review
from tests.helpers import WAIT_TIMEOUT, append, train_line, wait_until

SECRET = "SECRETMARKER"
STAMP = "20260316_000000"
REL = f"swap2/{STAMP}/{STAMP}.log"


def secret_log(n: int = 150) -> bytes:
    """An outside file that parses as a crashed run: N=150 and a traceback that names a password."""
    body = b"".join(train_line(i, n) for i in range(1, n + 1))
    return body + (b"2024/08/27 07:00:00 - mmengine - ERROR - Traceback (most recent call last):\n"
                   b"RuntimeError: " + SECRET.encode() + b" db_password=hunter2\n")


@pytest.fixture
def scene(tmp_path: Path):
    """``root/swap2/<stamp>/<stamp>.log`` (N=1000) and, outside the root, ``outside/secret.log`` (N=150)."""
    root = tmp_path / "root"
    log = root / REL
    log.parent.mkdir(parents=True)
    append(log, b"".join(train_line(i) for i in range(1, 6)))
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.log"
    secret.write_bytes(secret_log())
    return root, log, secret


def swap_for_link(log: Path, target: Path) -> None:
    log.unlink()
    log.symlink_to(target)


def everything_in(src) -> str:
    """Every value a reader of the source can reach (runs, records, errors, notes), as one text."""
    with src.lock:
        parts = [repr(r) for r in src.runs]
        for r in src.runs:
            parts.append(repr([r.train.row(i) for i in range(len(r.train))]))
            parts.append(repr(getattr(r, "errors", "")))
    return "\n".join(parts + list(src.notes))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------------------------------------ the gate


def test_open_inside_opens_a_file_inside_its_root(scene):
    root, log, _ = scene
    fd = open_inside(str(log), str(root))
    try:
        assert os.pread(fd, 10, 0) == log.read_bytes()[:10]
    finally:
        os.close(fd)


def test_open_inside_refuses_a_symlink_out_of_the_root(scene):
    root, log, secret = scene
    swap_for_link(log, secret)
    with pytest.raises(UnsafePath):
        open_inside(str(log), str(root))


def test_open_inside_refuses_a_symlink_swapped_in_after_the_check(scene, monkeypatch):
    """The race itself: the real path is checked, then the file becomes a symlink before it is opened."""
    root, log, secret = scene
    real_realpath = os.path.realpath

    def realpath_then_swap(p, *a, **k):
        out = real_realpath(p, *a, **k)
        if Path(p) == log and not log.is_symlink():
            swap_for_link(log, secret)
        return out

    monkeypatch.setattr(roots_mod.os.path, "realpath", realpath_then_swap)
    with pytest.raises(UnsafePath):
        open_inside(str(log), str(root))


def test_open_inside_refuses_a_directory_swapped_for_a_symlink_after_the_check(scene, tmp_path, monkeypatch):
    root, log, secret = scene
    elsewhere = tmp_path / "elsewhere" / STAMP
    elsewhere.mkdir(parents=True)
    (elsewhere / log.name).write_bytes(secret.read_bytes())
    real_realpath = os.path.realpath

    def realpath_then_swap(p, *a, **k):
        out = real_realpath(p, *a, **k)
        if Path(p) == log and not (root / "swap2").is_symlink():
            (root / "swap2").rename(tmp_path / "moved-away")
            (root / "swap2").symlink_to(tmp_path / "elsewhere")
        return out

    monkeypatch.setattr(roots_mod.os.path, "realpath", realpath_then_swap)
    with pytest.raises(UnsafePath):
        open_inside(str(log), str(root))


def test_open_inside_does_not_block_on_a_fifo(scene):
    root, log, _ = scene
    fifo = root / "pipe.log"
    os.mkfifo(fifo)
    with pytest.raises(UnsafePath):
        open_inside(str(fifo), str(root))


# ---------------------------------------------------------------------------------------- tailer, discovery


def test_the_tailer_drops_a_file_swapped_for_a_symlink_out_of_its_root(scene):
    root, log, secret = scene
    t = Tailer(str(log), root=str(root))
    t.poll()
    assert t.counts() == (5, 0)
    swap_for_link(log, secret)
    t.poll()
    assert t.counts() == (0, 0) and not t.exists and t.runs == []
    assert t.refused and any("outside" in n for n in t.notes)
    assert SECRET not in repr(t.runs)
    t.poll(force=True)  # and stays dropped
    assert t.counts() == (0, 0)
    log.unlink()  # a regular file at the path again: followed again from its start
    append(log, train_line(1) + train_line(2))
    t.poll()
    assert t.counts() == (2, 0) and t.exists and t.refused is None


def test_the_tailer_refuses_a_directory_on_its_path_swapped_for_a_symlink(scene, tmp_path):
    root, log, secret = scene
    t = Tailer(str(log), root=str(root))
    t.poll()
    elsewhere = tmp_path / "elsewhere" / STAMP
    elsewhere.mkdir(parents=True)
    (elsewhere / log.name).write_bytes(secret.read_bytes())
    (root / "swap2").rename(tmp_path / "moved-away")
    (root / "swap2").symlink_to(tmp_path / "elsewhere")
    t.poll()
    assert t.counts() == (0, 0) and t.refused


def test_discovery_does_not_sniff_a_file_outside_its_bound(scene):
    root, log, secret = scene
    swap_for_link(log, secret)
    v = disc.sniff_file(str(log), bound=str(root))
    assert v.status == disc.SKIPPED and "outside" in v.reason


# ----------------------------------------------------------------------------------- the scenario


def test_a_listed_log_swapped_for_a_symlink_out_of_the_root_is_dropped_with_a_note(scene):
    root, log, secret = scene
    clock = Clock()
    w = LogWatcher([root], mode="poll", poll_interval=1.0, clock=clock)
    w.first_scan()
    src = w.get(f"root/{REL}")
    assert src is not None and src.tailer.counts() == (5, 0)
    swap_for_link(log, secret)
    for _ in range(3):
        clock.now += 2.0
        w.look()
    assert [s.id for s in w.sources()] == []  # no longer listed
    assert src.tailer.counts() == (0, 0)
    assert SECRET not in everything_in(src) and "db_password" not in everything_in(src)
    assert any("dropped" in n and REL in n for n in w.notes), w.notes
    assert not any(str(secret) in n for n in w.notes)  # the note does not say where the link points


def test_a_file_named_alone_is_followed_only_where_it_led_when_found(scene):
    """``tail FILE``: the file's real path when it was found is its bound; a symlink put there later is dropped."""
    _, log, secret = scene
    clock = Clock()
    w = LogWatcher.for_path(log, mode="poll", poll_interval=1.0, clock=clock)
    w.first_scan()
    (src,) = w.sources()
    assert src.tailer.counts() == (5, 0)
    swap_for_link(log, secret)
    clock.now += 2.0
    w.look()
    assert w.sources() == [] and src.tailer.counts() == (0, 0) and src.tailer.refused


def test_tail_never_prints_the_outside_file(scene):
    from tests.test_tail_cli import Tail

    root, log, secret = scene
    t = Tail(str(root), "--json", "--from-start", "--mode", "poll", "--poll-interval", "0.05")
    try:
        t.wait_started()
        t.lines(5)
        swap_for_link(log, secret)
        t.wait_err(lambda line: "dropped" in line)
        append(secret, train_line(151, 150))
        append(root / "sentinel.log", train_line(1, 7))
        rest = []
        while not any('"max_iters": 7' in x or '"max_iters":7' in x for x in rest):
            rest += t.lines(1)
    finally:
        t.close()
    shown = "\n".join(rest + t.err_lines)
    assert SECRET not in shown and '"max_iters": 150' not in shown and '"max_iters":150' not in shown


def test_the_runs_page_never_shows_the_outside_file(scene, monkeypatch):
    from dashboard.ui import common
    from tests.helpers import open_page, page_text

    root, log, secret = scene
    monkeypatch.setenv("MMDASH_ROOTS", str(root))
    monkeypatch.setenv("MMDASH_DEMO", "0")
    monkeypatch.setenv("MMDASH_WATCHER", "poll")
    try:
        at = open_page(None)
        frame = at.dataframe[0].value
        assert list((frame.data if hasattr(frame, "data") else frame)["n/N"]) == ["5/1000"]
        swap_for_link(log, secret)

        def shown() -> str:
            table = at.dataframe[0].value if at.dataframe else None
            frame = None if table is None else (table.data if hasattr(table, "data") else table)
            return page_text(at) + "\n" + ("" if frame is None else frame.to_string())

        def after_swap() -> str | None:
            at.run()
            text = shown()
            return text if ("dropped" in text or SECRET in text or "hunter2" in text or "/150" in text) else None

        text = wait_until(after_swap, timeout=WAIT_TIMEOUT) or shown()
        assert "dropped" in text
        assert SECRET not in text and "hunter2" not in text and "/150" not in text
    finally:
        common.release_all()


# ------------------------------------------------------------------------------- opened by reference


def test_a_log_opened_by_reference_is_refused_when_swapped_after_it_was_resolved(scene):
    root, log, secret = scene
    roots = make_roots([root])
    rf, reason = review.resolve_root_file(f"root/{REL}", roots)
    assert rf is not None, reason
    swap_for_link(log, secret)
    with pytest.raises(UnsafePath):
        review.review_root_file(rf)
    rf2, reason2 = review.resolve_root_file(f"root/{REL}", roots)
    assert rf2 is None and "outside" in reason2


def test_a_log_opened_by_reference_is_refused_when_replaced_after_it_was_resolved(scene):
    """Another file (even inside the root) at the path since it was checked is not the file checked."""
    root, log, _ = scene
    roots = make_roots([root])
    rf, _ = review.resolve_root_file(f"root/{REL}", roots)
    log.rename(log.with_name("moved.log"))  # kept, so the new file cannot reuse its inode number
    append(log, train_line(1, 99))
    with pytest.raises(UnsafePath):
        review.review_root_file(rf)


# ------------------------------------------------------------------- the text twin of an mmcv .log.json


def mmcv_json() -> bytes:
    lines = [f'{{"mode": "train", "epoch": {e}, "iter": {i}, "lr": 0.01, "loss": 1.0, "time": 0.5}}'
             for e in (1, 2) for i in range(10, 70, 10)]
    return ("\n".join(lines) + "\n").encode()


OUTSIDE_TWIN = (b"2021-01-01 00:00:00,000 - mmdet - INFO - Epoch [1][10/777]\tlr: 1.000e-02, eta: 0:10:00, "
                b"time: 0.500, data_time: 0.010, memory: 1000, loss: 1.0000\n")


@pytest.fixture
def twin_scene(tmp_path: Path, monkeypatch):
    """``root/x.log.json`` whose twin ``root/x.log`` is a symlink to an outside text log (epoch length 777), with
    the twin check (``text_twin``: a regular file, not a link) passed just before the swap: the race."""
    from parsers import twins

    root = tmp_path / "root"
    root.mkdir()
    js = root / "x.log.json"
    js.write_bytes(mmcv_json())
    outside = tmp_path / "outside.log"
    outside.write_bytes(OUTSIDE_TWIN)
    (root / "x.log").symlink_to(outside)
    monkeypatch.setattr(twins, "text_twin", lambda path: Path(path).with_name(Path(path).name[: -len(".json")]))
    return root, js


def test_the_text_twin_is_not_opened_through_a_symlink_swapped_in(twin_scene):
    from parsers import twins

    _, js = twin_scene
    assert twins.epoch_hint_for(js) is None


def test_the_tailer_reads_the_text_twin_only_inside_its_root(twin_scene):
    root, js = twin_scene
    t = Tailer(str(js), root=str(root))
    t.poll()
    with t.lock:
        (run,) = [r for r in t.runs if len(r.train)]
        assert run.iters_per_epoch != 777 and "777" not in repr(run.header.sources)
        assert "text twin" not in run.header.sources.get("iters_per_epoch", "")


def test_a_json_log_opened_by_reference_reads_its_twin_only_inside_the_root(twin_scene):
    root, js = twin_scene
    rf, reason = review.resolve_root_file("root/x.log.json", make_roots([root]))
    assert rf is not None, reason
    rev = review.review_root_file(rf)
    run = rev.run(None)
    assert run.iters_per_epoch != 777 and "text twin" not in run.header.sources.get("iters_per_epoch", "")


def _open_then_move(monkeypatch, src: Path, dest: Path) -> None:
    """The next ``os.open`` in ``roots`` opens the file, then it is renamed to ``dest`` (a rotation in between)."""
    real_open = os.open

    def open_then_move(path, flags, *args):
        fd = real_open(path, flags, *args)
        os.rename(src, dest)
        return fd

    monkeypatch.setattr(roots_mod.os, "open", open_then_move)


def test_a_log_rotated_right_after_it_was_opened_is_read_not_refused(tmp_path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    log = root / "train.log"
    log.write_bytes(b"line\n")
    _open_then_move(monkeypatch, log, root / "train.log.1")
    fd = open_inside(log, str(root))
    try:
        assert os.read(fd, 100) == b"line\n"
    finally:
        os.close(fd)


def test_a_log_moved_out_of_its_root_right_after_it_was_opened_is_refused(tmp_path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    log = root / "train.log"
    log.write_bytes(b"line\n")
    _open_then_move(monkeypatch, log, tmp_path / "moved.log")
    with pytest.raises(UnsafePath):
        open_inside(log, str(root))
