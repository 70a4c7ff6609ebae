"""dashboard.live.memory.tune_for_server: after it a large buffer is mmapped and goes back to the system when
freed, where glibc's default (its mmap threshold raised by the first freed mmapped block) keeps it in the heap.

Each scenario runs in a fresh interpreter: the settings are process-wide and one-way."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from dashboard.live import memory

GLIBC = memory._glibc() is not None

# Allocate and free one 1 MiB block (which raises glibc's dynamic mmap threshold), then allocate another 1 MiB
# block and report how many bytes are mmapped while it is alive (mallinfo2's ``hblkhd``).
PROBE = textwrap.dedent("""
    import ctypes, json, sys
    sys.path.insert(0, {root!r})
    from dashboard.live import memory
    note = memory.tune_for_server({environ!r}) if {tune!r} else ""
    class MI2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                   "fsmblks", "uordblks", "fordblks", "keepcost")]
    libc = ctypes.CDLL("libc.so.6")
    libc.mallinfo2.restype = MI2
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = (ctypes.c_void_p,)
    first = libc.malloc(1 << 20)
    libc.free(first)
    before = libc.mallinfo2().hblkhd
    block = libc.malloc(1 << 20)
    during = libc.mallinfo2().hblkhd
    libc.free(block)
    after = libc.mallinfo2().hblkhd
    print(json.dumps(dict(note=note, mmapped_for_block=during - before, returned=during - after)))
""")


def run_probe(*, tune: bool, environ: dict[str, str] | None = None) -> dict:
    from tests.conftest import ROOT

    code = PROBE.format(root=str(ROOT), tune=tune, environ=environ or {})
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout)


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_untuned_glibc_keeps_a_second_large_block_in_the_heap():
    """The behaviour the module exists for (if glibc changes it, this test says so)."""
    assert run_probe(tune=False)["mmapped_for_block"] == 0


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc only")
def test_tuned_large_block_is_mmapped_and_returned_when_freed():
    r = run_probe(tune=True)
    assert r["mmapped_for_block"] >= 1 << 20
    assert r["returned"] == r["mmapped_for_block"]
    assert r["note"].startswith("memory allocator: blocks of 128 KiB and more mmapped, at most 2 arenas")


@pytest.mark.parametrize("name", memory.OPERATOR_SETTINGS)
def test_an_operator_setting_is_left_alone(name):
    r = run_probe(tune=True, environ={name: "4"})
    assert r["note"] == f"memory allocator: left as set by {name}"
    if GLIBC:
        assert r["mmapped_for_block"] == 0  # nothing changed: glibc's default behaviour


def test_without_glibc_nothing_is_done(monkeypatch):
    monkeypatch.setattr(memory, "_glibc", lambda: None)
    assert memory.tune_for_server({}) == "memory allocator: not glibc, left as it is"
