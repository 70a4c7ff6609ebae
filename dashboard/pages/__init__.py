"""Streamlit pages (the only Streamlit code besides ``app.py``): thin views over Streamlit-free modules."""
