"""The Compare page in a real browser (issue 12): live refresh while a compared log grows, the table of
configuration differences, and many runs with many charts.

One ``streamlit run app.py`` server for the module on a temporary root (label ``cmp-e2e``) holding copies of the
sample logs (real MMEngine runs) in many folders, and two synthetic logs that the live test appends to.
Waits are for states, each with a generous deadline; nothing waits for a fixed time. Screenshots:
``test-artifacts/compare_*.png``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import SAMPLE_LOGS
from tests.e2e.conftest import screenshot, start_streamlit, synthetic_log, wait_app_ready
from tests.e2e.page_helpers import drag, grid_column, main_text, open_app, poll
from tests.helpers import append

pytestmark = pytest.mark.browser

LABEL = "cmp-e2e"
DET_FIRST = "det_crash_resume/20260316_214000/20260316_214000.log"
DET_RESUMED = "det_crash_resume/20260317_085500/20260317_085500.log"
SAMPLES = (DET_FIRST, DET_RESUMED, "cls_epoch_val/20260315_140000/20260315_140000.log",
           "seg_nan_loss/20260318_132000/20260318_132000.log",
           "llm_sft_len_grouped/20260314_090000/20260314_090000.log")
MANY = 20  # runs in the many-runs test (the old limit was 12 runs and 4 charts)
LIVE_A, LIVE_B = "live/a/20250101_000000.log", "live/b/20250101_000000.log"
LIVE_C = "live/c/20250101_000000.log"  # grown by the zoom test
SLOW_S = 90.0


@pytest.fixture(scope="module")
def cmp_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cmp") / LABEL
    for rel in SAMPLES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLE_LOGS / rel, root / rel)
    for k in range(MANY):  # copies of the sample runs, each in a folder of its own
        rel = SAMPLES[k % len(SAMPLES)]
        dest = root / "many" / f"exp{k:02d}" / Path(rel).name
        dest.parent.mkdir(parents=True)
        shutil.copyfile(SAMPLE_LOGS / rel, dest)
    for rel in (LIVE_A, LIVE_B, LIVE_C):
        (root / rel).parent.mkdir(parents=True)
        (root / rel).write_text(synthetic_log(n_logged=30))
    return root


@pytest.fixture(scope="module")
def cmp_server(cmp_root):
    server = start_streamlit([cmp_root], extra_env={"MMDASH_DEMO": "0"})
    yield server
    server.stop()



def compare_url(ids: list[str], **params: str | list[str]) -> str:
    parts = [f"compare={quote(f'{LABEL}/{i}', safe='/')}" for i in ids]
    for k, v in params.items():
        parts += [f"{k}={quote(x)}" for x in ([v] if isinstance(v, str) else v)]
    return "/compare?" + "&".join(parts)


def plot_data(page) -> list[list[dict]]:
    """Per chart on the page, its traces as plotly drew them (``_fullData``: the arrays decoded): name, point count,
    largest x."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(
        d => (d._fullData || []).map(t => ({name: t.name, n: t.x ? t.x.length : 0,
                                       max_x: t.x && t.x.length ? Math.max(...Array.from(t.x)) : null})))""")


def wait_for_charts(page, count: int) -> None:
    poll(lambda: len(plot_data(page)) >= count and all(plot_data(page)), SLOW_S, page=page)
    assert len(plot_data(page)) == count, plot_data(page)


def tall_screenshot(page, name: str, height: int = 2400) -> Path:
    page.set_viewport_size({"width": 1400, "height": height})
    wait_app_ready(page, 60_000)
    return screenshot(page, name)


def test_the_config_differences_of_a_run_and_its_resumed_part_are_one_row(page, cmp_server, page_errors):
    open_app(page, cmp_server, compare_url([DET_FIRST, DET_RESUMED], metric="loss"))
    wait_for_charts(page, 1)
    text = main_text(page)
    assert "Configuration differences" in text
    frames = page.locator("[data-testid='stDataFrame']")
    poll(lambda: frames.count() == 2, SLOW_S, page=page)
    assert grid_column(page, 1, 0) == ["resume"]
    assert grid_column(page, 1, 1) == ["False"]
    assert grid_column(page, 1, 2) == ["True"]
    headers = [h.text_content() for h in frames.nth(1).locator("th").all()]
    assert [h.strip() for h in headers if h and h.strip()][:3] == [
        "key", "det_crash_resume/…/20260316_214000.log", "det_crash_resume/…/20260317_085500.log"]
    assert "1 setting differs (nested keys dotted" in main_text(page)
    tall_screenshot(page, "compare_config_diff", 1600)
    assert page_errors == []


def test_a_compared_log_that_grows_is_redrawn_without_a_reload(page, cmp_server, cmp_root, page_errors):
    open_app(page, cmp_server, compare_url([LIVE_A, LIVE_B], metric="loss"))
    wait_for_charts(page, 1)
    # Both logs end at iteration 300: every trace of the chart ends there.
    assert {t["max_x"] for t in plot_data(page)[0]} == {300}
    assert grid_column(page, 0, 3) == ["300", "300"]  # last iter
    assert "Live check:" in main_text(page)
    lines = synthetic_log(n_logged=45).splitlines(keepends=True)[31:]  # iterations 310 to 450
    lines = [ln for ln in lines if "Iter(train)" in ln]
    append(cmp_root / LIVE_A, "".join(lines).encode())
    # The table follows within its refresh, the chart within its own (no reload, no click).
    poll(lambda: grid_column(page, 0, 3) == ["450", "300"], SLOW_S, page=page)
    assert grid_column(page, 0, 3) == ["450", "300"]
    poll(lambda: max(t["max_x"] or 0 for t in plot_data(page)[0]) == 450, SLOW_S, page=page)
    by_name = {t["name"]: t["max_x"] for t in plot_data(page)[0]}
    # The two short names (live/…/x.log) would be the same: each run is named by its whole path.
    assert by_name == {"live/a/20250101_000000.log": 450, "live/b/20250101_000000.log": 300,
                       "live/a/20250101_000000.log (raw)": 450, "live/b/20250101_000000.log (raw)": 300}
    assert grid_column(page, 0, 1) == ["running", "running"]
    screenshot(page, "compare_live")
    assert page_errors == []


def test_a_zoom_on_a_compared_chart_holds_while_a_compared_log_grows(page, cmp_server, cmp_root, page_errors):
    open_app(page, cmp_server, compare_url([LIVE_C, LIVE_B], metric="loss"))
    wait_for_charts(page, 1)
    view = """() => { const gd = document.querySelector('.st-key-cmp_chart_0 .js-plotly-plot');
                      return {range: gd._fullLayout.xaxis.range.map(Number), marked: gd.__mark === true}; }"""
    drag(page, ".st-key-cmp_chart_0", 0.2, 0.5)
    zoomed = poll(lambda: (v := page.evaluate(view)) and v["range"][1] < 250 and v, SLOW_S, page=page)
    assert zoomed and 10 < zoomed["range"][0] < zoomed["range"][1] < 250, zoomed
    page.evaluate("() => { document.querySelector('.st-key-cmp_chart_0 .js-plotly-plot').__mark = true; }")
    lines = [ln for ln in synthetic_log(n_logged=45).splitlines(keepends=True)[31:] if "Iter(train)" in ln]
    append(cmp_root / LIVE_C, "".join(lines).encode())
    # The new points arrive on the same graph (no new plotly graph), and the reader's zoom is where it was.
    assert poll(lambda: max(t["max_x"] or 0 for t in plot_data(page)[0]) == 450, SLOW_S, page=page), plot_data(page)
    after = page.evaluate(view)
    assert after == {"range": zoomed["range"], "marked": True}, (zoomed, after)
    screenshot(page, "compare_zoom_held")
    assert page_errors == []


def test_twenty_runs_and_ten_metrics_are_all_drawn(page, cmp_server, page_errors):
    ids = [f"many/exp{k:02d}/{Path(SAMPLES[k % len(SAMPLES)]).name}" for k in range(MANY)]
    metrics = ["loss", "lr", "time", "data_time", "grad_norm", "loss_cls", "loss_bbox", "decode.loss_ce",
               "decode.acc_seg", "accuracy/top1"]
    open_app(page, cmp_server, compare_url(ids, metric=metrics))
    wait_for_charts(page, len(metrics))
    charts = plot_data(page)
    # The loss chart: a smoothed line per run (raw traces have no legend entry), every run in the legend.
    loss_lines = [t for t in charts[0] if t["name"] and not t["name"].endswith(("(raw)", "nan/inf"))]
    assert len(loss_lines) == MANY
    assert len(set(page.locator(".js-plotly-plot").first.locator(".legendtext").all_text_contents())) >= MANY
    # No trace holds more than its share of the chart's points.
    assert max(t["n"] for chart in charts for t in chart) <= 400
    runs_col = grid_column(page, 0, 0)
    assert len(runs_col) == MANY and len(set(runs_col)) == MANY
    tall_screenshot(page, "compare_many", 3600)
    assert page_errors == []
