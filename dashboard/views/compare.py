"""The Compare page's model: which metrics the chosen runs share, one frame per run for a metric, the table of
final and best values, and short unique labels. No Streamlit here.

Labels and metric names can hold log text: they stay raw here (the table shows them in a dataframe, literally),
and ``figure`` makes every text of a chart literal for plotly (``text.escape_figure``), once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.analysis import RunSummary
from dashboard.analysis.summary import LOWER_IS_BETTER
from dashboard.charts.figures import classify_key, compare_figure, group_keys
from dashboard.charts.series import eval_frame, train_frame
from dashboard.views.formatting import fmt_duration
from dashboard.views.review import Target, upload_title
from dashboard.views.text import escape_figure
from parsers import Run


def short_label(target: Target, upload_names: Sequence[str] | None = None) -> str:
    """A short name for legends and tables: the file's work_dir and name, or the upload's first file."""
    if target.kind == "upload":
        base = "upload " + (upload_title(list(upload_names)) if upload_names else target.id[:8])
    else:
        parts = target.id.split("/")[1:] or [target.id]
        base = parts[0] if len(parts) == 1 else (
            "/".join(parts) if len(parts) == 2 else f"{parts[0]}/…/{parts[-1]}")
    return base if target.index is None else f"{base} #{target.index}"


def unique_labels(labels: Sequence[str]) -> list[str]:
    out: list[str] = []
    for lab in labels:
        cand, k = lab, 2
        while cand in out:
            cand, k = f"{lab} ({k})", k + 1
        out.append(cand)
    return out


# --------------------------------------------------------------------------------------------- compare


def metric_options(runs: Sequence[Run]) -> list[str]:
    """Train fields (grouped like the run page's charts, ``loss`` first) then validation metrics."""
    fields: list[str] = []
    metrics: list[str] = []
    for run in runs:
        for name in run.train.field_names:
            if name not in fields:
                fields.append(name)
        for e in run.evals:
            for k in e.metrics:
                if k not in ("time", "data_time") and k not in metrics:
                    metrics.append(k)
    ordered = [k for group in group_keys(fields).values() for k in group]
    return ordered + [m for m in metrics if m not in fields]


def default_metric(options: Sequence[str]) -> str | None:
    if "loss" in options:
        return "loss"
    return next(iter(options), None)


def metric_frame(run: Run, key: str, iters_per_epoch: int | None = None) -> pd.DataFrame:
    """A frame ``charts.compare_figure`` can draw ``key`` from: the train frame for a train field (with
    ``iters_per_epoch``, the run's epoch length, its epoch axis exists for ``Iter(train)`` logs too), else the
    run's validation summaries with ``iter`` = the train iteration they followed, ``epoch_progress`` = their
    epoch (or the iteration / ``iters_per_epoch``) and ``relative_seconds`` from the run's start."""
    if key in run.train.field_names:
        return train_frame(run, iters_per_epoch)

    ev = eval_frame(run)
    col = ev.attrs.get("metrics", {}).get(key)
    if col is None or ev.empty:
        return pd.DataFrame({"iter": [], "epoch_progress": [], "relative_seconds": []})
    ev = ev[ev["mode"] == "val"] if (ev["mode"] == "val").any() else ev
    epochs = ev["epoch"].to_numpy(dtype=np.float64)
    if iters_per_epoch:
        unknown = ~np.isfinite(epochs)
        epochs[unknown] = ev["train_iter"].to_numpy(dtype=np.float64)[unknown] / iters_per_epoch
    return pd.DataFrame({
        "iter": ev["train_iter"].to_numpy(dtype=np.float64),
        "epoch_progress": epochs,
        "relative_seconds": ev["relative_seconds"].to_numpy(dtype=np.float64),
        key: ev[col].to_numpy(dtype=np.float64),
    })


def figure(frames: Sequence[tuple[str, pd.DataFrame]], key: str, *, align: str = "iter", smoothing: float = 0.6,
           log_y: bool = False, uirevision: str | None = None) -> go.Figure:
    """The chart of one metric: ``frames`` are ``(raw run label, metric_frame)``, ``key`` the raw metric name (also
    the title); every text of the figure is made literal for plotly (``text.escape_figure``)."""
    fig = compare_figure(frames, key, align=align, smoothing=smoothing, log_y=log_y,  # type: ignore[arg-type]
                         title=key, uirevision=uirevision or f"compare-{key}")
    return escape_figure(fig)


def lower_is_better(key: str) -> bool:
    low = key.lower()
    return any(t in low for t in LOWER_IS_BETTER)


def final_and_best(run: Run, summary: RunSummary | None, key: str) -> tuple[float | None, float | None]:
    """The last logged value of ``key`` and its best (min for losses, errors and times; max else).

    Train fields come from the records (the final value may be a logged NaN); validation metrics
    from the summary's ``final_metrics`` / ``best_metrics``. A learning rate has no "best".
    """
    if key in run.train.field_names:
        t = run.train
        col = np.frombuffer(t.column(key), dtype=np.float64, count=len(t))
        present = t.present(key)
        idx = np.flatnonzero(present)
        if not idx.size:
            return None, None
        final = float(col[idx[-1]])
        finite = col[np.isfinite(col)]
        if not finite.size or classify_key(key) == "lr":
            return final, None
        return final, float(finite.min() if lower_is_better(key) else finite.max())
    if summary is not None:
        best = summary.best_metrics.get(key, {}).get("value")
        return summary.final_metrics.get(key), best
    return None, None


def compare_table(items: Sequence[tuple[str, Run, RunSummary]], metrics: Sequence[str]) -> pd.DataFrame:
    """One row per run: status, N, s/iter (median), samples/s (recent), final and best of each metric, wall time."""
    rows = []
    for label, run, s in items:
        row: dict[str, Any] = {
            "run": label, "status": s.status, "N": s.max_iters, "last iter": s.last_iter,
            "s/iter": s.median_iter_seconds, "samples/s": s.samples_per_second,
        }
        for m in metrics:
            final, best = final_and_best(run, s, m)
            row[f"final {m}"] = final
            row[f"best {m}"] = best
        row["wall time"] = fmt_duration(s.wall_seconds)
        rows.append(row)
    cols = ["run", "status", "N", "last iter", "s/iter", "samples/s"]
    for m in metrics:
        cols += [f"final {m}", f"best {m}"]
    cols.append("wall time")
    frame = pd.DataFrame(rows, columns=cols)
    for c in ("N", "last iter"):
        frame[c] = frame[c].astype("Int64")
    for c in cols:
        if c.startswith(("final ", "best ")) or c in ("s/iter", "samples/s"):
            frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    return frame
