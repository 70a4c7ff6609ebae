"""Shared fixtures: where the real-log corpus and the sample logs are, and hypothesis profiles."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from parsers import train_kernel

ROOT = Path(__file__).resolve().parents[1]

# The summary cache of the dashboard goes to a folder of this test session, never the user's ~/.cache/mmdash.
os.environ.setdefault("MMDASH_CACHE_DIR", tempfile.mkdtemp(prefix="mmdash-test-cache-"))
SHARED_LOGS = ROOT.parent / "shared" / "real_logs"
SAMPLE_LOGS = ROOT / "sample_logs"
ARTIFACTS = ROOT / "test-artifacts"

# The machines are shared and noisy: no per-example deadline, fixed example counts.
settings.register_profile("ci", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None, max_examples=30, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# Load the parser's compiled scanner now (compiling it the first time on a machine), so that every
# test that feeds a run of train lines goes through it, not only those after the 50,000th line.
train_kernel.warm_up()


def corpus_files() -> list[Path]:
    if not SHARED_LOGS.is_dir():
        return []
    return sorted(p for p in SHARED_LOGS.iterdir() if p.suffix in (".log", ".json"))


def sample_log_files() -> list[Path]:
    return sorted(p for p in SAMPLE_LOGS.rglob("*") if p.is_file() and p.suffix in (".log", ".json"))


NO_CORPUS = "../shared/real_logs is absent (a machine outside this workplace): corpus tests cannot run"


def corpus_params() -> list:
    files = corpus_files()
    if not files:
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_CORPUS), id="no-corpus")]
    return [pytest.param(p, id=p.name) for p in files]


def pytest_report_header(config):
    n = len(corpus_files())
    return f"real-log corpus: {n} files in {SHARED_LOGS}" if n else f"real-log corpus: ABSENT ({NO_CORPUS})"


#: The watcher's two ways of noticing changes: the watcher and rotation tests run in both.
WATCH_MODES = ("inotify", "poll")


@pytest.fixture(params=WATCH_MODES)
def mode(request):
    """Each watch mode in turn."""
    return request.param


@pytest.fixture
def root(tmp_path):
    """An empty log root folder, ``logs`` (test files that need another root define their own)."""
    r = tmp_path / "logs"
    r.mkdir()
    return r
