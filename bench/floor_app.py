"""The floor of the page benchmarks: what Streamlit and plotly cost by themselves (issue 12).

A bare Streamlit page with one ``st.plotly_chart`` of 400 points and nothing else, served by the same Streamlit
as the dashboard (``streamlit run bench/floor_app.py``; ``bench_dashboard.py floor`` starts it beside the app and
times both in fresh browser contexts, round by round).
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

x = np.arange(1, 401) * 10
y = 2.0 / (1 + 0.01 * np.arange(400)) + 0.05 * np.sin(np.arange(400) / 7)
st.plotly_chart(go.Figure(go.Scatter(x=x, y=y, mode="lines", name="loss")))
