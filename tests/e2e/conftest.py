"""Real-browser harness: a real ``streamlit run app.py`` server and Debian's Chromium via Playwright.

- ``streamlit_server_factory`` (session): ``start(roots) -> StreamlitServer`` starts one server per
  distinct list of roots (``MMDASH_ROOTS``), waits for ``/_stcore/health`` to answer ``ok``
  (60 s; on failure the error carries the server's output), and stops every server at the end.
- ``e2e_roots`` (session): a temporary log root the tests control (a synthetic MMEngine log with
  known numbers, copies of two real logs when ``../shared/real_logs`` exists) and, *outside* the
  root, a secret file that traversal tests must never reveal.
- ``app_server`` (session): the server for ``e2e_roots``.
- ``chromium`` (session) and ``page`` (per test, fresh context): ``/usr/bin/chromium`` launched
  headless through Playwright's sync API. A missing Chromium FAILS the browser tests with a clear
  message (CI installs it: ``make install-test``); it never skips them.
- ``wait_app_ready(page)`` waits the way Streamlit's own ``e2e_playwright/conftest.py`` does
  (``stApp`` connected, ``data-test-script-state='notRunning'``, no ``stSkeleton``) and also for the
  ``stStatusWidget`` running indicator (``stStatusWidgetRunningIcon``) to go away; ``screenshot(page, name)`` saves
  ``test-artifacts/<name>.png`` (gitignored).

Every test under ``tests/e2e`` is marked ``browser``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, ROOT, SHARED_LOGS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
HEALTH_TIMEOUT_S = 60.0
READY_TIMEOUT_MS = 30_000
SECRET_MARKER = "MMDASH-E2E-SECRET-5f3a9c"

#: Real logs copied into the e2e root when the corpus is present: (file name, expected "n/N").
REAL_LOGS = (
    ("xtuner-internvl2-2b-qlora-ft-20240827.log", "2000/2000"),
    ("mmpretrain-camp-fruit30-resnet.log", "5443/5480"),
)
#: The synthetic log written into the e2e root: its id and its "n/N".
SYNTHETIC_ID = "e2e-logs/synthetic/20250101_000000.log"
SYNTHETIC_PROGRESS = "300/1000"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


# -------------------------------------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _health(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
            return r.status == 200 and r.read().decode(errors="replace").strip() == "ok"
    except (urllib.error.URLError, OSError, ValueError):
        return False


@dataclass
class StreamlitServer:
    """A ``streamlit run app.py`` subprocess bound to 127.0.0.1."""

    roots: tuple[str, ...]
    port: int
    proc: subprocess.Popen
    log_path: Path
    _log_file: object = field(repr=False, default=None)
    base: str = ""  # the path prefix (server.baseUrlPath) as "/mmdash", or ""

    @property
    def url(self) -> str:
        """The app's root, prefix included (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}{self.base}"

    def output(self, tail: int = 4000) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server output)"
        return text[-tail:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None


def start_streamlit(roots: Sequence[Path | str], extra_env: dict[str, str] | None = None,
                    timeout_s: float = HEALTH_TIMEOUT_S, base_url_path: str = "",
                    extra_args: Sequence[str] = (), port: int | None = None) -> StreamlitServer:
    """Start ``streamlit run app.py`` with ``MMDASH_ROOTS`` = ``roots`` (served under ``base_url_path``, e.g.
    ``mmdash``, when given) and wait until it is healthy."""
    ARTIFACTS.mkdir(exist_ok=True)
    port = port or free_port()
    log_path = ARTIFACTS / f"streamlit-{port}.log"
    env = {**os.environ, "MMDASH_ROOTS": os.pathsep.join(str(r) for r in roots), "PYTHONUNBUFFERED": "1",
           **(extra_env or {})}
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none",
        "--global.developmentMode", "false",
        "--server.baseUrlPath", base_url_path,
        *extra_args,
    ]
    log_file = open(log_path, "w")  # noqa: SIM115 - closed by StreamlitServer.stop
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    base = "".join(f"/{p}" for p in base_url_path.split("/") if p)
    server = StreamlitServer(tuple(str(r) for r in roots), port, proc, log_path, log_file, base)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if _health(server.url):
            return server
        time.sleep(0.25)
    exited = proc.poll()
    server.stop()
    state = f"exited with code {exited}" if exited is not None else f"not healthy after {timeout_s:.1f} s"
    raise RuntimeError(
        f"streamlit server on {server.url} {state} ({' '.join(cmd)}).\n"
        f"--- server output ({log_path}) ---\n{server.output()}"
    )


@pytest.fixture(scope="session")
def streamlit_server_factory() -> Iterator[Callable[[Sequence[Path | str]], StreamlitServer]]:
    """``start(roots)``: a healthy server for these roots (one per distinct roots list, reused)."""
    servers: dict[tuple[str, ...], StreamlitServer] = {}

    def start(roots: Sequence[Path | str]) -> StreamlitServer:
        key = tuple(str(r) for r in roots)
        server = servers.get(key)
        if server is None or server.proc.poll() is not None:
            server = servers[key] = start_streamlit(roots)
        return server

    yield start
    for server in servers.values():
        server.stop()


def synthetic_log(n_logged: int = 30, interval: int = 10, max_iters: int = 1000) -> str:
    """A small MMEngine text log (Iter(train) lines, a checkpoint) with known n/N and a loss series."""
    lines = ["2025/01/01 00:00:00 - mmengine - INFO - Checkpoints will be saved to /work_dirs/synthetic."]
    for k in range(1, n_logged + 1):
        it = k * interval
        secs = 5 * k
        stamp = f"2025/01/01 00:{secs // 60:02d}:{secs % 60:02d}"
        loss = 2.0 / (1 + 0.05 * k) + (0.3 if k == 17 else 0.0)
        lines.append(
            f"{stamp} - mmengine - INFO - Iter(train) [{it:4d}/{max_iters}]  lr: 1.0000e-04  eta: 1:00:00  "
            f"time: 0.5000  data_time: 0.0100  memory: 1234  loss: {loss:.4f}"
        )
        if it == 200:
            lines.append(f"{stamp} - mmengine - INFO - Saving checkpoint at 200 iterations")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class E2ERoots:
    root: Path  # the one allowed root (label "e2e-logs")
    outside: Path  # a directory next to it holding the secret
    real: tuple[tuple[str, str], ...]  # (source id, expected n/N) of the copied real logs


@pytest.fixture(scope="session")
def e2e_roots(tmp_path_factory: pytest.TempPathFactory) -> E2ERoots:
    base = tmp_path_factory.mktemp("e2e")
    root = base / "e2e-logs"
    (root / "synthetic").mkdir(parents=True)
    (root / "synthetic" / "20250101_000000.log").write_text(synthetic_log())
    real: list[tuple[str, str]] = []
    if SHARED_LOGS.is_dir():
        for name, progress in REAL_LOGS:
            src = SHARED_LOGS / name
            if src.is_file():
                shutil.copyfile(src, root / name)
                real.append((f"e2e-logs/{name}", progress))
    outside = base / "outside"
    outside.mkdir()
    (outside / "secret.log").write_text(f"{SECRET_MARKER}\n")
    # A symlink inside the root that points out of it must be refused too.
    (root / "escape.log").symlink_to(outside / "secret.log")
    return E2ERoots(root, outside, tuple(real))


@pytest.fixture(scope="session")
def app_server(streamlit_server_factory, e2e_roots: E2ERoots) -> StreamlitServer:
    return streamlit_server_factory([e2e_roots.root])


# ------------------------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (sync API). Missing Chromium is a failure, not a skip."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"{CHROMIUM} is missing: browser tests need Debian's Chromium "
            "(apt-get install chromium, or `make install-test`). Playwright's own browser download is not used.",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as e:  # pragma: no cover - requirements-dev installs it
        pytest.fail(f"playwright is not installed ({e}); pip install -r requirements-dev.txt", pytrace=False)
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    except Exception as e:
        pw.stop()
        pytest.fail(f"could not launch {CHROMIUM} through Playwright: {e}", pytrace=False)
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture
def page(chromium):
    """A fresh browser context and page per test (no shared cookies, storage or cache)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(READY_TIMEOUT_MS)
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture
def page_errors(page):
    """The JavaScript errors the page raises (a test asserts there are none)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def wait_app_ready(page, timeout_ms: int = READY_TIMEOUT_MS) -> None:
    """Block until the Streamlit app is connected and its script has finished running.

    Mirrors Streamlit's own e2e ``wait_for_app_run``: ``[data-testid='stApp']`` with
    ``data-test-connection-state='CONNECTED'`` and ``data-test-script-state='notRunning'``, then no
    ``stSkeleton`` placeholders; additionally the ``stStatusWidget`` "Running..." indicator must be
    gone. A short initial wait lets a just-triggered rerun start before we look.
    """
    page.wait_for_timeout(200)
    page.wait_for_selector("[data-testid='stApp']", state="attached", timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", state="attached",
                           timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", state="attached",
                           timeout=timeout_ms)
    # The "Running..." indicator inside stStatusWidget (Streamlit 1.67 frontend: stStatusWidgetRunningIcon).
    page.wait_for_selector("[data-testid='stStatusWidget'] [data-testid='stStatusWidgetRunningIcon']", state="detached",
                           timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while page.locator("[data-testid='stSkeleton']").count() and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    page.wait_for_timeout(150)


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG as ``test-artifacts/<name>.png`` and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
