"""Runs page: every run under the log roots, newest first, with status, progress, ETA and latest loss.

URL: ``filter`` (regular expression on the name, RE2 syntax: matched in linear time, ``runs_table.compile_filter``),
``twins=1`` (also list ``vis_data/scalars.json`` copies of a run that has its text log), ``live=0`` (pause the
refresh), ``combine=1`` (the timestamped folders of one work_dir that are a resumed run as one row:
``views.joined``). Clicking a row opens its run (the Run page, in this tab); the ``open`` column is a link (a new
tab with the browser's own gestures). Below the table: the log roots and watcher panel, and the alerts
(``dashboard.alerts``: active rules, channels without their secrets, delivery notes, the last alerts sent). The
table is drawn by one fragment that reruns
every ``runs_table.RUNS_INTERVAL`` seconds: a run that starts under a root appears by itself. Summaries come
from the shared cache (``AppState.run_summaries``, keyed on the watcher's versions).
"""

from __future__ import annotations

import os
import time

import streamlit as st

from dashboard.ui import common
from dashboard.ui import live as live_page
from dashboard.views import joined, run_model, runs_table, url_state
from dashboard.views.text import one_line

st.title("Runs")

state = common.app_state()
raw = common.query_dict()
query = url_state.read_runs_query(raw)

URL_KEY = "_runs_url"
# Opened, the URL changed outside the page (back button), or the widgets' state is gone (another page was shown).
if st.session_state.get(URL_KEY) != raw or "runs_filter" not in st.session_state:
    common.show_notices(query.notices)
    st.session_state["runs_filter"] = query.filter
    st.session_state["runs_twins"] = query.twins
    st.session_state["runs_live"] = query.live
    st.session_state["runs_combine"] = query.combine

c_filter, c_twins, c_combine, c_live = st.columns([4, 2, 2, 1], vertical_alignment="bottom")
pattern = c_filter.text_input("Filter by name (regular expression, RE2 syntax, case-insensitive)", key="runs_filter",
                              max_chars=url_state.MAX_FILTER_CHARS, placeholder="e.g. llm|det_.*resume")
twins = c_twins.toggle("Show scalars.json copies", key="runs_twins",
                       help="MMEngine writes each run twice: the text log and vis_data/scalars.json.")
combine = c_combine.toggle("Join resumed runs", key="runs_combine",
                           help="The timestamped folders of one work_dir whose later runs resumed the earlier ones "
                                "as one run (as `report --combine`).")
live = c_live.toggle("Live", key="runs_live", help="Refresh the table every few seconds.")

new_query = url_state.runs_page_query(url_state.RunsPageQuery(pattern, twins, live, [], combine))
common.set_query(new_query)
st.session_state[URL_KEY] = {k: [v] for k, v in new_query.items()}

regex, filter_notice = runs_table.compile_filter(pattern)
if filter_notice:
    st.warning("The filter is not used: every run is shown." if regex is None else
               "The filter is matched as plain text, not as a regular expression.")
    st.text(filter_notice)


DRAWN_KEY = "_runs_drawn_links"
CLICKS_KEY = "_runs_clicks"
OPEN_KEY = "_runs_open"  # the query of the run a click asked for, opened by the next full run


@st.fragment(run_every=runs_table.RUNS_INTERVAL if live else None)
def runs_list() -> None:
    now = time.time()
    base = common.base_path()  # links under the path prefix the app is served at (server.baseUrlPath)
    if live:
        live_page.heartbeat(live_page.beat_text(f"table every {runs_table.RUNS_INTERVAL:g} s;"))
    sources = state.watcher.sources()
    text_layouts = {(s.layout.work_dir, s.layout.timestamp) for s in sources
                    if s.layout is not None and s.layout.role == "text"}
    rows: list[dict[str, object]] = []
    liveness: dict[str, run_model.Liveness] = {}

    def live_of(src) -> run_model.Liveness:
        if src.id not in liveness:
            try:
                mtime: float | None = os.stat(src.path).st_mtime
            except OSError:
                mtime = None
            liveness[src.id] = run_model.liveness(discovered_at=src.discovered_at,
                                                  last_growth_at=src.last_growth_at, mtime=mtime)
        return liveness[src.id]

    shown = [src for src in sources if twins or not runs_table.is_scalars_twin(src.layout, text_layouts)]
    hidden = len(sources) - len(shown)
    in_groups: set[str] = set()
    if combine:  # a resumed run's folders: one row, the joined run (views.joined)
        for group in joined.groups(state, shown):
            found = joined.joined(state, group)
            if found is None:
                continue
            _, _, summary = found
            last = state.watcher.get(group[-1])
            lv = live_of(last) if last is not None else run_model.Liveness(False, None, "watcher")
            status, reason, _ = joined.status(summary, lv, now)
            row = runs_table.run_row(source_id=group[-1], run_index=0, run_count=1, summary=summary, status=status,
                                     reason=reason, last_update=lv.last_update, now=now)
            row.update(name=one_line(joined.group_name(group)), open=joined.run_href(group[-1], base))
            rows.append(row)
            in_groups.update(group)
    for src in shown:
        if src.id in in_groups:
            continue
        lv = live_of(src)
        summaries = state.run_summaries(src)
        if not summaries:
            rows.append(runs_table.waiting_row(src.id, lv.last_update, now, base=base))
            continue
        for i, (summary, gap) in enumerate(summaries):
            status, reason = run_model.live_status(summary.status, summary.status_reason, live=lv.live,
                                            is_last_run=i == len(summaries) - 1, now=now,
                                            last_update=lv.last_update, median_gap=gap)
            rows.append(runs_table.run_row(source_id=src.id, run_index=i, run_count=len(summaries), summary=summary,
                                   status=status, reason=reason, last_update=lv.last_update, now=now,
                                   base=base))
    table = runs_table.runs_table(rows, regex)
    counted = f"{len(table)} of {len(rows)} runs" if regex is not None else f"{len(rows)} runs"
    st.text(f"{counted} in {len(sources) - hidden} log files · {runs_table.status_counts(rows) or 'no runs yet'}"
            + (f" · {hidden} vis_data/scalars.json copies hidden" if hidden else ""))
    if not rows:
        st.info("No training logs were found under the log roots yet. This page updates by itself when a run "
                "starts.")
        return
    # Clicking a row opens its run. The rows the person clicked are the ones drawn last time (the table may have
    # moved since): their links are kept, and the table's key changes after a click, so that coming back to this
    # page finds no row selected.
    drawn = st.session_state.get(DRAWN_KEY, [])
    st.session_state[DRAWN_KEY] = list(table["open"])
    event = st.dataframe(
        table.style.map(runs_table.style_status, subset=["status"]),
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode=["single-row", "single-cell"],  # a click on any cell of a row, or on its checkbox
        key=f"runs_table_{st.session_state.get(CLICKS_KEY, 0)}",
        # Rows taller than 4rem let the grid wrap its text: a long name or status reason reads whole, not cut off.
        row_height=runs_table.ROW_HEIGHT,
        height=min(38 + runs_table.ROW_HEIGHT * max(len(table), 1), 720),
        column_config={
            "open": st.column_config.LinkColumn("open", display_text="open ↗", width="small"),
            "name": st.column_config.TextColumn("name", width="large"),
            "status": st.column_config.TextColumn("status", width="small"),
            "progress": st.column_config.ProgressColumn("progress", min_value=0.0, max_value=1.0, format="percent",
                                                        width="small"),
            "n/N": st.column_config.TextColumn("n/N", width="medium"),  # 1055830/1235000 fits
            "epoch": st.column_config.TextColumn("epoch", width="small"),
            "ETA": st.column_config.TextColumn("ETA", width="small"),
            "last update": st.column_config.TextColumn("last update", width="small"),
            "s/iter": st.column_config.TextColumn("s/iter", width="small"),
            "loss": st.column_config.TextColumn("loss", width="small"),
            "why": st.column_config.TextColumn("why (status reason)", width="large"),
        },
    )
    selection = event.selection if event is not None else None
    picked = list(selection.rows) if selection is not None else []
    # A cell of the "open" column is its link (a new tab): not a click on the row as well.
    picked += [row for row, column in (selection.cells if selection is not None else []) if column != "open"]
    if picked:
        st.session_state[CLICKS_KEY] = st.session_state.get(CLICKS_KEY, 0) + 1
        links = drawn or list(table["open"])
        if 0 <= picked[0] < len(links):
            # Opened by a full run of this page (below), not from inside the timed fragment: a page switch made in
            # a fragment's run raced the fragment's own next run, whose deltas then reached the new page
            # ("Bad delta path index" in the browser) and left the Run page blank (1 in 4 clicks, seen in CI).
            st.session_state[OPEN_KEY] = runs_table.link_query(str(links[picked[0]]))
            st.rerun(scope="app")
    st.caption("Click a row to open its run (the open ↗ link opens it in a new tab).")


opening = st.session_state.pop(OPEN_KEY, None)
if opening is not None:
    st.switch_page("dashboard/ui/pages/run.py", query_params=opening)
runs_list()
if live:  # a table whose refresh timer the browser lost is noticed and restarted (dashboard.ui.live)
    live_page.watchdog(max(10.0, 5 * runs_table.RUNS_INTERVAL))

with st.expander("Log roots and watcher"):
    lines = []
    for r in state.watcher.root_status():
        lines.append(f"{one_line(r.label)}: {one_line(r.path)} · {r.sources} logs · "
                     f"{'ok' if r.ok else one_line(r.message or 'problem')} · {r.mode}")
    lines.append("watching: " + one_line(state.watcher.mode_note, 600))
    if state.demo is not None:
        lines.append(f"live demo: {state.demo.source_id} (a sample log replayed into a temporary folder; "
                     "MMDASH_DEMO=0 turns it off)" + (f" · error: {state.demo.error}" if state.demo.error else ""))
    lines.append(f"configured by: {state.config.roots_from}")
    exposure = common.exposure_note()
    if exposure:
        lines.append(exposure)
    lines.extend(one_line(n, 300) for n in [*state.notes, *state.cache_notes, *state.watcher.notes][:50])
    if state.alerts is not None:  # channels shown as scheme://host only (dashboard.alerts.config.redact)
        lines.extend(state.alerts.status_lines())
    st.text("\n".join(lines))
    st.text("\n".join(f"{k}: {v}" for k, v in state.stats().items()))

if state.alerts is not None:
    with st.expander("Alerts: rules and the last alerts sent"):
        st.text("\n".join(state.alerts.status_lines()))
        sent = state.alerts.last_alerts()
        st.text("Last alerts (newest first):\n" + "\n".join(
            f"{a['time']} · {a['alert']} · {a['run']} · {a['delivery']}" for a in sent)
            if sent else "No alert sent since the server started.")
