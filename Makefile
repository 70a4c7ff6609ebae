# The two commands a newcomer needs (see README):
#   make demo   install the runtime requirements (pip; npm ci when npm is there) and open the dashboard on sample_logs
#   make test   install test requirements (and Debian's Chromium for browser tests, npm ci), then run every test
PYTHON ?= python3

.PHONY: demo test lint install-test install-js

# package.json / package-lock.json: plotly.js's basic bundle for the charts (dashboard/charts/plotly_js.py).
# Without npm the charts get the plotly package's full plotly.js (4.9 MB instead of 1.1 MB), and say so.
install-js:
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --loglevel=error || \
		echo "npm ci failed: the charts use the plotly package's full plotly.js until it succeeds"; \
	else echo "npm not found: the charts use the plotly package's full plotly.js (4.9 MB), not the basic bundle (1.1 MB)"; fi

demo: install-js
	$(PYTHON) -m pip install -q -r requirements.txt
	$(PYTHON) -m streamlit run app.py

install-test: install-js
	$(PYTHON) -m pip install -q -r requirements-dev.txt
	@if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the browser tests"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
		else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; \
	fi

test: install-test
	$(PYTHON) -m ruff check .
	$(PYTHON) -m pytest

lint:
	$(PYTHON) -m ruff check .
