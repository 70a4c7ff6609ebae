"""View models: what each page (and report) shows, computed without Streamlit and tested directly.
The run model, the runs table, compare, calculator, URL state, and the one module each for writing numbers
(``formatting``) and for making log text safe to show (``text``)."""
