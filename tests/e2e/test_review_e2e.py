"""Upload, Compare and Calculator in a real browser (Debian's Chromium through Playwright).

One ``streamlit run app.py`` server for the module (``conftest.start_streamlit``): log root =
``sample_logs`` (label ``sample_logs``), upload store = a fresh temporary folder (``MMDASH_UPLOAD_DIR``).
Screenshots: ``test-artifacts/review_*.png``.

Waits are for conditions (generous timeouts for a loaded 2-core machine), never fixed sleeps.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest

from tests.conftest import SAMPLE_LOGS
from tests.e2e.conftest import screenshot, start_streamlit, wait_app_ready

pytestmark = pytest.mark.browser

LLM = SAMPLE_LOGS / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
LLM_ID = "sample_logs/llm_sft_len_grouped/20260314_090000/20260314_090000.log"
CLS_ID = "sample_logs/cls_epoch_val/20260315_140000/20260315_140000.log"
DET_ID = "sample_logs/det_crash_resume/console_tee.log"
SLOW_MS = 90_000  # parsing + rendering on a loaded machine


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture(scope="module")
def review_server(upload_dir):
    server = start_streamlit([SAMPLE_LOGS], extra_env={"MMDASH_UPLOAD_DIR": str(upload_dir)})
    yield server
    server.stop()



def goto(page, url: str) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, f"GET {url} -> {response and response.status}"
    wait_app_ready(page, timeout_ms=SLOW_MS)


def metrics(page) -> dict[str, str]:
    """Label -> value of every st.metric on the page."""
    out = {}
    tiles = page.locator("[data-testid='stMetric']")
    for i in range(tiles.count()):
        tile = tiles.nth(i)
        out[tile.locator("[data-testid='stMetricLabel']").inner_text().strip()] = \
            tile.locator("[data-testid='stMetricValue']").inner_text().strip()
    return out


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def wait_for_text(page, text: str, timeout_ms: int = SLOW_MS) -> None:
    page.locator("[data-testid='stMain']").get_by_text(text, exact=False).first.wait_for(timeout=timeout_ms)


def upload(page, *paths: Path) -> None:
    page.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files([str(p) for p in paths])


def tall_screenshot(page, name: str, height: int = 2600) -> Path:
    """Streamlit scrolls inside its main container, so a full-page shot needs a tall viewport."""
    page.set_viewport_size({"width": 1400, "height": height})
    wait_app_ready(page, timeout_ms=SLOW_MS)
    return screenshot(page, name)


def grid_column(page, frame_index: int, column: int) -> list[str]:
    """Cell texts of one column of the ``frame_index``-th st.dataframe (Glide's accessible table)."""
    frame = page.locator("[data-testid='stDataFrame']").nth(frame_index)
    frame.locator("[data-testid='data-grid-canvas']").focus()
    cells = frame.locator(f"td[aria-colindex='{column + 1}']")
    cells.first.wait_for(state="attached")
    return [c.text_content() or "" for c in cells.all()]


def stored_uploads(upload_dir: Path) -> list[Path]:
    return [p for p in upload_dir.iterdir() if re.fullmatch(r"[0-9a-f]{24}", p.name)]


# ----------------------------------------------------------------------------------------------- tests


def test_upload_gives_a_permalink_that_opens_the_same_run_in_a_new_browser_context(
        page, chromium, review_server, upload_dir, page_errors):
    goto(page, review_server.url + "/upload")
    upload(page, LLM)
    # After the upload the address bar holds the permalink: the Run page shows the upload.
    page.wait_for_url(re.compile(r"/run\?upload=[0-9a-f]{24}$"), timeout=SLOW_MS)
    page.locator("[data-testid='stMetric']").first.wait_for(timeout=SLOW_MS)
    wait_app_ready(page, timeout_ms=SLOW_MS)
    permalink = page.url
    upload_id = parse_qs(urlsplit(permalink).query)["upload"][0]
    assert permalink == f"{review_server.url}/run?upload={upload_id}"
    seen = metrics(page)
    assert seen["Iterations n/N"] == "3670/3672" and seen["Status"] == "✔ finished"
    assert seen["Epoch"] == "3/3" and seen["Elapsed"] == "12h 30m"
    page.locator(".js-plotly-plot .scatterlayer .trace path.js-line").first.wait_for(state="attached")
    assert [p.name for p in stored_uploads(upload_dir)] == [upload_id]
    tall_screenshot(page, "review_upload_done", 4200)

    # The records download is the parser's export of this run.
    with page.expect_download(timeout=SLOW_MS) as info:
        page.get_by_role("button", name="Records (CSV)").click()
    frame = pd.read_csv(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert info.value.suggested_filename == "20260314_090000.records.csv"
    assert len(frame) == 367 and frame["iter"].iloc[-1] == 3670 and set(frame["kind"]) == {"train"}
    with page.expect_download(timeout=SLOW_MS) as info:
        page.get_by_role("button", name="Records (Parquet)").click()
    assert len(pd.read_parquet(io.BytesIO(Path(info.value.path()).read_bytes()))) == 367
    with page.expect_download(timeout=SLOW_MS) as info:
        page.get_by_role("button", name="Run report (Markdown)").click()
    report = Path(info.value.path()).read_text()
    assert report.startswith("# Run report: 20260314_090000.log") and "### Iteration arithmetic" in report
    with page.expect_download(timeout=SLOW_MS) as info:
        page.get_by_role("button", name="Run report (HTML, charts included)").click()
    assert info.value.suggested_filename == "20260314_090000.report.html"
    doc = Path(info.value.path()).read_text()
    assert "<h1>Run report: 20260314_090000.log</h1>" in doc
    assert doc.count("<script>Plotly.newPlot(") == 4  # the charts the page shows

    fresh = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = fresh.new_page()
        other.set_default_timeout(SLOW_MS)
        goto(other, permalink)
        other.locator("[data-testid='stMetric']").first.wait_for(timeout=SLOW_MS)
        assert metrics(other) == seen
        assert other.url == permalink and "20260314_090000.log" in main_text(other)
        other.locator(".js-plotly-plot .scatterlayer .trace path.js-line").first.wait_for(state="attached")
        tall_screenshot(other, "review_permalink_new_context", 1600)
    finally:
        fresh.close()
    assert page_errors == []


def test_the_logs_of_a_resumed_run_uploaded_together_are_one_run(page, review_server, page_errors):
    goto(page, review_server.url + "/upload")
    upload(page, *sorted((SAMPLE_LOGS / "det_crash_resume").glob("2026*/2026*.log")))
    page.locator("[data-testid='stMetric']").first.wait_for(timeout=SLOW_MS)
    wait_app_ready(page, timeout_ms=SLOW_MS)
    page.wait_for_url(re.compile(r"/run\?upload=[0-9a-f]{24}$"), timeout=SLOW_MS)
    seen = metrics(page)
    assert (seen["Status"], seen["Iterations n/N"]) == ("✔ finished", "600/600")
    assert "treated as one experiment" in main_text(page)
    page.locator(".js-plotly-plot .shapelayer path").first.wait_for(state="attached")  # the restart marker
    tall_screenshot(page, "review_upload_resumed_run", 2400)
    assert page_errors == []


def test_a_non_log_upload_is_refused_with_a_message_and_nothing_is_stored(
        page, review_server, upload_dir, tmp_path, page_errors):
    before = stored_uploads(upload_dir)
    notes = tmp_path / "notes.txt"
    notes.write_text("shopping list\nmilk\neggs\n" * 20)
    goto(page, review_server.url + "/upload")
    upload(page, notes)
    wait_for_text(page, "refused and nothing was stored")
    wait_app_ready(page, timeout_ms=SLOW_MS)
    text = main_text(page)
    assert "notes.txt: this is not an MMEngine / mmcv training log" in text
    assert "?upload=" not in text and "upload=" not in page.url
    assert stored_uploads(upload_dir) == before
    screenshot(page, "review_upload_refused")
    # The server keeps serving: another page loads and works.
    goto(page, review_server.url + "/calculator")
    assert page.get_by_role("heading", name="Calculator").first.is_visible()
    assert page_errors == []


def test_compare_overlays_two_runs_with_a_table_and_keeps_the_set_in_the_url(page, review_server, page_errors):
    goto(page, f"{review_server.url}/compare?compare={CLS_ID}&compare={DET_ID}&metric=loss")
    page.locator(".js-plotly-plot .scatterlayer .trace path.js-line").first.wait_for(state="attached",
                                                                                     timeout=SLOW_MS)
    wait_app_ready(page, timeout_ms=SLOW_MS)
    legend = [t.text_content() for t in page.locator(".js-plotly-plot .legendtext").all()]
    assert legend == ["cls_epoch_val/…/20260315_140000.log", "det_crash_resume/console_tee.log"]
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() == 4  # raw + smoothed per run
    runs = grid_column(page, 0, 0)
    assert runs == ["cls_epoch_val/…/20260315_140000.log", "det_crash_resume/console_tee.log"]
    assert grid_column(page, 0, 1) == ["finished", "finished"]
    assert grid_column(page, 0, 2) == ["300", "600"]
    query = parse_qs(urlsplit(page.url).query)
    assert query["compare"] == [CLS_ID, DET_ID] and query["metric"] == ["loss"]
    # Align by time since start: the URL follows.
    page.get_by_text("time since start").click()
    page.wait_for_url(re.compile(r"x_axis=relative"), timeout=SLOW_MS)
    wait_app_ready(page, timeout_ms=SLOW_MS)
    page.locator(".js-plotly-plot .xtitle").filter(has_text="seconds since start").first.wait_for(state="attached")
    tall_screenshot(page, "review_compare", 1200)
    assert page_errors == []


def _fill(page, label: str, value: str) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    wait_app_ready(page, timeout_ms=SLOW_MS)


def test_calculator_explains_a_3672_log_believed_to_run_on_4_gpus(page, chromium, review_server, page_errors):
    goto(page, f"{review_server.url}/calculator?run={LLM_ID}")
    page.get_by_label("Dataset size (samples)", exact=True).wait_for(timeout=SLOW_MS)
    for label, value in (("Dataset size (samples)", "1220"), ("Batch size per GPU", "1"),
                         ("accumulative_counts", "8"), ("Epochs", "3"), ("GPUs (world size)", "4")):
        _fill(page, label, value)
    page.wait_for_url(re.compile(r"gpus=4"), timeout=SLOW_MS)
    wait_for_text(page, "This setup gives N = 936")
    seen = metrics(page)
    assert seen["N (total iterations)"] == "936" and seen["Iterations per epoch"] == "312"
    assert seen["Optimizer updates"] == "117"
    text = main_text(page)
    assert "The log says N = 3672" in text and "3672 = 3 epochs x 1224 iterations per epoch" in text
    assert "what a single process sees" in text and "4 processes each trained the whole schedule alone" in text
    assert "World sizes that give the logged N = 3672 with these other inputs: 1" in text
    query = parse_qs(urlsplit(page.url).query)
    assert {k: query[k] for k in ("run", "dataset_size", "gpus", "batch_size", "accumulative_counts", "epochs",
                                  "sampler")} == {
        "run": [LLM_ID], "dataset_size": ["1220"], "gpus": ["4"], "batch_size": ["1"],
        "accumulative_counts": ["8"], "epochs": ["3"], "sampler": ["length-grouped"]}
    tall_screenshot(page, "review_calculator_3672", 2000)

    # The worked answer is shareable: the same URL in a new browser context gives the same answer.
    fresh = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        other = fresh.new_page()
        other.set_default_timeout(SLOW_MS)
        goto(other, page.url)
        wait_for_text(other, "This setup gives N = 936")
        assert metrics(other) == seen
    finally:
        fresh.close()
    assert page_errors == []


def readme_urls() -> list[tuple[str, str]]:
    """(page name, URL template) of every URL the README's Pages table documents."""
    text = (SAMPLE_LOGS.parent / "README.md").read_text()
    table = text[text.index("## Pages"):text.index("## Configuration")]
    out = []
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] in ("page", "---"):
            continue
        out.extend((cells[0], u) for u in re.findall(r"`(/[^`]*)`", cells[1]))
    return out


def test_every_url_the_readme_documents_opens_its_page(page, review_server, page_errors):
    """Each URL of the README's Pages table, with its placeholders filled with real values, opens the page it
    names (its title), never Streamlit's 'Page not found' (issue 11 item 13)."""
    goto(page, review_server.url + "/upload")
    upload(page, LLM)
    page.wait_for_url(re.compile(r"/run\?upload=[0-9a-f]{24}$"), timeout=SLOW_MS)
    upload_id = parse_qs(urlsplit(page.url).query)["upload"][0]
    values = {"<regex>": "llm", "<root label>/<path>": LLM_ID, "<run index>": "0", "<id>": upload_id,
              "<run>": CLS_ID}
    urls = readme_urls()
    assert {name for name, _ in urls} == {"Runs", "Run", "Upload", "Compare", "Calculator"}
    for name, template in urls:
        url = template
        for key, value in values.items():
            url = url.replace(key, value)
        assert "<" not in url, url
        goto(page, review_server.url + url)
        title = page.locator("[data-testid='stMain'] h1").first
        title.wait_for(timeout=SLOW_MS)
        wait_app_ready(page, timeout_ms=SLOW_MS)
        # an old /upload?upload=<id> link lands on the Run page, as the README says
        expected = "Run" if (name == "Upload" and "upload=" in url) else name
        assert title.inner_text().strip() == expected, url
        assert "Page not found" not in page.locator("body").inner_text(), url
    assert page_errors == []
