"""The GPU part of a run's view (Streamlit-free): tiles, per-GPU rows, banners, notes and charts of a GPU log
matched to a run (``dashboard.analysis.gpu``). The run model holds one ``GpuSection`` (``RunModel.gpu``); the Run
page, the Markdown report and ``report --json`` read it from there.

Text rules: ``file`` and ``notes`` can hold text of the files (a GPU name, a quoted bad line): pages show them with
``st.text`` / ``st.dataframe`` only. Tile labels and banner titles are our words and numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from dashboard.analysis import RunSummary
from dashboard.analysis.gpu import BUSY_UTIL, GpuBanner, GpuReport, gpu_report
from dashboard.views.formatting import UNKNOWN, fmt_memory, fmt_num
from parsers import Run
from parsers.gpu_csv import GpuTable


@dataclass(frozen=True)
class GpuInput:
    """A GPU log to match to a run: its name, its rows so far, the parser's notes, and its state (caches key on it)."""

    file: str
    table: GpuTable
    notes: tuple[str, ...] = ()
    fingerprint: tuple = ()


#: Height of a GPU chart (px); with the subtitle's lines above the plot (``run_model.finish_figure``).
GPU_CHART_HEIGHT = 340


@dataclass(frozen=True)
class GpuTile:
    label: str
    value: str


@dataclass
class GpuSection:
    """One GPU log matched to one run."""

    file: str  # the GPU log's name (as found or uploaded)
    table: GpuTable
    report: GpuReport
    fingerprint: tuple = ()  # the state of the GPU log this section shows
    tiles: list[GpuTile] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)

    @property
    def banners(self) -> list[GpuBanner]:
        return self.report.banners

    @property
    def notes(self) -> list[str]:
        return self.report.notes

    def as_dict(self) -> dict:
        """``report --json``'s ``gpu`` object (README "Command line")."""
        return {"file": self.file, **self.report.as_dict()}


TILE_HELP = {
    "GPU util (training)": "Mean utilization.gpu of the GPUs that worked, over the samples taken while the run "
                           "trained (validation, checkpoint saves and pauses left out).",
    "Peak GPU memory": "Highest memory.used of any GPU during the run (nvidia-smi: all processes on the GPU, "
                       "more than the log's 'memory', which is PyTorch's allocated peak on rank 0); each GPU's "
                       "peak and total are in the table under the GPU charts.",
    "GPU power (mean)": "Mean power.draw of all GPUs together during the run.",
    "GPU energy": "Energy of all GPUs during the run, from power.draw over time.",
    "kWh / 1,000 samples": "GPU energy / samples trained in the time the GPU log covers x 1,000.",
}


def _sum(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(sum(known)) if known else None


def build_section(table: GpuTable, file: str, run: Run, summary: RunSummary, *, file_notes: list[str] | None = None,
                  fingerprint: tuple = ()) -> GpuSection:
    """The section of ``run`` (call under the run's lock when it can grow)."""
    n = min(len(run.train.timestamps), len(run.train.iters))
    ts = np.asarray(run.train.timestamps, dtype=np.float64)[:n]
    its = np.asarray(run.train.iters, dtype=np.int64)[:n]
    spi = (summary.samples_per_second * summary.recent_iter_seconds
           if summary.samples_per_second and summary.recent_iter_seconds else None)
    aud = summary.audit
    rep = gpu_report(table, train_ts=ts, train_iters=its, run_from=run.first_timestamp, run_to=run.last_timestamp,
                     samples_per_iter=spi, data_time_share=summary.data_time_share,
                     fitting_world_sizes=list(aud.fitting_world_sizes) if not aud.iteration_based else None,
                     logged_max_iters=aud.logged_max_iters, file_notes=file_notes)
    return GpuSection(file, table, rep, fingerprint, tiles(rep), gpu_rows(rep))


def tiles(rep: GpuReport) -> list[GpuTile]:
    if not rep.gpus:
        return []
    utils = [s.mean_util_training for s in rep.gpus if s.mean_util_training is not None]
    busy = [u for u in utils if u >= BUSY_UTIL] or utils
    peak = max((s.peak_memory_mib for s in rep.gpus if s.peak_memory_mib is not None), default=None)
    util_text = UNKNOWN if not busy else f"{np.mean(busy):.0f} %" + (
        f" ({len(busy)} of {len(utils)})" if len(busy) != len(utils) else "")
    return [
        GpuTile("GPU util (training)", util_text),
        GpuTile("Peak GPU memory", fmt_memory(peak)),  # each GPU's peak and total: the rows
        GpuTile("GPU power (mean)", _unit(_sum([s.mean_power_w for s in rep.gpus]), "W")),
        GpuTile("GPU energy", _unit(rep.energy_kwh, "kWh")),
        GpuTile("kWh / 1,000 samples", _unit(rep.energy_kwh_per_1000_samples, "kWh")),
    ]


def _unit(v: float | None, unit: str) -> str:
    shown = fmt_num(v)
    return shown if shown == UNKNOWN else f"{shown} {unit}"


def gpu_rows(rep: GpuReport) -> list[dict]:
    """One row per GPU: index, name, utilization while training, peak and total memory, power, energy."""
    return [{"GPU": s.index, "name": s.name,
             "util while training %": None if s.mean_util_training is None else round(s.mean_util_training, 1),
             "peak memory MiB": s.peak_memory_mib, "memory total MiB": s.memory_total_mib,
             "mean power W": None if s.mean_power_w is None else round(s.mean_power_w, 1),
             "power limit W": s.power_limit_w,
             "energy kWh": None if s.energy_kwh is None else round(s.energy_kwh, 4), "samples": s.samples}
            for s in rep.gpus]


def figures(section: GpuSection, model, view, views: Mapping | None = None) -> dict:
    """The Run page's GPU charts for a ``RunModel`` and its ``ChartView`` (x axis and range, log y, outliers; per
    chart key ``views`` may give another: its log scale, hidden legend entries): one figure per reading, one trace
    per GPU, unzoomed on the run's extent (the run's charts' x range), downsampled as the run's charts
    (``run_model.MAX_POINTS`` points per trace at most, MinMaxLTTB of
    ``series.downsample_growing``: spikes kept), finished as the run's charts (``run_model.finish_figure``: outliers
    off the scale, subtitle, drag-zoom on x only, every text escaped once)."""
    from dashboard.charts.figures import update_layout, update_yaxes
    from dashboard.charts.gpu import gpu_figures
    from dashboard.charts.series import run_start_time
    from dashboard.views.run_model import MAX_POINTS, finish_figure, x_extent

    with model.lock:
        t0 = run_start_time(model.run)
    # Unzoomed, the GPU charts show the run's extent, as the run's charts above them (``run_model.x_extent``).
    extent = x_extent(model.frame, model.evals, view.x_axis, epoch_ends=model.summary.epoch_ends,
                      resume_iters=model.resume_iters, checkpoint_iters=model.checkpoint_iters)
    figs = gpu_figures(section.table, x_axis=view.x_axis, train=model.frame, t0=t0, x_range=view.x_range,
                       epoch_ends=model.summary.epoch_ends, max_points=MAX_POINTS, extent=extent)
    out = {}
    for key, fig in figs.items():
        v = replace((views or {}).get(key, view), smoothing=0.0)  # raw readings: no smoothing (the subtitle says so)
        if v.log_y:
            update_yaxes(fig, type="log")
        update_layout(fig, height=GPU_CHART_HEIGHT)
        out[key] = finish_figure(fig, v)
    return out


def chart_titles() -> dict[str, str]:
    """The GPU charts' keys and titles (``gpu:util``, ``gpu:memory``, ``gpu:power``: the chart tools' names)."""
    from dashboard.charts.gpu import GPU_CHARTS

    return {key: title for key, _reading, title, _col in GPU_CHARTS}


def rows_frame(section: GpuSection):
    import pandas as pd

    return pd.DataFrame(section.rows)


def coverage_text(section: GpuSection) -> str:
    """One line under the GPU charts: what file, how matched, what part of the run it covers."""
    r = section.report
    cov = "" if r.coverage is None else f" · covers {r.coverage:.0%} of the run"
    return f"GPU log: {section.file} · {len(section.table):,} rows, {len(section.table.gpus)} GPU(s){cov} · " \
           f"{r.alignment}"


def markdown_lines(section: GpuSection, escape) -> list[str]:
    """The report's GPU section (``escape``: the report's Markdown escaper for text of the files)."""
    out = ["", "### GPUs", "", escape(coverage_text(section)), ""]
    out += ["| " + " | ".join(t.label for t in section.tiles) + " |", "|" + "---|" * len(section.tiles),
            "| " + " | ".join(escape(t.value) for t in section.tiles) + " |"] if section.tiles else []
    if section.rows:
        keys = list(section.rows[0])
        out += ["", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        out += ["| " + " | ".join(escape(str(fmt_num(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
                                              else (v if v is not None else UNKNOWN))) for v in r.values()) + " |"
                for r in section.rows]
    for b in section.banners:
        out += ["", f"> **{b.title}**"]
    for n in section.notes:
        out += ["", f"- Note: {escape(n)}"]
    return out
