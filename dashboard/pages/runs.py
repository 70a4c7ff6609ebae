"""Runs page: every log file under the configured roots, with format, runs, N and last iteration."""

import pandas as pd
import streamlit as st

from dashboard.pages import common
from dashboard.safe_text import one_line

st.title("Runs")

roots = common.configured_roots()
st.text("Log roots:\n" + "\n".join(
    f"  {one_line(r.label)}: {one_line(r.path)}" + ("" if r.exists else "  (missing)") for r in roots
))

files = common.list_logs(roots)
if not files:
    st.info("No log files (.log, .json) were found under the configured roots.")
    st.stop()

rows = []
for f in files:
    summary = common.file_summary(f.path, f.size, f.mtime_ns)
    rows.append({"name": one_line(f.id), **summary, "open": common.run_link(f.id)})
table = pd.DataFrame(rows, columns=["name", "format", "runs", "N", "last iter", "open"])
table["N"] = table["N"].astype("Int64")
table["last iter"] = table["last iter"].astype("Int64")

st.text(f"{len(files)} log files")
st.dataframe(
    table,
    hide_index=True,
    column_config={"open": st.column_config.LinkColumn("open", display_text="open")},
)
