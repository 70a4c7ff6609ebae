"""MMDash dashboard, by layer (see the README's layout table):

- ``analysis/``: progress, ETA, epochs, audit, health (pure functions of a parsed run);
- ``live/``: log roots, discovery, tailer, watcher, demo replay, the process-wide state;
- ``uploads/``: the upload store;
- ``views/``: the Streamlit-free view models (run model, runs table, compare, calculator, URL state, text);
- ``charts/``: chart data and plotly figures;
- ``reports/``: Markdown report and record downloads;
- ``cli/``: ``python -m dashboard``;
- ``ui/``: the Streamlit pages and their shared components (the only Streamlit code besides ``app.py``).
"""
