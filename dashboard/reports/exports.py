"""Downloads of a run: its records as CSV / Parquet, and the Markdown run report. Pure (no Streamlit).

The records are the export table of ``parsers.export`` (the rows and columns of ``python -m parsers
export``, README "Command line"): empty in CSV / null in Parquet where the log had no value, ``nan`` /
``inf`` where the log wrote that.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dashboard.analysis import RunSummary
from dashboard.reports.markdown import markdown_report
from parsers import Run
from parsers.export import export_table

_NAME_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def records_csv(runs: Sequence[Run]) -> bytes:
    """The export table of ``runs`` as CSV bytes (UTF-8, header row, ``\\n`` line ends)."""
    return export_table(runs).csv_bytes()


def records_parquet(runs: Sequence[Run]) -> bytes:
    """The export table of ``runs`` as Parquet bytes."""
    return export_table(runs).parquet_bytes()


def report_markdown_bytes(label: str, runs: Sequence[Run], summaries: Sequence[RunSummary], gpu=None) -> bytes:
    """The Markdown run report (``dashboard.reports.markdown``) as UTF-8 bytes (``gpu``: a GPU section per run)."""
    return markdown_report(label, list(runs), list(summaries), gpu=gpu).encode("utf-8")


def download_name(label: str, suffix: str) -> str:
    """A file name for a download: ``label`` without its log extensions, made safe, plus ``suffix``.

    >>> download_name("work/20260314_090000.log.gz", ".records.csv")
    '20260314_090000.records.csv'
    """
    base = label.replace("\\", "/").rsplit("/", 1)[-1]
    for ext in (".gz", ".json", ".log", ".txt"):
        if base.lower().endswith(ext):
            base = base[: -len(ext)]
    base = _NAME_SAFE.sub("_", base).strip("._") or "run"
    return base[:100] + suffix
