"""The Run page shows a GPU log found beside a live training log, and follows it as it grows (issue 13).

A real ``streamlit run`` and Chromium: a log root holds a training log and, in the same folder, a GPU log in
nvidia-smi's exact CSV (project-written, 4 GPUs of which 3 idle, one with ``[N/A]`` power). The page must show the
GPU tiles and the idle-GPU banner, the three GPU charts, and then the rows appended to the GPU log while the page is
open. Waits are for states, each with a generous deadline.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from urllib.parse import quote

import pytest

from parsers.gpu_csv import HEADER
from tests.e2e.conftest import start_streamlit
from tests.e2e.page_helpers import main_text, metric, open_app, poll, tall_screenshot
from tools.gen_logs.gpu import gpu_lines

pytestmark = pytest.mark.browser

LABEL = "gpu-e2e"
REL = "live/20250101_000000.log"
MAX_ITERS = 10_000
START = dt.datetime(2025, 1, 1, 0, 0, 0)
DEADLINE_S = 120.0


def train_line(it: int) -> str:
    secs = 5 * it
    stamp = f"2025/01/01 {secs // 3600 % 24:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    return (f"{stamp} - mmengine - INFO - Iter(train) [{it:5d}/{MAX_ITERS}]  lr: 1.0000e-04  eta: 1:00:00  "
            f"time: 0.5000  data_time: 0.0100  memory: 1234  loss: {2.0 / (1 + 0.01 * it):.4f}\n")


@pytest.fixture(scope="module")
def gpu_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("gpu") / LABEL
    (root / "live").mkdir(parents=True)
    (root / REL).write_text("".join(train_line(i) for i in range(1, 41)))  # 00:00:05 .. 00:03:20
    (root / "live" / "gpu.csv").write_text(HEADER + "\n" + "".join(
        gpu_lines(START, 205, gpus=4, busy=(0,), na_gpus=(3,))))  # every second 00:00:00 .. 00:03:24
    return root


@pytest.fixture(scope="module")
def gpu_server(gpu_root):
    server = start_streamlit([gpu_root], extra_env={"MMDASH_DEMO": "0"})
    yield server
    server.stop()


def _rows(text: str) -> int | None:
    m = re.search(r"GPU log: gpu\.csv · ([\d,]+) rows", text)
    return int(m.group(1).replace(",", "")) if m else None


def test_the_run_page_shows_the_gpu_log_and_follows_it_as_it_grows(page, gpu_server, gpu_root):
    open_app(page, gpu_server, "/run?run=" + quote(f"{LABEL}/{REL}"))
    util = poll(lambda: metric(page, "GPU util (training)"), timeout_s=DEADLINE_S, page=page)
    assert util is not None and util.startswith("9") and util.endswith("(1 of 4)"), util
    assert poll(lambda: "3 of 4 GPUs sat idle" in main_text(page), timeout_s=DEADLINE_S, page=page)
    assert poll(lambda: _rows(main_text(page)) == 820, timeout_s=DEADLINE_S, page=page), main_text(page)[-3000:]
    for title in ("GPU utilization (%)", "GPU memory used (MiB)", "GPU power draw (W)"):
        assert poll(lambda title=title: page.locator(".js-plotly-plot", has_text=title).count() == 1,
                    timeout_s=DEADLINE_S, page=page), title
    text = main_text(page)
    assert "readings the GPU could not give" in text

    # the sampler and the training go on: the page follows both
    with open(gpu_root / "live" / "gpu.csv", "a") as f:
        f.write("".join(gpu_lines(START + dt.timedelta(seconds=205), 60, gpus=4, busy=range(4))))
    with open(gpu_root / REL, "a") as f:
        f.write("".join(train_line(i) for i in range(41, 53)))
    assert poll(lambda: _rows(main_text(page)) == 820 + 240, timeout_s=DEADLINE_S, page=page), \
        main_text(page)[-3000:]
    tall_screenshot(page, "gpu_live", height=3400)


def _gpu_chart(page, title: str) -> dict | None:
    """How plotly drew the chart titled ``title``: its y axis type and fixed range, the camera button's file name,
    the subtitle."""
    return page.evaluate("""(title) => { const d = Array.from(document.querySelectorAll('.js-plotly-plot')).find(
            g => g._fullLayout && g._fullLayout.title && g._fullLayout.title.text === title);
        return d ? {type: d._fullLayout.yaxis.type, fixed: d._fullLayout.yaxis.fixedrange,
                    file: d._context.toImageButtonOptions.filename,
                    subtitle: (d._fullLayout.title.subtitle || {}).text || ''} : null; }""", title)


def test_the_gpu_charts_take_the_chart_tools_as_the_run_charts_do(page, gpu_server):
    """``hide=gpu:power`` leaves the power chart out, ``log=gpu:memory`` puts the memory chart on a log scale; a drag
    zooms x only; the PNG's file says run, chart and x axis; the subtitle the settings (as the run's charts)."""
    open_app(page, gpu_server, "/run?run=" + quote(f"{LABEL}/{REL}") + "&hide=gpu:power&log=gpu:memory")
    mem = poll(lambda: _gpu_chart(page, "GPU memory used (MiB)"), timeout_s=DEADLINE_S, page=page)
    util = poll(lambda: _gpu_chart(page, "GPU utilization (%)"), timeout_s=DEADLINE_S, page=page)
    assert mem == {"type": "log", "fixed": True, "file": "20250101_000000.gpu:memory.by-iter",
                   "subtitle": mem["subtitle"]}, mem
    assert "log y" in mem["subtitle"] and "20250101_000000.log" in mem["subtitle"]
    assert util is not None and util["type"] == "linear" and util["file"] == "20250101_000000.gpu:util.by-iter"
    assert _gpu_chart(page, "GPU power draw (W)") is None
    assert "GPU power draw (W)" not in main_text(page)
