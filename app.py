"""MMDash entry point: ``streamlit run app.py``. Page setup and navigation only.

The pages live in ``dashboard/pages/``; everything they compute comes from Streamlit-free modules
(``parsers``, ``dashboard.series``, ``dashboard.charts``, ``dashboard.url_state``...).
A run is addressed by a query parameter (``/run?run=<root label>/<relative path>``) because
``st.Page(url_path=...)`` cannot contain ``/``.
"""

import streamlit as st

st.set_page_config(page_title="MMDash", layout="wide")

PAGES = [
    st.Page("dashboard/pages/runs.py", title="Runs", url_path="runs", default=True),
    st.Page("dashboard/pages/run.py", title="Run", url_path="run"),
]

st.navigation(PAGES).run()
