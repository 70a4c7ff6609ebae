"""Alerts: rules checked against every followed run, sent once per run and event through Apprise (see
``engine``); the dashboard server and ``python -m dashboard watch`` run the same engine."""
