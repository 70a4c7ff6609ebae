"""MMDash dashboard: run model, analysis, watcher, upload store, URL state (no Streamlit here).

The Streamlit pages live in ``dashboard/pages``; every other module imports no Streamlit and is
tested directly.
"""
