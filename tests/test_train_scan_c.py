"""The C build of the train-line scanner (parsers/_train_scan.c) against the numba build: the same inputs give the
same (rows, end position, head, values, etas), bit for bit, including what a line that stops the scan leaves in
the arrays. Both builds are loaded side by side in this process, whatever ``MMDASH_SCANNER`` says. Then how the C
build is found, compiled, cached and given up on: in fresh interpreters with their own cache directory.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers import train_kernel

from .conftest import ROOT, SAMPLE_LOGS, corpus_files


@pytest.fixture(scope="module")
def builds():
    return train_kernel._load_c(), train_kernel._load_numba()


def layout_of(line: bytes) -> list[bytes]:
    """The key names of a train line, in order (the part after ``]  ``, ``key: value`` joined by two spaces)."""
    m = re.search(rb"\(train\)\s*(?:\[[ \d]*\])?\[[ \d]*/\d*\]\s+(.*)$", line)
    if not m:
        return [b"lr"]
    return [f.split(b": ", 1)[0] for f in m.group(1).split(b"  ") if b": " in f] or [b"lr"]


def run(fn, data: bytes, keys: list[bytes], rows: int, pos: int = 0):
    # Bytes past the end that a scan reading beyond it would take for its own (neither build may read them).
    buf = np.frombuffer(data + b"  :  0 day, 1:00:00  [1/2]  \n", np.uint8)[:len(data)]
    key_bytes = np.frombuffer(b"".join(keys) or b"\0", np.uint8)[:sum(map(len, keys))]
    offsets = np.cumsum([0] + [len(k) for k in keys], dtype=np.int64)
    eta_col = keys.index(b"eta") if b"eta" in keys else -1
    head = np.full((train_kernel.HEAD_COLUMNS, rows), -777, np.int64)
    values = np.full((len(keys), rows), -12345.5)
    etas = np.full(rows, 4321.25)
    got, after = fn(buf, pos, key_bytes, offsets, eta_col, head, values, etas)
    return int(got), int(after), head.tobytes(), values.tobytes(), etas.tobytes()


def assert_same(builds, data: bytes, keys: list[bytes], rows: int = 4, pos: int = 0):
    c, nb = builds
    assert run(c, data, keys, rows, pos) == run(nb, data, keys, rows, pos), (data, keys)


def corpus_train_lines() -> list[bytes]:
    out = []
    for path in [*corpus_files(), *sorted(SAMPLE_LOGS.rglob("*.log"))]:
        if path.suffix != ".log":
            continue
        for line in path.read_bytes().splitlines():
            if b"(train)" in line:
                out.append(line)
    rnd = random.Random(10)
    return rnd.sample(out, min(len(out), 400))


TRAIN_LINES = corpus_train_lines()
PREFIX = b"2026/01/02 03:04:05 - mmengine - INFO - Iter(train) [  10/1000]  "

EDGE_VALUES = [
    b"nan", b"-nan", b"+nan", b"nanx", b"inf", b"-inf", b"+inf", b"infinity", b"-0.0", b"-0", b"+0", b"0e999",
    b"0.0000", b"1e22", b"1e-22", b"1e23", b"1e-23", b"1.5e+22", b"1.5E-3", b"5e", b"5e+", b"5e12345", b"1e0001",
    b".5", b"5.", b".", b"-", b"+", b"", b"--1", b"1..2", b"1e5.0", b"123456789012345678", b"1234567890123456789",
    b"12345678901234567890123", b"0000000000000000000000001.5", b"9007199254740993", b"9007199254740992",
    b"900719925474099.3", b"0.000000000000000000001", b"99999999999999999.9", b"1_0", b"\xc3\xa9", b"0x10",
    b"1.0\t", b"1.0\r",
]
EDGE_ETAS = [
    b"0:00:00", b"1 day, 0:00:00", b"3 days, 12:00:00.123", b"1 day 0:00:00", b"2 days,  1:00:00",
    b"12:34:56." + b"9" * 25, b"1:00:00." + b"1" * 70, b"1:00:00." + b"0" * 70, b"1:00:00.", b"999999999:59:59",
    b"9999999999:00:00", b"1:2:03", b"1:00:0x", b"1:00:00 ", b"1:00", b"999999999 days, 23:59:59",
]


@pytest.mark.parametrize("value", EDGE_VALUES, ids=repr)
def test_edge_values_read_alike(builds, value):
    for keys, text in (([b"lr", b"loss"], b"lr: 0.5  loss: " + value),
                       ([b"loss", b"lr"], b"loss: " + value + b"  lr: 1")):
        line = PREFIX + text
        assert_same(builds, line + b"\n", keys)
        assert_same(builds, line, keys)  # no newline at the end of the buffer


@pytest.mark.parametrize("eta", EDGE_ETAS, ids=repr)
def test_edge_etas_read_alike(builds, eta):
    for text in (b"eta: " + eta + b"  loss: 1.0", b"loss: 1.0  eta: " + eta):
        keys = [k.split(b": ")[0] for k in text.split(b"  ")]
        assert_same(builds, PREFIX + text + b"\n", keys)
        assert_same(builds, PREFIX + text, keys)


def test_every_truncation_of_real_lines_reads_alike(builds):
    lines = [
        PREFIX + b"lr: 1.0000e-04  eta: 1 day, 2:03:04  time: 0.5  loss: nan",
        b"12/31 23:59:58 - mmdet - INFO - Epoch(train)  [3][ 7/50]  lr: 0.1  eta: 0:01:02.5  time: -0.0",
        *TRAIN_LINES[:20],
    ]
    for line in lines:
        keys = layout_of(line)
        for cut in range(len(line) + 1):
            assert_same(builds, line[:cut], keys, rows=1)
            assert_same(builds, line[:cut] + b"\n" + line, keys, rows=2)


def test_real_lines_batched_read_alike(builds):
    assert TRAIN_LINES, "no train lines in the corpus or the sample logs"
    for line in TRAIN_LINES:
        keys = layout_of(line)
        data = b"\n".join([line] * 3) + b"\n"
        assert_same(builds, data, keys, rows=4)
        assert_same(builds, data, keys, rows=2)  # head full before the end
        assert_same(builds, data, keys, rows=4, pos=len(line) + 1)


MUTATION_BYTES = list(b" \n:.-+e0123456789[]/,an") + [0xC3, 0xA9, 0x00, 0x09, 0x7F]


@given(st.sampled_from(range(len(TRAIN_LINES) or 1)),
       st.lists(st.tuples(st.sampled_from(["insert", "replace", "delete"]), st.integers(0, 400),
                          st.sampled_from(MUTATION_BYTES)), min_size=1, max_size=5),
       st.booleans())
def test_mutated_real_lines_read_alike(builds, index, mutations, newline):
    line = bytearray(TRAIN_LINES[index] if TRAIN_LINES else PREFIX + b"lr: 0.1  loss: 1.0")
    keys = layout_of(bytes(line))
    for op, at, ch in mutations:
        at = min(at, len(line))
        if op == "insert":
            line[at:at] = bytes([ch])
        elif op == "replace" and at < len(line):
            line[at] = ch
        elif at < len(line):
            del line[at]
    data = bytes(line) + (b"\n" if newline else b"")
    assert_same(builds, data, keys, rows=1)
    if TRAIN_LINES:
        assert_same(builds, TRAIN_LINES[index] + b"\n" + data + b"\n" + data, keys, rows=3)


@given(st.binary(max_size=40), st.lists(st.binary(min_size=1, max_size=6), max_size=3))
def test_any_bytes_after_a_train_head_read_alike(builds, tail, keys):
    assert_same(builds, PREFIX + tail, keys or [b"lr"], rows=2)
    assert_same(builds, PREFIX + tail + b"\n" + PREFIX + tail, keys or [b"lr"], rows=2)


def test_the_c_scanner_is_called_from_threads_at_once(builds):
    # ctypes releases the GIL during the call: several threads scanning at once must not interfere.
    c, nb = builds
    data = b"\n".join(TRAIN_LINES[:1] * 2000) + b"\n"
    keys = layout_of(TRAIN_LINES[0])
    expected = run(nb, data, keys, 2000)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: run(c, data, keys, 2000), range(8)))
    assert all(r == expected for r in results)
    assert expected[0] == 2000


def in_fresh_python(code: str, cache, **env) -> subprocess.CompletedProcess:
    full = {**os.environ, "MMDASH_CACHE_DIR": str(cache), **env}
    for name in ("MMDASH_SCANNER", "MMDASH_CC"):
        if name not in env:
            full.pop(name, None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=full,
                          timeout=300)


KIND = ("import hashlib, pathlib\n"
        "from parsers import train_kernel, parse_path\n"
        "from tests.helpers import snapshot\n"
        "ok = train_kernel.warm_up()\n"
        "parses = [snapshot(parse_path(str(p))) for p in sorted(pathlib.Path('sample_logs').rglob('*.log'))]\n"
        "print(train_kernel.kind(), ok, hashlib.sha256(repr(parses).encode()).hexdigest())\n")


def test_an_empty_cache_compiles_the_c_scanner_once(tmp_path):
    out = in_fresh_python(KIND, tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    kind, ok, rows = out.stdout.split()
    assert (kind, ok) == ("c", "True")
    built = list((tmp_path / "cache" / "scanner").iterdir())
    assert [p.suffix for p in built] == [".so"]  # no temporary file left behind
    # The second process loads the cached file: even a missing compiler does not matter now.
    again = in_fresh_python(KIND, tmp_path / "cache", MMDASH_CC=str(tmp_path / "no-such-cc"))
    assert again.stdout.split() == [kind, ok, rows], again.stderr
    assert list((tmp_path / "cache" / "scanner").iterdir()) == built


def test_processes_racing_to_build_the_c_scanner_all_load_it(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", KIND], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT, env={**{k: v for k, v in os.environ.items()
                                                           if k not in ("MMDASH_SCANNER", "MMDASH_CC")},
                                                        "MMDASH_CACHE_DIR": str(tmp_path)})
             for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [o[0].split()[:2] for o in outs] == [["c", "True"]] * 3, outs
    assert len({o[0] for o in outs}) == 1
    assert [p.suffix for p in (tmp_path / "scanner").iterdir()] == [".so"]


def test_without_a_compiler_numba_reads_and_the_output_is_the_same(tmp_path):
    base = in_fresh_python(KIND, tmp_path / "a")
    out = in_fresh_python(KIND, tmp_path / "b", MMDASH_CC=str(tmp_path / "no-such-cc"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == ["numba", "True"]
    assert out.stdout.split()[2] == base.stdout.split()[2]
    assert not list((tmp_path / "b" / "scanner").iterdir())  # nothing half-built left
    only_c = in_fresh_python(KIND, tmp_path / "c", MMDASH_CC=str(tmp_path / "no-such-cc"), MMDASH_SCANNER="c")
    assert only_c.stdout.split()[:2] == ["none", "False"], only_c.stderr
    assert only_c.stdout.split()[2] == base.stdout.split()[2]


def test_a_damaged_cache_file_is_built_again(tmp_path):
    assert in_fresh_python(KIND, tmp_path).stdout.split()[0] == "c"
    [lib] = (tmp_path / "scanner").iterdir()
    lib.write_bytes(b"not a shared library")
    out = in_fresh_python(KIND, tmp_path)
    assert out.stdout.split()[:2] == ["c", "True"], out.stderr
    assert lib.read_bytes() != b"not a shared library"


@pytest.mark.parametrize("choice", ["numba", "none"])
def test_the_environment_picks_the_scanner(tmp_path, choice):
    out = in_fresh_python(KIND, tmp_path, MMDASH_SCANNER=choice)
    assert out.stdout.split()[:2] == [choice, str(choice != "none")], out.stderr
    version = subprocess.run([sys.executable, "-m", "parsers", "--version"], capture_output=True, text=True,
                             cwd=ROOT, timeout=300, env={**os.environ, "MMDASH_SCANNER": choice})
    assert version.returncode == 0 and version.stdout.startswith(f"mmdash parsers: train-line scanner {choice}")


def test_a_library_others_may_write_to_is_not_loaded(tmp_path):
    assert in_fresh_python(KIND, tmp_path).stdout.split()[0] == "c"
    [lib] = (tmp_path / "scanner").iterdir()
    lib.chmod(0o666)
    out = in_fresh_python(KIND, tmp_path)
    assert out.stdout.split()[:2] == ["numba", "True"], out.stderr
