"""The self-contained HTML run report: one file that opens offline (from an e-mail, an issue tracker, a disk) with
the Run page's header tiles, banners, the charts (plotly, interactive, with epoch lines, resume marks and
checkpoint ticks), validation results, the iteration audit and its arithmetic, the epoch timeline, efficiency,
health and events. Pure (no Streamlit): ``python -m dashboard report --html OUT.html`` and the Run page's download.

Built from the one run model (``dashboard.views.run_model``: its rows, its chart plan and ``build_figure``) and the
Markdown report's sections (``dashboard.reports.markdown``: epoch timeline, efficiency and health lines).

Log text is inert: every text we write into the document goes through ``dashboard.views.text.html_text`` (the one
HTML escaper); every text of a chart was made literal by ``text.escape_figure`` when the figure was built, and
plotly writes the figure's JSON with ``<``, ``>`` and ``/`` as ``\\u`` escapes, so nothing in it can close its
``<script>``. The only scripts are plotly.js and plotly's own ``Plotly.newPlot`` calls.

plotly.js is embedded once per file (``plotly_js="inline"``): the one the dashboard's pages get
(``dashboard.charts.plotly_js.served``: plotly.js's basic bundle, 1.1 MB, when ``npm ci`` installed it, else the
plotly package's full bundle, 4.9 MB); or linked from plotly's CDN (``plotly_js="cdn"``: the full bundle at the
plotly package's version, a small file that needs the network to draw its charts).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dashboard.reports.markdown import MAX_REPORT_EVENTS, efficiency_lines, epoch_timeline, health_lines
from dashboard.views.formatting import UNKNOWN, fmt_clock, fmt_num, fmt_value
from dashboard.views.text import html_text

if TYPE_CHECKING:
    from dashboard.views.run_model import ChartSpec, ChartView, RunModel

PLOTLY_JS = ("inline", "cdn")

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem auto;max-width:1200px;
padding:0 1rem;color:#1f2328;line-height:1.4}
h1{font-size:1.5rem;word-break:break-all}h2{font-size:1.25rem;border-bottom:1px solid #d0d7de;padding-bottom:.3rem}
h3{font-size:1.05rem;margin-top:1.5rem}
.tiles{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.5rem}
.tile{border:1px solid #d0d7de;border-radius:6px;padding:.4rem .6rem}
.tile .label{font-size:.8rem;color:#57606a}.tile .value{font-size:1.2rem;font-weight:600}
.banner{border-radius:6px;padding:.5rem .8rem;margin:.5rem 0}
.banner.error{background:#ffebe9}.banner.warning{background:#fff8c5}.banner.info{background:#ddf4ff}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:.5rem;border-radius:6px;font-size:.85rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.chart{margin:.5rem 0}.note{color:#57606a;font-size:.85rem}
"""


def _e(text: object, *, line: bool = True) -> str:
    return html_text(str(text), line=line) if line else html_text(str(text))


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A table whose every cell is text (escaped here)."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


class _Charts:
    """The charts of one document: each figure's data and layout in a ``Plotly.newPlot`` call of its own, the plotly
    template (the same ~8 KB for every chart) written once for the whole document."""

    def __init__(self, file_title: str) -> None:
        from dashboard.reports.exports import download_name

        self.templates: list[str] = []
        self.config = {"displaylogo": False, "responsive": True,
                       "toImageButtonOptions": {"format": "png", "filename": download_name(file_title, "")}}

    def figure(self, fig, div_id: str) -> str:
        from plotly.io.json import to_json_plotly

        from dashboard.charts.figures import json_ready

        d = json_ready(fig)
        layout = dict(d.get("layout", {}))
        template = to_json_plotly(layout.pop("template", {}))  # plotly's JSON: <, > and / as \\u escapes
        if template not in self.templates:
            self.templates.append(template)
        height = int(layout.get("height") or 450)
        which = self.templates.index(template)
        call = (f"Plotly.newPlot({to_json_plotly(div_id)}, {to_json_plotly(d.get('data', []))}, "
                f"Object.assign({to_json_plotly(layout)}, {{template: MMDASH_TEMPLATES[{which}]}}), "
                f"{to_json_plotly(self.config)});")
        return (f'<div id="{html_text(div_id)}" class="plotly-graph-div" style="height:{height}px;width:100%"></div>'
                f"<script>{call}</script>")

    def templates_script(self) -> str:
        return f"<script>const MMDASH_TEMPLATES = [{', '.join(self.templates)}];</script>"


def default_plan(m: RunModel) -> list[ChartSpec]:
    """The charts a report shows when no one chose: the Run page's defaults."""
    from dashboard.views.run_model import chart_plan

    return chart_plan(m.metrics, m.metrics.train_default, m.metrics.eval_default)


def run_section(m: RunModel, number: int, charts: _Charts, *, plan: Sequence[ChartSpec] | None = None,
                view: ChartView | None = None, overrides=None) -> str:
    """One run of the report, as HTML. Reads the run (epoch timeline, setup with ``overrides``) under its lock."""
    from dashboard.analysis import setup_for
    from dashboard.views import run_model as rm

    s = m.summary
    status, reason = s.status, s.status_reason
    where = f" · run {m.run_index + 1} of {m.run_count}" if m.run_index is not None and m.run_count > 1 else ""
    out = [f'<section class="run" id="run-{number}">',
           f"<h2>{_e(rm.status_badge(status, s.first_nonfinite_iter))}{_e(where)}</h2>",
           f"<p>Status: {_e(status)}: {_e(reason, line=False)}</p>", '<div class="tiles">']
    out += [f'<div class="tile"><div class="label">{_e(i.label)}</div><div class="value">{_e(i.value)}</div></div>'
            for i in rm.header_items(s, status)]
    out.append("</div>")
    out.append(f"<p>{_e(rm.progress_text(s))}<br>{_e(rm.finish_text(s, status))}<br>{_e(rm.clock_text(s))}<br>"
               f"ETA method: {_e(s.eta_method)}</p>")
    for b in rm.banners(s, status, reason):
        detail = f"<pre>{_e(b.detail[-20_000:], line=False)}</pre>" if b.detail else ""
        out.append(f'<div class="banner {_e(b.level)}"><strong>{_e(b.title)}</strong>{detail}</div>')

    out.append("<h3>Charts</h3>")
    chart_plan = list(plan) if plan is not None else default_plan(m)
    view = view or rm.ChartView()
    if not chart_plan:
        out.append("<p>This run has no train records or metrics to plot.</p>")
    for k, spec in enumerate(chart_plan):
        fig = rm.build_figure(spec, m.frame, m.evals, view, epoch_ends=s.epoch_ends, resume_iters=m.resume_iters,
                              checkpoint_iters=m.checkpoint_iters)
        out.append(f'<div class="chart">{charts.figure(fig, f"chart-{number}-{k}")}</div>')
    if chart_plan:
        out.append(f'<p class="note">Dotted lines: epoch ends · dashed orange: resumes · green ticks: checkpoints. '
                   f"x axis: {_e(rm.X_AXIS_LABELS[view.x_axis])}; smoothing {view.smoothing:g} (losses, time, "
                   f"grad_norm, throughput); each trace holds at most {rm.MAX_POINTS:,} points (MinMaxLTTB). "
                   "Drag to zoom, double-click to reset; the camera button saves a PNG.</p>")

    if m.gpu is not None:
        out.append(_gpu_section(m, number, charts, view))

    if m.validation_rows:
        out.append("<h3>Validation</h3>")
        out.append(_table(["metric", "final", "best", "best at (epoch or iter)"],
                          [[r["metric"], fmt_num(r["final"], 4), fmt_num(r["best"], 4),
                            fmt_value(r["best at (epoch or iter)"])] for r in m.validation_rows]))

    with m.lock:
        setup, sources = setup_for(m.run, overrides)
        setup = rm.setup_rows(setup, {**m.run.header.sources, **sources})
        timeline = epoch_timeline(m.run, s)
    out.append("<h3>Iteration audit: why N is what it is</h3>")
    out.append(f"<p>{_e(s.audit.explanation, line=False)}</p>")
    if s.audit.arithmetic is not None and s.audit.arithmetic.formula:
        out.append(f"<p>Formula: {_e(s.audit.arithmetic.formula)}</p>")
    out.append(_table(["quantity", "value"], [[r["quantity"], r["value"]] for r in m.audit_rows]))
    out.append("<h3>Setup</h3>")
    out.append(_table(["input", "value", "from"], [[r["input"], r["value"], r["from"]] for r in setup]))

    out.append("<h3>Epoch timeline</h3>")
    out.append(_table(["epoch", "iterations", "started", "ended"],
                      [[e, f"{lo}–{hi}", fmt_clock(t0), fmt_clock(t1)] for e, lo, hi, t0, t1 in timeline])
               if timeline else "<p>No epochs: the log does not say how many iterations an epoch has.</p>")

    out.append("<h3>Efficiency</h3><ul>" + "".join(f"<li>{_e(x)}</li>" for x in efficiency_lines(s)) + "</ul>")
    out.append("<h3>Health</h3><ul>" + f"<li>Status: <strong>{_e(status)}</strong> — {_e(reason)}</li>"
               + "".join(f"<li>{_e(x)}</li>" for x in health_lines(s)) + "</ul>")
    for line, text in m.tracebacks:
        out.append(f"<p>{_e(f'Traceback at line {line}:' if line else 'Traceback:')}</p>"
                   f"<pre>{_e(text[-20_000:], line=False)}</pre>")

    out.append("<h3>Events</h3>")
    events = m.events[-MAX_REPORT_EVENTS:]
    caption = rm.events_caption(m)
    if len(events) < len(m.events):
        caption += f"; this report lists the last {len(events):,}"
    out.append(f"<p>{_e(caption)}</p>")
    if events:
        out.append(_table(["line", "time (log clock)", "kind", "iter", "text"],
                          [[UNKNOWN if r["line"] is None else r["line"], r["time (log clock)"] or UNKNOWN, r["kind"],
                            UNKNOWN if r["iter"] is None else r["iter"], r["text"]] for r in events]))
    if m.unparsed_count:
        out.append(f"<p>{m.unparsed_count:,} line(s) not understood; the first ones:</p>")
        out.append(f"<pre>{_e(chr(10).join(f'{n}: {t}' for n, t in m.unparsed_examples), line=False)}</pre>")
    out.append("</section>")
    return "\n".join(out)


def _gpu_section(m: RunModel, number: int, charts: _Charts, view: ChartView) -> str:
    """The run's GPU log (``views.gpu_view``): coverage, tiles, banners, the per-GPU table, notes and charts."""
    from dashboard.views import gpu_view

    g = m.gpu
    assert g is not None
    out = ["<h3>GPUs</h3>", f"<p>{_e(gpu_view.coverage_text(g), line=False)}</p>"]
    if g.tiles:
        out.append('<div class="tiles">' + "".join(
            f'<div class="tile"><div class="label">{_e(t.label)}</div><div class="value">{_e(t.value)}</div></div>'
            for t in g.tiles) + "</div>")
    out += [f'<div class="banner {_e(b.level)}"><strong>{_e(b.title)}</strong></div>' for b in g.banners]
    if g.rows:
        keys = list(g.rows[0])
        out.append(_table(keys, [[fmt_num(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
                                  else (UNKNOWN if v is None else v) for v in r.values()] for r in g.rows]))
    out += [f"<p>Note: {_e(n)}</p>" for n in g.notes]
    if len(g.table):
        for k, fig in gpu_view.figures(g, m, view).items():
            out.append(f'<div class="chart">{charts.figure(fig, f"chart-{number}-gpu-{k}")}</div>')
    return "\n".join(out)


def _plotly_js(plotly_js: str) -> str:
    """plotly.js, once per file: embedded (``inline``: the pages' bundle, ``charts.plotly_js.served``) or linked from
    plotly's CDN at the plotly package's version (``cdn``)."""
    from plotly.offline import get_plotlyjs_version

    from dashboard.charts.plotly_js import served

    if plotly_js == "cdn":
        return f'<script charset="utf-8" src="https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js"></script>'
    # "</script" cannot occur inside plotly.js's minified source as shipped; guard anyway: it would end the tag.
    js = served().path.read_text(encoding="utf-8").replace("</script", "<\\/script")
    return f'<script type="text/javascript">{js}</script>'


def html_report(title: str, models: Sequence[RunModel], *, plotly_js: str = "inline",
                plan: Sequence[ChartSpec] | None = None, view: ChartView | None = None, overrides=None,
                generated_at: float | None = None) -> str:
    """The report of ``models`` (the runs of one log, upload or experiment) as one HTML document.

    ``plan`` and ``view`` are the charts and chart settings (default: the Run page's defaults, per run);
    ``overrides`` the setup a person gave (the setup table shows it, as the audit used it).
    """
    if plotly_js not in PLOTLY_JS:
        raise ValueError(f"plotly_js must be one of {', '.join(PLOTLY_JS)}")
    when = _dt.datetime.fromtimestamp(generated_at, _dt.timezone.utc) if generated_at is not None else \
        _dt.datetime.now(_dt.timezone.utc)
    charts = _Charts(title)
    body = [run_section(m, k, charts, plan=plan, view=view, overrides=overrides) for k, m in enumerate(models)]
    if not models:
        body = ["<p>No training run was found in this log.</p>"]
    head = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>MMDash run report: {_e(title)}</title>", f"<style>{_STYLE}</style>",
        _plotly_js(plotly_js), charts.templates_script(),
        "</head>", "<body>",
        f"<h1>Run report: {_e(title)}</h1>",
        f'<p class="note">Made by MMDash on {when:%Y-%m-%d %H:%M} UTC from the log as it was then: '
        f"{len(models)} run(s). Times of the run are the log's clock.</p>",
    ]
    return "\n".join([*head, *body, "</body>", "</html>", ""])
