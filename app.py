"""MMDash entry point: ``streamlit run app.py [-- --logs DIR [DIR...]]``. Page setup and navigation only.

Where the logs come from (``dashboard.views.app_state.config_from``): ``--logs`` after Streamlit's ``--``, else
``MMDASH_ROOTS``, else the bundled ``sample_logs`` plus a live demo run replayed into a temporary folder
(``MMDASH_DEMO=0`` turns the demo off). One log watcher per process serves every browser session.

The pages are the scripts in ``dashboard/ui/pages/``, listed once in ``dashboard.views.url_state.PAGE_SPECS``.
A run is addressed by a query parameter (``/run?run=<root label>/<relative path>&r=<run in the file>``, or
``/run?upload=<id>``) because ``st.Page(url_path=...)`` cannot contain ``/``.

``streamlit run app.py`` imports this file and finds ``app``, an ``st.App`` (Streamlit's ASGI mode) with the
dashboard's server parts (``dashboard.ui.server``: the warm start, plotly.js with a cache lifetime); each browser
session then runs this file as its script (``__name__ == "__main__"``).

Sign-in (``[auth]`` in the Streamlit secrets, README Security) is checked before the navigation exists:
``dashboard.ui.common.require_sign_in`` stops the script with only a sign-in prompt (or a refusal) on every URL.
"""

from pathlib import Path

import streamlit as st

if __name__ == "__main__":  # a browser session's run of this script
    from dashboard.ui.common import require_sign_in
    from dashboard.views.url_state import PAGE_SPECS

    PAGES_DIR = Path(__file__).resolve().parent / "dashboard" / "ui" / "pages"

    st.set_page_config(page_title="MMDash", layout="wide")
    require_sign_in()  # with sign-in configured, nothing below runs (no page, no run name) until a user is let in
    st.navigation([st.Page(PAGES_DIR / p.script, title=p.title, icon=p.icon, url_path=p.path, default=p.default)
                   for p in PAGE_SPECS]).run()
else:  # imported by ``streamlit run app.py``: the server, with its warm start and plotly.js route
    from dashboard.ui import server

    app = st.App(__file__, lifespan=server.lifespan, routes=server.routes())
