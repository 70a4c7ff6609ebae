"""Real-browser tests (marked ``browser``): a real streamlit server driven by Debian's Chromium."""
