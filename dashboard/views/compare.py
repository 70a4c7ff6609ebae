"""The Compare page's model: which metrics the chosen runs share, one frame per run for a metric, the table of
final and best values, the table of configuration differences, and short unique labels. No Streamlit here.

Labels and metric names can hold log text: they stay raw here (the table shows them in a dataframe, literally),
and ``figure`` makes every text of a chart literal for plotly (``text.escape_figure``), once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import numpy as np
import pandas as pd
from plotly.colors import qualitative

from dashboard.analysis import RunSummary
from dashboard.analysis.summary import LOWER_IS_BETTER
from dashboard.charts.figures import PALETTE, Figure, classify_key, compare_figure, group_keys, update_layout
from dashboard.charts.series import eval_frame, train_frame
from dashboard.views.formatting import fmt_duration
from dashboard.views.joined import folders_joined
from dashboard.views.review import Target, upload_title
from dashboard.views.text import escape_figure, one_line
from parsers import Run
from parsers.config_dump import read_config


def short_label(target: Target, upload_names: Sequence[str] | None = None, *, full: bool = False,
                folders: int | None = None) -> str:
    """A short name for legends and tables: the file's work_dir and name, or the upload's first file; a joined
    resumed run (``target.combine``): its work_dir and how many timestamped ``folders`` it joins. ``full``: the
    whole path under the root (when the short names of two runs are the same)."""
    if target.kind == "upload":
        base = "upload " + (upload_title(list(upload_names)) if upload_names else target.id[:8])
    else:
        parts = target.id.split("/")[1:] or [target.id]
        if target.combine and len(parts) > 2:
            parts = parts[:-2]  # <work_dir>/<YYYYMMDD_HHMMSS>/<log>: the work_dir names the joined run
        base = parts[0] if len(parts) == 1 else (
            "/".join(parts) if len(parts) == 2 or full else f"{parts[0]}/…/{parts[-1]}")
        if target.combine:
            return f"{base} · {folders_joined(folders)}"
    return base if target.index is None else f"{base} #{target.index}"


def run_labels(targets: Sequence[tuple[Target, Sequence[str] | None]], max_chars: int = 60,
               folders: Sequence[int | None] | None = None) -> list[str]:
    """Unique one-line labels of the compared runs: ``short_label``, the whole path for runs whose short labels
    are the same (``exp1/…/x.log`` and ``exp2/…/x.log``), then numbered if still the same. ``folders``: per run,
    how many timestamped folders a joined resumed run joins."""
    counts = list(folders) if folders is not None else [None] * len(targets)
    short = [one_line(short_label(t, names, folders=n), max_chars) for (t, names), n in zip(targets, counts)]
    labels = [one_line(short_label(t, names, full=True, folders=n), max_chars) if short.count(s) > 1 else s
              for (t, names), s, n in zip(targets, short, counts)]
    return unique_labels(labels)


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


#: Points a chart holds in all (a trace of each run gets its share, at least ``MIN_TRACE_POINTS``, at most
#: ``MAX_TRACE_POINTS``): two runs keep full detail, forty stay light for the browser.
CHART_POINTS = 16_000
MAX_TRACE_POINTS = 4000
MIN_TRACE_POINTS = 400
#: More runs than this: the legend is a column beside the chart (it scrolls), not rows above it, and the page draws
#: one chart a row.
MANY_RUNS = 6
#: Runs named in a chart's "no <metric> in: ..." note; beyond, it counts them.
MAX_MISSING_NAMED = 3
#: Colours of the runs when there are more than the charts' palette holds (it repeats after 10).
MANY_COLORS = tuple(qualitative.Dark24) + tuple(qualitative.Light24)


def points_per_trace(runs: int) -> int:
    """The most points one trace of a compare chart of ``runs`` runs holds (raw and smoothed: two per run)."""
    return max(MIN_TRACE_POINTS, min(MAX_TRACE_POINTS, CHART_POINTS // max(1, 2 * runs)))


def figure(frames: Sequence[tuple[str, pd.DataFrame]], key: str, *, align: str = "iter", smoothing: float = 0.6,
           log_y: bool = False, uirevision: str | None = None) -> Figure:
    """The chart of one metric: ``frames`` are ``(raw run label, metric_frame)``, ``key`` the raw metric name (also
    the title); every text of the figure is made literal for plotly (``text.escape_figure``). Each trace holds at
    most ``points_per_trace(len(frames))`` points (MinMaxLTTB); more runs than the palette holds get
    ``MANY_COLORS``."""
    fig = compare_figure(frames, key, align=align, smoothing=smoothing, log_y=log_y,  # type: ignore[arg-type]
                         title=key, uirevision=uirevision or f"compare-{key}",
                         max_points=points_per_trace(len(frames)))
    layout = fig["layout"]
    missing = list((layout.get("meta") or {}).get("missing", []))
    if len(missing) > MAX_MISSING_NAMED:
        for note in layout.get("annotations") or ():
            if str(note.get("text")).startswith(f"no {key} in: "):
                note["text"] = f"no {key} in {len(missing)} of the {len(frames)} runs"
    if len(frames) > MANY_RUNS:
        update_layout(fig, legend={"orientation": "v", "x": 1.01, "xanchor": "left", "y": 1, "yanchor": "top",
                                   "font": {"size": 10}})
    if len(frames) > len(PALETTE):
        for trace in fig["data"]:
            group = str(trace.get("legendgroup") or "")
            if group.startswith("run-") and group[4:].isdigit() and trace.get("mode") == "lines":
                trace.setdefault("line", {})["color"] = MANY_COLORS[int(group[4:]) % len(MANY_COLORS)]
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


def compare_table(items: Sequence[tuple[str, Run, RunSummary]], metrics: Sequence[str], *,
                  statuses: Sequence[str] | None = None,
                  locks: Sequence[AbstractContextManager] | None = None) -> pd.DataFrame:
    """One row per run: status, N, s/iter (median), samples/s (recent), final and best of each metric, wall time.

    ``statuses`` replace the summaries' (a live run's running/stalled); ``locks`` are held, one at a time, while
    a run's records are read (a run that grows)."""
    rows = []
    for k, (label, run, s) in enumerate(items):
        row: dict[str, Any] = {
            "run": label, "status": statuses[k] if statuses is not None else s.status, "N": s.max_iters,
            "last iter": s.last_iter, "s/iter": s.median_iter_seconds, "samples/s": s.samples_per_second,
        }
        with locks[k] if locks is not None else nullcontext():
            values = [final_and_best(run, s, m) for m in metrics]
        for m, (final, best) in zip(metrics, values):
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


# ------------------------------------------------------------------------------------- configuration diff

#: A key one run's config dump does not set (a cell of the configuration differences).
NOT_SET = "(not set)"
#: A value the config reader could not work out (a name the dump does not bind, a call other than dict/range).
NOT_READ = "(not read)"
#: Characters shown of one value.
MAX_VALUE_CHARS = 200
_SCALARS = (str, int, float, bool, type(None))
_DIGITS = re.compile(r"([0-9]+)")


def _value_text(value: object) -> str:
    """A config value written as the dump writes it (Python literals: ``'SGD'``, ``None``, ``[400, 550]``)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, _SCALARS):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "dict(" + ", ".join(f"{k}={_value_text(v)}" for k, v in value.items()) + ")"
    return NOT_READ  # config_dump's marker of a value it could not evaluate


def _flatten(value: object, key: str, out: dict[str, str]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(v, f"{key}.{k}" if key else str(k), out)
    elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):  # a list of dicts (pipelines, hooks, schedulers): one key per item
            _flatten(v, f"{key}[{i}]", out)
    else:
        out[key] = _value_text(value)


def _natural(key: str) -> list[tuple[int, int | str]]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in _DIGITS.split(key) if p]


def config_items(config_text: str | None) -> dict[str, str] | None:
    """The settings of a config dump, nested keys dotted (``optim_wrapper.optimizer.lr``; the items of a list of
    dicts indexed: ``param_scheduler[1].milestones``) -> the value as text, in the dump's order. Raw text:
    callers show it through ``text.one_line``. None when the run has no config dump."""
    if not config_text:
        return None
    out: dict[str, str] = {}
    _flatten(read_config(config_text), "", out)
    return out


def config_diff(items: Sequence[tuple[str, str | None]]) -> tuple[pd.DataFrame, list[str]]:
    """The configuration differences of runs ``(label, config dump text or None)``: one row per key whose value is
    not the same in every run that has a dump (a key one of them does not set counts), first column ``key``, then
    one column per run, cells ``one_line`` text (``NOT_SET`` where a run does not set the key). Runs without a
    config dump are left out; their labels are returned. Keys sorted as MMEngine sorts its dumps (by name; list
    indices by number)."""
    configs: list[tuple[str, dict[str, str]]] = []
    without: list[str] = []
    for label, text in items:
        found = config_items(text)
        if found is None:
            without.append(label)
        else:
            configs.append((label, found))
    labels = unique_labels(["key", *(label for label, _ in configs)])[1:]
    keys: dict[str, None] = {}
    for _, found in configs:
        keys.update(dict.fromkeys(found))
    rows = []
    if len(configs) >= 2:
        for key in sorted(keys, key=_natural):
            values = [found.get(key, NOT_SET) for _, found in configs]
            if len(set(values)) > 1:
                rows.append([one_line(key, MAX_VALUE_CHARS),
                             *(one_line(v, MAX_VALUE_CHARS) for v in values)])
    return pd.DataFrame(rows, columns=["key", *labels], dtype=object), without
