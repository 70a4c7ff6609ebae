"""Which files are logs: names, the work_dir layout, and a sniff of the first few KiB only."""

from __future__ import annotations

import gzip
import json
import os

import pytest

from dashboard.live import discovery as disc
from tests.conftest import corpus_params

MMENGINE_LINE = (b"2024/08/27 06:33:10 - mmengine - INFO - Iter(train) [  10/2000]  lr: 1.5255e-06  eta: 2:04:46  "
                 b"time: 3.7622  data_time: 0.0285  memory: 39252  loss: 5.6116\n")
MMCV_LINE = b"2023-02-08 11:14:24,130 - mmdet - INFO - resumed epoch 4, iter 16556\n"
CONSOLE_LINE = b"07/07 11:47:34 - mmengine - INFO - Iter(train) [ 10/240]  lr: 1.9996e-04  eta: 0:29:32  loss: 3.0066\n"


def test_mmengine_text_log_is_a_log(tmp_path):
    p = tmp_path / "train.log"
    p.write_bytes(MMENGINE_LINE)
    v = disc.sniff_file(str(p))
    assert v.is_log and v.kind == "mmengine-text"


def test_mmcv_text_log_is_a_log(tmp_path):
    p = tmp_path / "20230208_111412.log"
    p.write_bytes(MMCV_LINE)
    assert disc.sniff_file(str(p)).kind == "mmcv-text"


def test_captured_console_output_with_a_preamble_is_a_log(tmp_path):
    """A tee/nohup file: shell and DeepSpeed lines first, then year-less MMEngine lines."""
    p = tmp_path / "nohup.txt"
    p.write_bytes(b"nohup: ignoring input\n" + b"[2025-07-07 11:35:49,669] [INFO] [real_accelerator.py:222] x\n" * 50
                  + CONSOLE_LINE)
    assert disc.sniff_file(str(p)).is_log


def test_scalars_json_and_mmcv_json_are_logs(tmp_path):
    s = tmp_path / "scalars.json"
    s.write_text(json.dumps({"lr": 0.1, "loss": 1.0, "iter": 10, "step": 10}) + "\n")
    m = tmp_path / "x.log.json"
    m.write_text(json.dumps({"env_info": "sys.platform: linux"}) + "\n" + json.dumps({"mode": "train"}) + "\n")
    assert disc.sniff_file(str(s)).kind == "scalars-json"
    assert disc.sniff_file(str(m)).kind == "mmcv-json"


def test_a_json_file_that_is_not_a_log_is_not_a_log(tmp_path):
    p = tmp_path / "annotations.json"
    p.write_text(json.dumps({"images": [{"id": i, "file_name": f"{i}.jpg"} for i in range(2000)]}))
    assert disc.sniff_file(str(p)).status == disc.NOT_LOG


def test_gzip_log_is_sniffed_after_decompressing_a_little(tmp_path):
    p = tmp_path / "old.log.gz"
    p.write_bytes(gzip.compress(MMENGINE_LINE * 5000))
    v = disc.sniff_file(str(p))
    assert v.is_log and v.gzip


def test_binary_file_with_a_log_name_is_binary(tmp_path):
    p = tmp_path / "weird.log"
    p.write_bytes(os.urandom(4096) + b"\x00")
    assert disc.sniff_file(str(p)).status == disc.BINARY


def test_gzip_of_a_binary_is_binary(tmp_path):
    p = tmp_path / "model.pth.gz"
    p.write_bytes(gzip.compress(b"\x00\x01\x02\x03" * 10000))
    assert disc.sniff_file(str(p)).status == disc.BINARY


@pytest.mark.parametrize("name", ["epoch_3.pth", "model.pt", "model.safetensors", "pytorch_model.bin", "x.ckpt"])
def test_checkpoints_are_skipped_without_being_opened(tmp_path, name, monkeypatch):
    p = tmp_path / name
    p.write_bytes(b"\x00" * 100)
    opened = []
    real_open = open
    monkeypatch.setattr("builtins.open", lambda *a, **k: opened.append(a[0]) or real_open(*a, **k))
    assert disc.sniff_file(str(p)).status == disc.SKIPPED
    assert opened == []
    assert list(disc.walk(str(tmp_path), str(tmp_path))) == []


def test_sniff_reads_only_the_first_few_kib(tmp_path, monkeypatch):
    p = tmp_path / "huge.log"
    with open(p, "wb") as f:
        f.write(b"just some text that is not a log\n" * 200_000)  # ~6.6 MB
    reads = []
    real_open = open

    class Spy:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def fileno(self):
            return self.f.fileno()

        def read(self, n=-1):
            reads.append(n)
            return self.f.read(n)

    monkeypatch.setattr("builtins.open", lambda *a, **k: Spy(real_open(*a, **k)))
    assert disc.sniff_file(str(p)).status == disc.NOT_LOG
    assert reads and all(0 < n <= disc.GZIP_SNIFF_INPUT for n in reads)
    assert sum(reads) <= disc.GZIP_SNIFF_INPUT


def test_short_text_without_log_lines_is_undecided_until_the_window_fills(tmp_path):
    p = tmp_path / "tee.txt"
    p.write_bytes(b"Loading dataset...\n")
    assert disc.sniff_file(str(p)).status == disc.UNDECIDED
    p.write_bytes(b"Loading dataset...\n" * 2000)
    assert disc.sniff_file(str(p)).status == disc.NOT_LOG


def test_work_dir_layout_is_a_log_even_while_empty(tmp_path):
    d = tmp_path / "wd" / "20240101_120000"
    (d / "vis_data").mkdir(parents=True)
    (d / "20240101_120000.log").write_bytes(b"")
    (d / "vis_data" / "scalars.json").write_bytes(b"")
    for rel in ("wd/20240101_120000/20240101_120000.log", "wd/20240101_120000/vis_data/scalars.json"):
        layout = disc.layout_of(rel)
        assert layout is not None and layout.work_dir == "wd" and layout.timestamp == "20240101_120000"
        assert disc.sniff_file(str(tmp_path / rel), layout=layout).is_log


def test_layout_needs_matching_stamp_names():
    assert disc.layout_of("wd/20240101_120000/20240101_120001.log") is None
    assert disc.layout_of("wd/run/run.log") is None
    assert disc.layout_of("20240101_120000/20240101_120000.log").work_dir == ""


def test_vis_data_stamp_json_duplicates_scalars_json(tmp_path):
    d = tmp_path / "20240101_120000" / "vis_data"
    d.mkdir(parents=True)
    (d / "20240101_120000.json").write_text("{}\n")
    assert not disc.is_vis_data_duplicate(str(d / "20240101_120000.json"))
    (d / "scalars.json").write_text("{}\n")
    assert disc.is_vis_data_duplicate(str(d / "20240101_120000.json"))


def test_walk_skips_hidden_dirs_and_other_extensions(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.log").write_text("x")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "y.log").write_text("y")
    (tmp_path / "notes.md").write_text("z")
    (tmp_path / "a.log").write_text("a")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("b")
    got = sorted(e.relative for e in disc.walk(str(tmp_path), str(tmp_path)))
    assert got == ["a.log", "sub/b.txt"]


def test_walk_does_not_follow_directory_symlinks(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "a.log").write_text("a")
    (tmp_path / "loop").symlink_to(tmp_path)
    got = [e.relative for e in disc.walk(str(tmp_path), str(tmp_path))]
    assert got == ["real/a.log"]


def test_a_vanished_file_is_a_verdict_not_an_error(tmp_path):
    assert disc.sniff_file(str(tmp_path / "nope.log")).status == disc.GONE


@pytest.mark.corpus
@pytest.mark.parametrize("path", corpus_params())
def test_every_real_log_in_the_corpus_is_found(path):
    assert disc.sniff_file(str(path)).is_log, path.name
