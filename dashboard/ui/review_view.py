"""Streamlit plumbing shared by the Upload, Compare and Calculator pages, and the review of a run.

Not a page (``app.py`` does not register it). ``render_review(review, ...)`` draws a parsed upload
or log (summary header, charts, validation, setup and audit, events, downloads) so any page can
reuse it, e.g. the run page for ``?upload=<id>``.

Rules kept here:
- Log text (file names, metric names, event text, messages that quote input) goes through
  ``st.text`` / ``st.code`` / ``st.dataframe`` only; Markdown is used for fixed prose only.
- Widgets get their values from the URL through ``seed`` (session state before the widget exists)
  and pages write the URL back with ``write_query``; a URL that changed from outside (a pasted link,
  the back button) re-seeds the widgets.
- The upload store and the parse cache are process-wide (``st.cache_resource``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from dashboard.analysis import RunSummary, summarize
from dashboard.charts.figures import eval_figure, group_keys, metric_figure
from dashboard.charts.series import eval_frame, field_columns, train_frame
from dashboard.live.roots import LogRoot, configured_roots
from dashboard.reports import exports
from dashboard.uploads.store import UploadStore
from dashboard.views import review as rv
from dashboard.views.text import one_line, plain
from dashboard.views.url_state import MAX_SMOOTHING, X_AXES, ViewState, to_query
from parsers import SizeLimitExceeded

PAGES_DIR = Path(__file__).resolve().parent / "pages"
SESSION_UPLOADS = "mmdash_session_uploads"
MAX_EVENT_ROWS = 500
MAX_TRACEBACKS = 5
MAX_KEYS_PER_CHART = 8
CHART_TITLES = {"loss": "Losses", "lr": "Learning rate", "time": "Time per iteration (s)", "memory": "Memory (MB)",
                "grad_norm": "Gradient norm", "throughput": "Throughput", "other": "Other fields"}


# ------------------------------------------------------------------------------------------ resources


def settings() -> rv.UploadSettings:
    return rv.upload_settings(server_max_mb=st.get_option("server.maxUploadSize"))


@st.cache_resource(show_spinner=False)
def _store_for(root: str, max_bytes: int, max_total_mb: int, max_age_days: float) -> UploadStore:
    s = rv.UploadSettings(Path(root), max_bytes // rv.MB, max_total_mb, max_age_days).store()
    s.enforce_retention()  # also when nobody uploads (the store applies it at every upload too)
    return s


def store(s: rv.UploadSettings | None = None) -> UploadStore:
    """The process-wide upload store for the current settings."""
    s = s or settings()
    return _store_for(str(s.root), s.max_bytes, s.max_total_mb, s.max_age_days)


@st.cache_resource(show_spinner=False)
def parse_cache() -> rv.ParseCache:
    return rv.ParseCache(max_entries=8)


def log_roots() -> list[LogRoot]:
    """The log roots the Runs page shows: the process-wide ``AppState``'s (``--logs``, ``MMDASH_ROOTS``, or
    sample_logs plus the live demo), else, without it, ``dashboard.live.roots.configured_roots()``."""
    try:
        from dashboard.ui import common

        return list(common.app_state().roots)
    except (ImportError, AttributeError):
        return configured_roots()


@st.cache_data(ttl=15, show_spinner=False, max_entries=8)
def _root_logs(key: tuple[tuple[str, str], ...]) -> list[rv.RootFile]:
    return rv.list_root_logs([LogRoot(label, path) for label, path in key])


def root_logs(roots: Sequence[LogRoot] | None = None) -> list[rv.RootFile]:
    roots = list(roots if roots is not None else log_roots())
    return _root_logs(tuple((r.label, r.path) for r in roots))


# ---------------------------------------------------------------------------------------------- URL


def query_dict() -> dict[str, list[str]]:
    return {k: st.query_params.get_all(k) for k in st.query_params}


def canonical(params: Mapping[str, str | Sequence[str]]) -> tuple:
    return tuple(sorted((k, (v,) if isinstance(v, str) else tuple(v)) for k, v in params.items()))


def write_query(params: Mapping[str, str | Sequence[str]], scope: str) -> None:
    """Make the URL say ``params`` (only when it differs) and remember it as this page's own URL."""
    if canonical(params) != canonical(query_dict()):
        st.query_params.from_dict({k: (v if isinstance(v, str) else list(v)) for k, v in params.items()})
    st.session_state[f"_url_{scope}"] = canonical(params)


def seed(scope: str, values: Mapping[str, Any]) -> bool:
    """Put URL-derived ``values`` into the widgets' session state when the URL is not the one this page
    wrote last (first visit, pasted link, back button) or a widget has no state yet. True if seeded."""
    own = st.session_state.get(f"_url_{scope}")
    if own == canonical(query_dict()) and all(k in st.session_state for k in values):
        return False
    for k, v in values.items():
        st.session_state[k] = v
    return True


def pop_run_index(raw: dict[str, list[str]]) -> tuple[int | None, str | None]:
    """Take ``r`` (the run index of ``?run=<id>&r=<k>`` / ``?upload=<id>&r=<k>``) out of ``raw``."""
    values = raw.pop("r", None)
    if not values:
        return None, None
    v = values[-1]
    if v.isascii() and v.isdigit() and len(v) <= 7:
        return int(v), None
    return None, f"URL parameter r={v[:40]!r} ignored: not a run number (0, 1, 2...)"


def show_notices(notices: Sequence[str]) -> None:
    if notices:
        st.warning("Some URL parameters were not understood and were ignored:")
        st.text("\n".join(plain(n, 500) for n in notices))


def page_link(page: str, label: str, query: Mapping[str, str | Sequence[str]] | None = None,
              icon: str | None = None) -> None:
    """``st.page_link`` to one of the app's pages; nothing when that page is not registered."""
    try:
        st.page_link(str(PAGES_DIR / f"{page}.py"), label=label, icon=icon,
                     query_params={k: (v if isinstance(v, str) else list(v)) for k, v in (query or {}).items()})
    except StreamlitAPIException:
        pass


# ------------------------------------------------------------------------------------------- opening


def remember_upload(upload_id: str, title: str) -> None:
    """Uploads this browser session has made or opened (offered on Compare and Calculator)."""
    known: dict[str, str] = st.session_state.setdefault(SESSION_UPLOADS, {})
    known[upload_id] = title


def session_uploads() -> dict[str, str]:
    return dict(st.session_state.get(SESSION_UPLOADS, {}))


def _progress_bar(text: str):
    bar = st.progress(0.0, text=text)

    def update(fraction: float, message: str) -> None:
        bar.progress(max(0.0, min(1.0, fraction)), text=message)

    return bar, update


def open_upload(upload_id: str, *, show_progress: bool = True) -> tuple[rv.Review | None, str | None]:
    """The review of a stored upload (parsed once per process), or ``(None, reason)``."""
    try:
        s = store()
    except OSError as e:
        return None, f"the upload store cannot be used ({type(e).__name__}: {e.strerror or e})"
    stored = s.get(upload_id)
    if stored is None:
        return None, ("there is no upload with this id on this server (a wrong link, or it was removed "
                      "by the retention limits)")
    s.pin(upload_id)
    try:
        try:
            s.touch(upload_id)  # best effort: it only dates the last opening for retention
        except OSError:  # UploadStore.touch races with itself (fixed temp name); see the report
            pass
        cache = parse_cache()
        key = ("upload", str(s.root), upload_id)
        found = cache.get(key)
        if found is not None:
            return found, None
        bar, update = _progress_bar("Parsing the upload…") if show_progress else (None, None)
        try:
            review = cache.get_or_compute(key, lambda: rv.review_upload(
                stored, max_bytes=s.max_bytes, progress=update))
        except SizeLimitExceeded:
            return None, f"a file of this upload expands to more than {s.max_bytes:,} bytes"
        except OSError as e:
            return None, f"the upload's files cannot be read ({type(e).__name__})"
        finally:
            if bar is not None:
                bar.empty()
        return review, None
    finally:
        s.unpin(upload_id)


def open_root_file(source_id: str, *, show_progress: bool = True) -> tuple[rv.Review | None, str | None]:
    """The review of a log under a configured root (parsed again when its size or mtime changes)."""
    rf, reason = rv.resolve_root_file(source_id, log_roots())
    if rf is None:
        return None, reason
    bar, update = _progress_bar("Parsing the log…") if show_progress else (None, None)
    try:
        return parse_cache().get_or_compute(("root", rf.path, rf.size, rf.mtime_ns),
                                            lambda: rv.review_root_file(rf, progress=update)), None
    except OSError as e:
        return None, f"the log cannot be read ({type(e).__name__})"
    finally:
        if bar is not None:
            bar.empty()


def open_target(target: rv.Target, *, show_progress: bool = True) -> tuple[rv.Review | None, str | None]:
    if target.kind == "upload":
        return open_upload(target.id, show_progress=show_progress)
    return open_root_file(target.id, show_progress=show_progress)


def summary_of(review: rv.Review, index: int | None) -> RunSummary | None:
    return review.summary(index, lambda run: summarize(run, path=review.title))


# --------------------------------------------------------------------------------------------- review


def _events_frame(run) -> pd.DataFrame:
    from dashboard.analysis.summary import iso

    rows = [{"kind": e.kind, "line": e.line_no or None, "time (log clock)": iso(e.timestamp),
             "text": one_line(e.text, 300)} for e in run.events[:MAX_EVENT_ROWS]]
    frame = pd.DataFrame(rows, columns=["kind", "line", "time (log clock)", "text"])
    frame["line"] = frame["line"].astype("Int64")
    return frame


def _marker_iters(run, *kinds: str) -> list[int]:
    return [int(e.data["iter"]) for e in run.events if e.kind in kinds and e.data.get("iter") is not None]


def render_header(review: rv.Review, run, s: RunSummary) -> None:
    """The numbers a reviewer looks at first."""
    n = "?" if s.last_iter is None else str(s.last_iter)
    big_n = "?" if s.max_iters is None else str(s.max_iters)
    updates = "/".join("?" if v is None else str(v) for v in (s.updates_done, s.optimizer_updates))
    tiles = (
        ("Status", s.status), ("Iterations (n/N)", f"{n}/{big_n}"),
        ("Epoch", "—" if s.current_epoch is None else f"{s.current_epoch}/{s.max_epochs or '?'}"),
        ("Wall time", rv.fmt_duration(s.wall_seconds)), ("s/iter (median)", rv.fmt_num(s.median_iter_seconds)),
        ("Samples/s", rv.fmt_num(s.samples_per_second)), ("Optimizer updates", updates),
        ("Progress", "?" if s.progress is None else f"{s.progress:.1%}"),
        ("Peak memory (MB)", rv.fmt_num(s.peak_memory_mb, 6)),
    )
    for row in range(0, len(tiles), 3):
        for col, (label, value) in zip(st.columns(3), tiles[row:row + 3]):
            col.metric(label, value)
    st.text("Status: " + one_line(s.status_reason, 500))
    lines = []
    if s.started_at:
        lines.append(f"Log clock: {s.started_at} → {s.ended_at} (compute {rv.fmt_duration(s.compute_seconds)}, "
                     f"pauses {rv.fmt_duration(s.gap_seconds)})")
    if s.status not in ("finished", "crashed") and s.eta_seconds is not None:
        lines.append(f"ETA {rv.fmt_duration(s.eta_seconds)} (finish {s.finish_at}); MMEngine's logged eta: "
                     f"{rv.fmt_duration(s.logged_eta_seconds)}")
    if s.first_nonfinite_iter is not None:
        lines.append(f"NaN/inf first at iteration {s.first_nonfinite_iter} in " + ", ".join(s.nonfinite_fields))
    if s.resumed_from_iter is not None:
        lines.append(f"Resumed from iteration {s.resumed_from_iter}")
    if lines:
        st.text(one_line("\n".join(lines), 2000).replace(" ⏎ ", "\n"))
    if s.error_text:
        st.code(plain(s.error_text, 20_000), language=None)


def chart_controls(view: ViewState, key: str, scope: str) -> tuple[float, str, bool]:
    """Smoothing, x axis and log-y widgets (the run page's URL keys); returns their values."""
    k_s, k_x, k_l = f"{key}_smoothing", f"{key}_x_axis", f"{key}_log_y"
    seed(scope, {k_s: float(view.smoothing), k_x: view.x_axis, k_l: bool(view.log_y)})
    c = st.columns([2, 2, 1])
    smoothing = c[0].slider("Smoothing (EMA weight)", 0.0, MAX_SMOOTHING, step=0.01, key=k_s)
    x_axis = c[1].radio("x axis", list(X_AXES), key=k_x, horizontal=True,
                        format_func=lambda a: {"iter": "iteration", "epoch": "epoch", "wall": "log clock",
                                              "relative": "time since start"}[a])
    log_y = c[2].checkbox("log y", key=k_l)
    return float(smoothing), str(x_axis), bool(log_y)


def render_charts(run, s: RunSummary, title: str, smoothing: float, x_axis: str, log_y: bool, key: str) -> None:
    frame = train_frame(run)
    png = exports.download_name(title, "")
    config = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": png}}
    if len(frame):
        groups = group_keys(field_columns(frame))
        # MMEngine's "resumed ... iter: i" where the log has it; else where a joined file continues.
        resume = _marker_iters(run, "resume") or _marker_iters(run, "restart")
        ckpt = _marker_iters(run, "checkpoint")
        for group, keys in groups.items():
            fig = metric_figure(frame, keys[:MAX_KEYS_PER_CHART], x_axis=x_axis, smoothing=smoothing, log_y=log_y,
                                epoch_ends=s.epoch_ends, resume_iters=resume, checkpoint_iters=ckpt,
                                title=CHART_TITLES.get(group, group), uirevision=f"{key}-{group}")
            for trace in fig.data:
                trace.name = rv.plot_label(str(trace.name))
            st.plotly_chart(fig, key=f"{key}_chart_{group}", config=config)
    else:
        st.info("This run has no train iterations to chart.")
    ev = eval_frame(run)
    metrics = [m for m in field_columns(ev) if not m.endswith("time")]
    if metrics:
        x = x_axis
        col = {"iter": "train_iter", "epoch": "epoch", "wall": "timestamp", "relative": "relative_seconds"}[x]
        if not ev[col].notna().any():
            x = "iter" if ev["train_iter"].notna().any() else "epoch"
        fig = eval_figure(ev, metrics[:MAX_KEYS_PER_CHART], x_axis=x, log_y=False, title="Validation / test",
                          uirevision=f"{key}-eval")
        for trace in fig.data:
            trace.name = rv.plot_label(str(trace.name))
        st.plotly_chart(fig, key=f"{key}_chart_eval", config=config)
    st.caption("PNG: use the camera button in a chart's toolbar (top right of the chart).")


def render_validation(s: RunSummary) -> None:
    if not s.final_metrics:
        return
    st.subheader("Validation")
    rows = [{"metric": one_line(k), "final": v, "best": s.best_metrics.get(k, {}).get("value"),
             "best at (epoch or iter)": s.best_metrics.get(k, {}).get("step")} for k, v in s.final_metrics.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def render_setup(s: RunSummary) -> None:
    st.subheader("Setup and iteration audit")
    rows = []
    for label, name, value in (("dataset size", "dataset_size", s.dataset_size),
                               ("world size (GPUs)", "world_size", s.world_size),
                               ("batch size per GPU", "batch_size", s.batch_size),
                               ("accumulative_counts", "accumulative_counts", s.accumulative_counts),
                               ("max_epochs", "epochs", s.max_epochs), ("sampler", "sampler", s.sampler)):
        rows.append({"input": label, "value": "?" if value is None else str(value),
                     "source": one_line(s.sources.get(name, "not in the log"))})
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    a = s.audit
    if a.arithmetic is not None and a.arithmetic.formula:
        st.code(a.arithmetic.formula, language=None, wrap_lines=True)
    verdict = {True: "consistent", False: "does NOT match the setup", None: "no verdict"}[a.consistent]
    with st.container(border=True):
        st.text(f"Logged N {rv.fmt_num(s.max_iters)} vs expected {rv.fmt_num(a.expected_max_iters)}: {verdict}.")
        st.text(a.explanation)


def render_events(run) -> None:
    st.subheader("Events")
    if run.events:
        st.dataframe(_events_frame(run), hide_index=True)
        if len(run.events) > MAX_EVENT_ROWS:
            st.text(f"(first {MAX_EVENT_ROWS} of {len(run.events)} events)")
    else:
        st.text("No events (checkpoints, resumes, warnings, errors) in this run.")
    tracebacks = run.events_of("traceback")
    for e in tracebacks[:MAX_TRACEBACKS]:
        st.text(f"Traceback at line {e.line_no}:")
        st.code(plain(e.text, 20_000), language=None)
    if run.unparsed.count:
        with st.expander(f"{run.unparsed.count} line(s) not understood"):
            st.code(plain("\n".join(f"{n}: {t}" for n, t in run.unparsed.examples), 20_000), language=None)


def render_downloads(title: str, run, s: RunSummary, key: str) -> None:
    st.subheader("Downloads")
    c = st.columns(3)
    c[0].download_button("Records (CSV)", data=lambda: exports.records_csv([run]),
                         file_name=exports.download_name(title, ".records.csv"), mime="text/csv",
                         key=f"{key}_csv", on_click="ignore")
    c[1].download_button("Records (Parquet)", data=lambda: exports.records_parquet([run]),
                         file_name=exports.download_name(title, ".records.parquet"),
                         mime="application/vnd.apache.parquet", key=f"{key}_parquet", on_click="ignore")
    c[2].download_button("Run report (Markdown)", data=lambda: exports.report_markdown_bytes(title, [run], [s]),
                         file_name=exports.download_name(title, ".report.md"), mime="text/markdown",
                         key=f"{key}_md", on_click="ignore")
    st.caption("Records: one row per train iteration and per validation/test result, the columns of "
               "`python -m parsers export`; a value the log wrote as nan stays nan, a missing one is empty.")


def render_files(review: rv.Review) -> None:
    if len(review.files) > 1 or review.note:
        rows = [{"file": one_line(f.name), "size (bytes)": f.size, "kind": f.kind, "use": f.note} for f in review.files]
        st.dataframe(pd.DataFrame(rows), hide_index=True)
    if review.note:
        st.info(review.note)  # fixed prose with counts only


JOINED = -1  # the selector's value for "all runs joined" (a None value would show as no selection)


def choose_run(review: rv.Review, index: int | None, key: str, scope: str) -> int | None:
    """A selector when the review has several runs; returns the chosen index (None = joined)."""
    choices = review.choices()
    if len(choices) <= 1:
        return None
    options = [JOINED if c[0] is None else c[0] for c in choices]
    labels = {o: one_line(c[1], 200) for o, c in zip(options, choices)}
    wanted = index if index in options else JOINED
    seed(scope, {f"{key}_run": wanted})
    if st.session_state.get(f"{key}_run") not in options:
        st.session_state[f"{key}_run"] = wanted
    picked = st.selectbox("Run", options, key=f"{key}_run", format_func=lambda i: labels.get(i, str(i)),
                          help="Several runs (a resumed run, several files): joined into one by default.")
    return None if picked in (JOINED, None) else int(picked)


def render_review(review: rv.Review, index: int | None, view: ViewState, *, key: str, scope: str,
                  links: Mapping[str, Mapping[str, str | Sequence[str]]] | None = None) -> tuple[float, str, bool]:
    """Draw a review of ``review.run(index)``; returns the chart settings (smoothing, x axis, log y).

    ``links`` maps a page (``calculator``, ``compare``) to the query parameters that open this run there.
    """
    run = review.run(index)
    if run is None:
        st.info("No training run was found in this upload.")
        return view.smoothing, view.x_axis, view.log_y
    s = summary_of(review, index)
    assert s is not None
    st.text(f"Format: {one_line(review.format)} · {len(review.runs)} run(s) in "
            f"{sum(f.used for f in review.files)} reviewed file(s)")
    render_header(review, run, s)
    if links:
        c = st.columns(len(links))
        for col, (page, query) in zip(c, links.items()):
            with col:
                page_link(page, {"calculator": "Open in the calculator", "compare": "Compare with other runs"}
                          .get(page, page), query)
    st.subheader("Charts")
    smoothing, x_axis, log_y = chart_controls(view, key, scope)
    render_charts(run, s, review.title, smoothing, x_axis, log_y, key)
    render_validation(s)
    render_setup(s)
    render_events(run)
    render_downloads(review.title, run, s, key)
    return smoothing, x_axis, log_y


def show_upload(upload_id: str, index: int | None, view: ViewState, *, key: str, scope: str,
                page: str = "upload") -> dict[str, str | list[str]]:
    """Everything shown for ``?upload=<id>`` (permalink, files, run chooser, review), for the Upload page
    and for any other page that opens uploads (e.g. the run page). Returns the query parameters the
    page should write (``write_query``): ``upload``, ``r`` and the chart settings.

    ``page`` is the url_path the permalink points to.
    """
    review, reason = open_upload(upload_id)
    if review is None:
        st.error("This upload cannot be shown:")
        st.text(f"upload {one_line(upload_id, 80)}: {reason}")
        return {"upload": upload_id}
    remember_upload(upload_id, review.title)
    st.text(f"Upload {upload_id}: {one_line(review.title, 200)}")
    st.caption("Permalink — anyone who can reach this server can open it:")
    st.code(rv.app_url(st.context.url, page, {"upload": upload_id}), language=None)
    render_files(review)
    if index is not None and not review.valid_index(index):
        st.warning(f"This upload has no run {index}; showing the default view.")
        index = None
    index = choose_run(review, index, key, scope)
    in_run = {} if index is None else {"r": str(index)}
    smoothing, x_axis, log_y = render_review(
        review, index, view, key=key, scope=scope,
        links={"calculator": {"upload": upload_id, **in_run},
               "compare": {"compare": [str(rv.Target("upload", upload_id, index))]}},
    )
    charts = to_query(ViewState(smoothing=smoothing, x_axis=x_axis, log_y=log_y))
    return {"upload": upload_id, **in_run, **charts}
