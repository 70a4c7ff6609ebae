"""Year-less (console) log lines: the year they get says where it came from, and whether it is assumed.

Sources, in order: a full date on an earlier line of the log (fact), a ``YYYYMMDD_HHMMSS`` stamp in the file
or folder name (MMEngine's own name for the run: fact), the file's time (a copy or a clone changes it:
assumed), and nothing (1970 stands in: assumed). ``run.header.year_source`` / ``year_assumed`` hold it;
``python -m parsers inspect --json`` shows them in each run's header, ``python -m dashboard report --json``
as ``year_source`` / ``year_assumed`` and in ``sources["year"]``. A log whose lines carry their year has none.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.analysis import summarize
from parsers import parse_bytes, parse_path

from .conftest import ROOT, SAMPLE_LOGS, SHARED_LOGS

TEE = SAMPLE_LOGS / "det_crash_resume" / "console_tee.log"
YEARFUL = SAMPLE_LOGS / "cls_epoch_val" / "20260315_140000" / "20260315_140000.log"
LINE = "06/11 10:00:00 - mmengine - INFO - Iter(train) [10/100]  lr: 1.0000e-04  time: 1.0000  loss: 1.0\n"


def _corpus(name: str) -> Path:
    p = SHARED_LOGS / name
    if not p.exists():
        pytest.skip(f"{p} absent: ../shared/real_logs is not beside the project")
    return p


def _year(run) -> int:
    return dt.datetime.fromtimestamp(run.train.timestamps[0], dt.timezone.utc).year


def test_a_yearless_log_dated_by_its_file_time_says_the_year_is_assumed(tmp_path):
    p = tmp_path / "console.log"
    p.write_text(LINE)
    when = dt.datetime(2024, 7, 1).timestamp()
    os.utime(p, (when, when))
    run = parse_path(p).runs[0]
    assert _year(run) == 2024
    assert run.header.year_assumed is True
    assert run.header.year_source.startswith("file time") and "2024-07-01" in run.header.year_source


def test_a_yearless_log_in_a_stamped_work_dir_takes_the_year_from_the_name(tmp_path):
    d = tmp_path / "20230612_101010"
    d.mkdir()
    (d / "console.log").write_text(LINE)
    run = parse_path(d / "console.log").runs[0]
    assert _year(run) == 2023
    assert run.header.year_assumed is False
    assert run.header.year_source.startswith("file name") and "20230612_101010" in run.header.year_source


def test_a_full_date_on_an_earlier_line_gives_the_year_as_fact():
    run = parse_path(_corpus("xtuner-nursingai-deepseek-lora64-multirun-oom.log")).runs[1]
    assert _year(run) == 2025
    assert run.header.year_assumed is False and run.header.year_source.startswith("log")


def test_no_date_anywhere_means_1970_stands_in_and_is_assumed():
    run = parse_bytes(LINE.encode()).runs[0]
    assert _year(run) == 1970
    assert run.header.year_assumed is True and run.header.year_source.startswith("none")


def test_a_log_whose_lines_carry_their_year_has_no_year_source():
    run = parse_path(YEARFUL).runs[0]
    assert run.header.year_source is None and run.header.year_assumed is None


@pytest.mark.corpus
def test_the_real_rtmdet_console_log_is_not_shown_as_a_fact_of_2026(tmp_path):
    # The corpus copy's file time is when it was copied, not when the run was (June 2023).
    p = tmp_path / "mmdet3-rtmdet-balloon-train.log"
    shutil.copy(_corpus("mmdet3-rtmdet-balloon-train.log"), p)
    s = summarize(parse_path(p).runs[0])
    assert s.year_assumed is True and s.year_source.startswith("file time")
    assert s.sources["year"] == s.year_source


def test_inspect_and_report_json_name_the_year_source():
    def run_json(*args: str) -> dict:
        p = subprocess.run([sys.executable, "-m", *args, "--json"], cwd=ROOT, capture_output=True, text=True,
                           timeout=120)
        assert p.returncode == 0, p.stderr
        return json.loads(p.stdout.splitlines()[0])

    inspected = run_json("parsers", "inspect", str(TEE))
    for run in inspected["runs"]:
        assert run["header"]["year_source"].startswith("file time") and run["header"]["year_assumed"] is True
    reported = run_json("dashboard", "report", str(TEE))
    for run in reported["runs"]:
        assert run["year_source"].startswith("file time") and run["year_assumed"] is True
        assert run["sources"]["year"] == run["year_source"]
    reported = run_json("dashboard", "report", str(YEARFUL))
    assert reported["runs"][0]["year_source"] is None and "year" not in reported["runs"][0]["sources"]


def test_a_followed_log_says_the_same_as_a_parsed_one(tmp_path):
    from dashboard.live.tailer import Tailer

    d = tmp_path / "20230612_101010"
    d.mkdir()
    (d / "console.log").write_text(LINE)
    t = Tailer(d / "console.log")
    t.poll(force=True)
    (run,) = t.runs
    assert (run.header.year_source, run.header.year_assumed) == ("file name: 20230612_101010", False)
