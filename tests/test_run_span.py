"""Where a run starts and ends in its file, and the one time span its summary reports.

MMEngine logs its run header as one message that starts with a newline: the prefixed line
``MM/DD HH:MM:SS - mmengine - INFO - `` (empty), a dash line, then ``System environment:``. That prefixed
line belongs to the run the header opens, with its time stamp. ``started_at``, ``ended_at`` and
``wall_seconds`` all describe the span from the run's first to its last time-stamped line.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

from dashboard.analysis import summarize
from parsers import parse_bytes, parse_path

from .conftest import ROOT, SAMPLE_LOGS

TEE = SAMPLE_LOGS / "det_crash_resume" / "console_tee.log"


def _seconds(iso: str) -> float:
    return dt.datetime.fromisoformat(iso).timestamp()


def test_the_tee_files_second_run_starts_at_the_prefixed_line_of_its_header():
    lines = TEE.read_text().splitlines()
    runs = parse_path(TEE).runs
    assert [(r.start_line, r.end_line) for r in runs] == [(1, 265), (266, len(lines))]
    assert lines[265].startswith("03/17 08:55:00 - mmengine - INFO -") and lines[267] == "System environment:"


def test_the_crashed_run_of_the_tee_file_lasted_36m_45s_not_11_hours():
    run = parse_path(TEE).runs[0]
    s = summarize(run)
    assert s.wall_seconds == 36 * 60 + 45  # 21:40:00 (header) to 22:16:45 (its last train line)
    assert s.started_at.endswith("T21:40:00") and s.ended_at.endswith("T22:16:45")


def test_started_at_ended_at_and_wall_seconds_describe_one_span_in_the_json_report():
    p = subprocess.run([sys.executable, "-m", "dashboard", "report", str(TEE), "--json"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    runs = json.loads(p.stdout)["runs"]
    assert len(runs) == 2
    for r in runs:
        assert r["wall_seconds"] == _seconds(r["ended_at"]) - _seconds(r["started_at"])
    assert runs[0]["wall_seconds"] == 2205


def test_a_log_of_validation_lines_only_has_a_span_too():
    text = ("2023/02/05 14:51:06 - mmengine - INFO - Epoch(val) [1][3/3]    accuracy/top1: 81.9\n"
            "2023/02/05 14:52:06 - mmengine - INFO - Epoch(val) [2][3/3]    accuracy/top1: 87.9\n")
    s = summarize(parse_bytes(text.encode()).runs[0])
    assert (s.started_at, s.ended_at, s.wall_seconds) == ("2023-02-05T14:51:06", "2023-02-05T14:52:06", 60.0)


def test_a_header_lead_line_not_followed_by_a_header_stays_in_its_run():
    text = ("2025/01/01 10:00:00 - mmengine - INFO - Iter(train) [10/100]  lr: 1.0000e-04  time: 1.0  loss: 1.0\n"
            "2025/01/01 10:00:10 - mmengine - INFO - \n"
            "------------------------------------------------------------\n"
            "some other message\n"
            "System environment:\n"
            "    sys.platform: linux\n")
    runs = parse_bytes(text.encode()).runs
    assert [(r.start_line, r.end_line) for r in runs] == [(1, 4), (5, 6)]
    assert runs[0].last_timestamp - runs[0].first_timestamp == 10
