"""The Streamlit layer: ``pages/`` holds the page scripts ``app.py`` registers; the modules beside it are the
components the pages share. The only Streamlit code besides ``app.py``."""
