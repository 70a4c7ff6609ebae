"""MMDash entry point: ``streamlit run app.py [-- --logs DIR [DIR...]]``. Page setup and navigation only.

Where the logs come from (``dashboard.live.app_state.config_from``): ``--logs`` after Streamlit's ``--``, else
``MMDASH_ROOTS``, else the bundled ``sample_logs`` plus a live demo run replayed into a temporary folder
(``MMDASH_DEMO=0`` turns the demo off). One log watcher per process serves every browser session.

The pages live in ``dashboard/ui/pages/``; everything they compute comes from Streamlit-free modules
(``dashboard.live``, ``dashboard.views``, ``dashboard.charts``, ...).
A run is addressed by a query parameter (``/run?run=<root label>/<relative path>&r=<run in the file>``)
because ``st.Page(url_path=...)`` cannot contain ``/``.
"""

from pathlib import Path

import streamlit as st

PAGES_DIR = Path(__file__).resolve().parent / "dashboard" / "ui" / "pages"

st.set_page_config(page_title="MMDash", layout="wide")

pages = [
    st.Page(PAGES_DIR / "runs.py", title="Runs", icon=":material/list:", url_path="runs", default=True),
    st.Page(PAGES_DIR / "run.py", title="Run", icon=":material/monitoring:", url_path="run"),
    st.Page(PAGES_DIR / "upload.py", title="Upload", icon=":material/upload:", url_path="upload"),
    st.Page(PAGES_DIR / "compare.py", title="Compare", icon=":material/compare_arrows:", url_path="compare"),
    st.Page(PAGES_DIR / "calculator.py", title="Calculator", icon=":material/calculate:", url_path="calculator"),
]
st.navigation(pages).run()
