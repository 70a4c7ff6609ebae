# The two commands a newcomer needs (see README):
#   make demo   install the runtime requirements and open the dashboard on sample_logs
#   make test   install test requirements (and Debian's Chromium for browser tests), then run every test
PYTHON ?= python3

.PHONY: demo test lint install-test

demo:
	$(PYTHON) -m pip install -q -r requirements.txt
	$(PYTHON) -m streamlit run app.py

install-test:
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
