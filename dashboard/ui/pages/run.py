"""Run page: one run, from a log under the log roots (live while it grows) or from an upload.

URL (``url_state.read_run_query``): ``run=<root label>/<relative path>`` or ``upload=<id>``, ``r`` (a run of the
file or upload), ``metric`` (repeated), ``smoothing``, ``x_axis``, ``x_range``, ``log_y``, ``live``, ``combine=1``
(the log joined with the earlier timestamped folders of its resumed run: ``views.joined``). This page
only opens the run and hands it to ``dashboard.ui.run_view.show_run``, which draws every run the same way.
"""

from __future__ import annotations

import os

import streamlit as st

from dashboard.ui import common
from dashboard.ui import live as live_page
from dashboard.ui.run_view import OpenedRun, show_run
from dashboard.views import joined, run_model
from dashboard.views.text import plain
from dashboard.views.url_state import read_run_query

st.title("Run")

state = common.app_state()
raw = common.query_dict()
query = read_run_query(raw)


def open_root(source_id: str) -> OpenedRun:
    found = state.lookup(source_id)
    if found.refusal is not None:
        common.refuse(source_id, found.refusal)
    if found.source is None:
        st.warning("Not found: no training log with this id is followed under the log roots (yet). This page opens "
                   "it by itself when it appears.")
        st.code(plain(source_id, 1000), language=None)
        st.text(plain(found.missing or "", 500))
        st.page_link("dashboard/ui/pages/runs.py", label="All runs", icon=":material/list:")
        state.watcher.refresh()

        @st.fragment(run_every=run_model.LIVE_INTERVAL)
        def wait_for_source() -> None:
            if state.lookup(source_id).source is not None:
                st.rerun()  # once: from nothing to a log (the watchdog covers the full run it starts)
            live_page.heartbeat(live_page.beat_text("waiting for the log:"))

        wait_for_source()
        live_page.watchdog(10.0)
        st.stop()
    src = found.source
    assert src is not None

    def liveness() -> run_model.Liveness:
        try:
            mtime: float | None = os.stat(src.path).st_mtime
        except OSError:
            mtime = None
        return run_model.liveness(discovered_at=src.discovered_at, last_growth_at=src.last_growth_at, mtime=mtime)

    def about() -> str:
        t = src.tailer
        return (f"source: {plain(src.id, 1000)}\nformat: {src.kind} · {src.size:,} bytes · read {t.offset:,} bytes "
                f"(each byte parsed once) · version {src.version} · restarts {t.restart_count}\n"
                f"watching: {plain(state.watcher.mode_note, 600)}")

    if query.combine:
        group = joined.group_of(state, src.id)
        if group is None:
            query.notices.append("combine=1 ignored: this log is not part of a resumed run (the timestamped folders "
                                 "of one work_dir whose later runs resumed the earlier ones)")
        else:
            def joined_about() -> str:
                return (f"{about()}\njoined: {len(group)} timestamped folders of one resumed run, in time order:\n"
                        + "\n".join(plain(g, 1000) for g in group))

            return OpenedRun(lambda index: joined.joined_model(state, group, src.kind), liveness, joined_about,
                             state.figure, extra_query={joined.URL_KEY: "1"}, compare_ref=joined.compare_ref(group))
    return OpenedRun(lambda index: state.run_model(src, index), liveness, about, state.figure)


def open_upload(upload_id: str) -> OpenedRun:
    rev, reason = common.open_upload(upload_id)
    if rev is None:
        common.show_notices(query.notices)
        st.error("This upload cannot be shown:")
        st.text(f"upload {plain(upload_id, 80)}: {plain(reason or '', 500)}")
        st.page_link("dashboard/ui/pages/upload.py", label="Upload a log", icon=":material/upload:")
        st.stop()
    assert rev is not None
    common.remember_upload(upload_id, rev.title)
    source = common.upload_source(upload_id, rev)

    def about() -> str:
        return (f"upload {upload_id}: {plain(rev.title, 300)}\nformat: {plain(rev.format, 200)} · "
                f"{len(rev.runs)} run(s) in {sum(f.used for f in rev.files)} reviewed file(s)\n"
                f"permalink: {common.app_url('run', source.query(None))}")

    return OpenedRun(lambda index: common.model_of(rev, index, source), None, about, state.figure)


if query.run:
    opened = open_root(query.run)
elif query.upload is not None:  # whatever it is: an id that names no upload gets the refusal and why
    opened = open_upload(query.upload)
else:
    common.show_notices(query.notices)
    st.info("No run selected: open one from the Runs page, or upload a log.")
    st.page_link("dashboard/ui/pages/runs.py", label="All runs", icon=":material/list:")
    st.page_link("dashboard/ui/pages/upload.py", label="Upload a log", icon=":material/upload:")
    st.stop()

show_run(opened, query, raw)
