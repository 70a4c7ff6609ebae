"""``python -m dashboard``: report, tail, replay. Their output is a contract documented in the README."""

from dashboard.cli.main import main

__all__ = ["main"]
