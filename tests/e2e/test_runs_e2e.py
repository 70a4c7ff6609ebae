"""The Runs page in a real browser (issue 12): clicking a row opens its run, and the switch that shows the
timestamped folders of a resumed run as one run (``combine=1``, kept in the URL; its link opens the joined run).

One ``streamlit run app.py`` server for the module on a temporary root (label ``runs-e2e``) holding copies of the
sample logs: the crashed-then-resumed detector (two timestamped folders of one work_dir, a real MMEngine resume)
and the classifier. Waits are for states, each with a generous deadline. Screenshots: ``test-artifacts/runs_*.png``.
"""

from __future__ import annotations

import re
import shutil
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.conftest import screenshot, start_streamlit, wait_app_ready
from tests.e2e.page_helpers import copy_samples, grid_column, main_text, metric, open_app, poll

pytestmark = pytest.mark.browser

LABEL = "runs-e2e"
CLS = f"{LABEL}/cls_epoch_val/20260315_140000/20260315_140000.log"
DET_FIRST = f"{LABEL}/det_crash_resume/20260316_214000/20260316_214000.log"
DET_RESUMED = f"{LABEL}/det_crash_resume/20260317_085500/20260317_085500.log"
JOINED = f"{LABEL}/det_crash_resume · 2 folders joined (resumed run)"
SLOW_S = 90.0


@pytest.fixture(scope="module")
def runs_server(tmp_path_factory):
    root = copy_samples(tmp_path_factory.mktemp("runs") / LABEL, ("det_crash_resume", "cls_epoch_val"),
                        ignore=shutil.ignore_patterns("console_tee.log"))
    server = start_streamlit([root], extra_env={"MMDASH_DEMO": "0"})
    yield server
    server.stop()



def names(page) -> list[str]:
    return grid_column(page, 0, 1)  # "open", then "name" (the row checkboxes are not a column of the table)


def beat_line(page) -> str:
    found = re.search(r"Live check: .*", main_text(page))
    return found.group(0) if found else ""


def click_row(page, row: int) -> None:
    """Click the ``row``-th data row of the Runs table, in its name cell (Glide draws the grid on a canvas), and wait
    for the Run page. A click that lands while the live table is being redrawn (every 2 s) can be lost, as it can
    for a person, who clicks again: so does this, at most twice more."""
    canvas = page.locator("[data-testid='stDataFrame'] [data-testid='data-grid-canvas']").first
    header, row_height = 38, 66  # st.dataframe's header, runs_table.ROW_HEIGHT
    for _ in range(3):
        box = canvas.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 260, box["y"] + header + row_height * row + row_height / 2)
        try:
            page.wait_for_url(re.compile(r"/run\?"), timeout=20_000)
            return
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError: click again
            continue
    page.wait_for_url(re.compile(r"/run\?"), timeout=SLOW_S * 1000)


def wait_for_table(page, rows: int) -> None:
    poll(lambda: len(names(page)) == rows, SLOW_S, page=page)
    assert len(names(page)) == rows, names(page)


def test_clicking_a_row_opens_its_run(page, runs_server, page_errors):
    open_app(page, runs_server, "/")
    wait_for_table(page, 3)
    listed = names(page)
    row = listed.index(CLS)
    screenshot(page, "runs_table")
    click_row(page, row)
    wait_app_ready(page, 60_000)
    assert parse_qs(urlsplit(page.url).query)["run"] == [CLS]
    assert poll(lambda: metric(page, "Iterations n/N"), SLOW_S, page=page) == "300/300"
    # Back on the Runs page, no row is selected: the page stays (it does not open the run again).
    page.go_back()
    wait_app_ready(page, 60_000)
    wait_for_table(page, 3)
    # The table refreshes (its live line changes) and the page stays the Runs page.
    beat = beat_line(page)
    poll(lambda: beat_line(page) not in ("", beat), SLOW_S, page=page)
    assert beat_line(page) != beat and urlsplit(page.url).path in ("", "/")
    assert page_errors == []


def test_the_folders_of_a_resumed_run_are_one_row_with_the_switch_and_open_as_one_run(page, runs_server,
                                                                                    page_errors):
    open_app(page, runs_server, "/")
    wait_for_table(page, 3)
    assert sorted(names(page)) == sorted([CLS, DET_FIRST, DET_RESUMED])
    page.get_by_text("Join resumed runs").click()
    page.wait_for_url(re.compile(r"combine=1"), timeout=SLOW_S * 1000)
    wait_app_ready(page, 60_000)
    wait_for_table(page, 2)
    assert sorted(names(page)) == sorted([CLS, JOINED])
    row = names(page).index(JOINED)
    assert grid_column(page, 0, 2)[row].endswith("finished")  # status
    assert grid_column(page, 0, 4)[row] == "600/600"  # n/N
    assert "2 runs in 3 log files" in main_text(page)
    screenshot(page, "runs_combined")
    # The switch is in the URL: a copied link shows the same table.
    page.goto(page.url)
    wait_app_ready(page, 60_000)
    wait_for_table(page, 2)
    click_row(page, names(page).index(JOINED))
    wait_app_ready(page, 60_000)
    query = parse_qs(urlsplit(page.url).query)
    assert query["run"] == [DET_RESUMED] and query["combine"] == ["1"]
    shown = poll(lambda: metric(page, "Iterations n/N"), SLOW_S, page=page)
    screenshot(page, "runs_joined_run")
    assert shown == "600/600", main_text(page)[:3000]
    assert "2 folders joined (resumed run)" in main_text(page)
    assert page_errors == []



def joined_traces(page) -> list[dict]:
    """The traces of the first chart as plotly drew them: name, first and last x."""
    return page.evaluate("""() => { const d = document.querySelector('.js-plotly-plot');
        return d ? (d._fullData || []).filter(t => t.x && t.x.length).map(t => ({name: t.name,
            min_x: Math.min(...Array.from(t.x)), max_x: Math.max(...Array.from(t.x))})) : []; }""")


def test_compare_takes_a_joined_run_whole(page, runs_server, page_errors):
    """From the Runs page with combine=1, the joined run's Run page, then its Compare link: Compare shows the whole
    joined run (its chart starts at the earlier folder's iterations), labelled as joined, and the choice is in
    Compare's URL (a copied link opens the same comparison)."""
    open_app(page, runs_server, "/?combine=1")
    wait_for_table(page, 2)
    click_row(page, names(page).index(JOINED))
    wait_app_ready(page, 60_000)
    page.get_by_text("Compare with other runs").click()
    page.wait_for_url(re.compile(r"/compare\?"), timeout=SLOW_S * 1000)
    wait_app_ready(page, 60_000)
    assert parse_qs(urlsplit(page.url).query)["compare"] == [f"{DET_RESUMED}::combine"]
    # A second run to overlay: the classifier, chosen in the multiselect as a person does.
    box = page.get_by_role("combobox").first
    box.click()
    box.fill("cls_epoch_val")
    page.get_by_role("option").filter(has_text="cls_epoch_val").first.click()
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r"compare=.*compare="), timeout=SLOW_S * 1000)
    wait_app_ready(page, 60_000)
    joined_label = "det_crash_resume · 2 folders joined"
    traces = poll(lambda: [t for t in joined_traces(page) if t["name"] == joined_label], SLOW_S, page=page)
    screenshot(page, "runs_compare_joined")
    assert traces, joined_traces(page)
    # The resumed folder alone starts at 410: the joined run runs from the earlier folder's 10 to 600.
    assert min(t["min_x"] for t in traces) == 10 and max(t["max_x"] for t in traces) == 600, traces
    x_range = page.evaluate("() => document.querySelector('.js-plotly-plot')._fullLayout.xaxis.range.map(Number)")
    assert x_range[0] <= 10 and x_range[1] >= 600
    assert parse_qs(urlsplit(page.url).query)["compare"] == [f"{DET_RESUMED}::combine", CLS]
    # The copied link opens the same comparison.
    page.goto(page.url)
    wait_app_ready(page, 60_000)
    traces = poll(lambda: [t for t in joined_traces(page) if t["name"] == joined_label], SLOW_S, page=page)
    assert traces and min(t["min_x"] for t in traces) == 10
    assert page_errors == []
