"""``python -m dashboard gpu-log``: nvidia-smi's CSV from NVML, tested through a fake at the binding's functions."""

from __future__ import annotations

import types

import numpy as np
import pynvml
import pytest

from dashboard.cli.main import main
from parsers.gpu_csv import HEADER, parse_gpu_bytes


class FakeNvml:
    """Two GPUs: GPU 0 busy, GPU 1 a board without power readings and whose clock NVML does not support."""

    def __init__(self):
        self.shutdown = False

    def install(self, mp):
        mp.setattr(pynvml, "nvmlInit", lambda: None)
        mp.setattr(pynvml, "nvmlShutdown", lambda: setattr(self, "shutdown", True))
        mp.setattr(pynvml, "nvmlDeviceGetCount", lambda: 2)
        mp.setattr(pynvml, "nvmlDeviceGetHandleByIndex", lambda i: i)
        mp.setattr(pynvml, "nvmlDeviceGetName", lambda h: "NVIDIA A100-SXM4-80GB" if h == 0 else b"Tesla T4")
        mp.setattr(pynvml, "nvmlDeviceGetUtilizationRates", lambda h: types.SimpleNamespace(gpu=97 if h == 0 else 0))
        mp.setattr(pynvml, "nvmlDeviceGetMemoryInfo",
                   lambda h, version=None: types.SimpleNamespace(used=18756 * 2**20 + 5, total=81920 * 2**20))
        mp.setattr(pynvml, "nvmlDeviceGetPowerUsage", self._power)
        mp.setattr(pynvml, "nvmlDeviceGetPowerManagementLimit", lambda h: 400000)
        mp.setattr(pynvml, "nvmlDeviceGetTemperature", lambda h, sensor: 61)
        mp.setattr(pynvml, "nvmlDeviceGetClockInfo", self._clock)

    @staticmethod
    def _power(h):
        if h == 1:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NO_DATA)
        return 168840

    @staticmethod
    def _clock(h, kind):
        if h == 1:
            raise pynvml.NVMLError(pynvml.NVML_ERROR_NOT_SUPPORTED)
        return 1410


def test_it_writes_nvidia_smi_csv_that_the_parser_reads(tmp_path, monkeypatch):
    fake = FakeNvml()
    fake.install(monkeypatch)
    out = tmp_path / "gpu.csv"
    assert main(["gpu-log", "--interval", "0.01", "--count", "3", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines[0] == HEADER and len(lines) == 1 + 3 * 2
    stamp, rest = lines[1].split(", ", 1)
    assert len(stamp) == len("2026/11/30 13:27:03.123") and stamp[4] == "/" and stamp[19] == "."
    assert rest == "0, NVIDIA A100-SXM4-80GB, 97 %, 18756 MiB, 81920 MiB, 168.84 W, 400.00 W, 61, 1410 MHz"
    assert lines[2].split(", ", 1)[1] == "1, Tesla T4, 0 %, 18756 MiB, 81920 MiB, [N/A], 400.00 W, 61, [Not Supported]"
    assert fake.shutdown
    p = parse_gpu_bytes(out.read_bytes())
    tab = p.table()
    assert len(tab) == 6 and p.bad_lines == 0 and p.na_readings == 6
    assert tab.values["power"][0] == np.float32(168.84) and np.isnan(tab.of(1).values["power"]).all()


def test_appending_to_a_log_writes_no_second_header(tmp_path, monkeypatch):
    FakeNvml().install(monkeypatch)
    out = tmp_path / "gpu.csv"
    for _ in range(2):
        assert main(["gpu-log", "--interval", "0.01", "--count", "1", "--out", str(out)]) == 0
    lines = out.read_text().splitlines()
    assert lines.count(HEADER) == 1 and len(lines) == 5


def test_to_stdout_every_line_is_flushed(monkeypatch, capsys):
    FakeNvml().install(monkeypatch)
    assert main(["gpu-log", "--interval", "0.01", "--count", "1"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == HEADER


def test_without_a_driver_one_line_and_exit_2(monkeypatch, capsys):
    def no_driver():
        raise pynvml.NVMLError(pynvml.NVML_ERROR_LIBRARY_NOT_FOUND)

    monkeypatch.setattr(pynvml, "nvmlInit", no_driver)
    assert main(["gpu-log", "--count", "1"]) == 2
    err = capsys.readouterr()
    assert err.out == "" and err.err.count("\n") == 1 and err.err.startswith("error: no NVIDIA driver")


def test_without_the_binding_one_line_and_exit_2(monkeypatch, capsys):
    import sys

    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert main(["gpu-log", "--count", "1"]) == 2
    assert capsys.readouterr().err.startswith("error: the NVML binding is not installed")


@pytest.mark.parametrize("bad", ["0", "-1"])
def test_a_bad_interval_is_refused(bad, capsys):
    assert main(["gpu-log", "--interval", bad]) == 2
    assert capsys.readouterr().err.startswith("error: --interval")


def test_the_real_command_on_a_machine_without_a_driver_says_so_and_exits_2():
    import ctypes.util
    import subprocess
    import sys

    if ctypes.util.find_library("nvidia-ml"):
        pytest.skip("this machine has an NVIDIA driver: tools/check_gpu_log.py compares with nvidia-smi")
    r = subprocess.run([sys.executable, "-m", "dashboard", "gpu-log", "--count", "1"], capture_output=True,
                       text=True, timeout=120)
    assert (r.returncode, r.stdout, r.stderr.count("\n")) == (2, "", 1) and "no NVIDIA driver" in r.stderr
