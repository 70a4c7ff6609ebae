"""The placeholder pages through ``streamlit.testing.v1.AppTest`` (no browser): runs list, run page, refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import NO_CORPUS, ROOT, SHARED_LOGS

pytestmark = pytest.mark.corpus

APP = str(ROOT / "app.py")
TIMEOUT = 60
#: (file copied from ../shared/real_logs, its n/N)
LOGS = (
    ("xtuner-internvl2-2b-qlora-ft-20240827.log", "2000/2000"),
    ("mmpretrain-camp-fruit30-resnet.log", "5443/5480"),
    ("mmdet3-camp-balloon-rtmdet-scalars.json", None),
)
HOSTILE_NAME = "[x](javascript:alert(1)) <img src=x onerror=alert(1)>.log"


@pytest.fixture
def log_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A root named ``logs`` with copies of real logs (one in a sub-directory) and MMDASH_ROOTS set to it."""
    if not SHARED_LOGS.is_dir():
        pytest.skip(NO_CORPUS)
    root = tmp_path / "logs"
    (root / "sub").mkdir(parents=True)
    shutil.copyfile(SHARED_LOGS / LOGS[0][0], root / LOGS[0][0])
    shutil.copyfile(SHARED_LOGS / LOGS[1][0], root / "sub" / LOGS[1][0])
    shutil.copyfile(SHARED_LOGS / LOGS[2][0], root / LOGS[2][0])
    shutil.copyfile(SHARED_LOGS / LOGS[0][0], root / HOSTILE_NAME)
    (tmp_path / "secret.log").write_text("TOP-SECRET-LINE\n")
    (root / "notes.txt").write_text("not a log")
    monkeypatch.setenv("MMDASH_ROOTS", str(root))
    return root


def run_page(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page("dashboard/pages/run.py")
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, at.exception
    return at


def all_text(at: AppTest) -> str:
    parts = [e.value for e in at.text] + [e.value for e in at.code] + [e.value for e in at.markdown]
    parts += [e.value for e in at.error] + [e.value for e in at.warning] + [e.value for e in at.info]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(str(p) for p in parts)


def test_runs_page_lists_the_files_of_the_root(log_root):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    table = at.dataframe[0].value
    names = set(table["name"])
    assert names == {
        f"logs/{LOGS[0][0]}", f"logs/sub/{LOGS[1][0]}", f"logs/{LOGS[2][0]}", f"logs/{HOSTILE_NAME}",
    }
    row = table.set_index("name").loc[f"logs/sub/{LOGS[1][0]}"]
    assert (row["format"], row["runs"], row["N"], row["last iter"]) == ("mmengine-text", 1, 5480, 5443)
    assert table.set_index("name").loc[f"logs/{LOGS[2][0]}"]["format"] == "mmengine-scalars-json"
    assert "4 log files" in all_text(at)


@pytest.mark.parametrize(("rel", "progress"), [(LOGS[0][0], LOGS[0][1]), (f"sub/{LOGS[1][0]}", LOGS[1][1])])
def test_run_page_shows_progress_and_a_plotly_chart(log_root, rel, progress):
    at = run_page({"run": f"logs/{rel}"})
    assert [m.value for m in at.metric] == [progress]
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    spec = json.loads(charts[0].proto.spec)
    names = [t.get("name") for t in spec["data"]]
    assert "loss" in names


def test_run_page_without_a_run_points_to_the_runs_page(log_root):
    at = run_page({})
    assert "No run selected" in all_text(at)
    assert not at.get("plotly_chart")


@pytest.mark.parametrize("run_id", [
    "../../etc/passwd", "logs/../secret.log", "/etc/passwd", "logs/..%2fsecret.log", "logs\\..\\secret.log",
    "logs/sub/../../secret.log", "other-root/x.log", "logs/notes.txt", "logs/missing.log", "logs",
])
def test_run_page_refuses_ids_outside_the_roots(log_root, run_id):
    at = run_page({"run": run_id})
    text = all_text(at)
    assert "Refused" in text and "Some URL parameters" not in text  # one explanation, not two
    assert "TOP-SECRET-LINE" not in text and "root:x:0:0" not in text
    assert not at.get("plotly_chart") and not at.metric


def test_run_page_refuses_a_symlink_leaving_the_root(log_root):
    (log_root / "escape.log").symlink_to(log_root.parent / "secret.log")
    at = run_page({"run": "logs/escape.log"})
    assert "Refused" in all_text(at) and "TOP-SECRET-LINE" not in all_text(at)


def test_hostile_file_name_is_shown_as_literal_text(log_root):
    at = run_page({"run": f"logs/{HOSTILE_NAME}"})
    assert f"Log: logs/{HOSTILE_NAME}" in "\n".join(e.value for e in at.text)
    for md in at.markdown:  # never rendered through Markdown
        assert "javascript" not in md.value and "<img" not in md.value


def test_bad_url_parameters_become_notices_not_errors(log_root):
    at = run_page({"run": f"logs/{LOGS[0][0]}", "smoothing": "7", "x_axis": "<script>"})
    assert "Some URL parameters were not understood" in all_text(at)
    assert any("smoothing" in t.value and "x_axis" in t.value for t in at.text)
    assert [m.value for m in at.metric] == [LOGS[0][1]]


def test_missing_root_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("MMDASH_ROOTS", str(tmp_path / "nowhere"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    text = all_text(at)
    assert "(missing)" in text and "No log files" in text
