"""Benchmarks of the Runs and Run pages in a real browser (run by hand; numbers, never assertions).

    python bench/bench_dashboard.py                 # all three, ~4 min (generates the 1M-line log when missing)
    python bench/bench_dashboard.py big sessions    # some of them: big | sessions | many | floor | compare

Each section starts its own ``streamlit run app.py`` (``MMDASH_ROOTS`` = a folder under ``bench/out/``,
``MMDASH_DEMO=0``) and drives Debian's Chromium through Playwright:

- ``big``: a 1,000,000-line log (``tools/gen_logs``; its last run has ~390,000 train records). After the watcher
  has read and parsed the whole file (the Runs page's diagnostics say ``bytes fed to parsers`` = file size), the
  time from opening the run's URL in a fresh browser context to the first plotly trace drawn, with the run's
  model cold (summary, frames and figures built for that request) and warm (another session built it), plus the
  bytes the browser received over the WebSocket, and in-process: the JSON size and points of each chart.
- ``sessions``: a log replayed into the root while five browser sessions keep its run page open: how many bytes the
  tailer fed its parser (= file size: read and parsed once) and how many run models were built vs reused.
- ``many``: 500 runs under the root (490 finished, 10 growing): the Runs page drawn (the table and its
  ``500 runs`` line). On a new server with an empty summary cache (``MMDASH_CACHE_DIR`` under ``bench/out``):
  the first load (it starts the watcher: the scan, which reads and parses every log, is part of it), then fresh
  browsers once the watcher has scanned them. Then the server is restarted on the same logs and cache (once the
  first one wrote every summary to it: ``cache entries written`` = 500): the first load again (no log is read)
  and fresh browsers. In-process: the scan and the summaries, cold and from the cache, with counts.
- ``floor`` (issue 12): the Runs page over the same 500 runs against the floor, a bare Streamlit page with one
  ``st.plotly_chart`` of 400 points (``bench/floor_app.py``, its own server on the same Streamlit), side by side:
  round by round, each load in a fresh browser context (empty cache: Streamlit's JavaScript fetched again), the
  floor to its trace drawn and the Runs page to its table drawn (the ``500 runs`` line and the grid's canvas),
  once the watcher has scanned the logs; the ratio of the medians (and each round's ratio). Goal: <= 1.15.
- ``compare`` (issue 12, for information): the Compare page of 2 runs and 1 metric, and of 20 runs and 8 metrics,
  beside the floor, the same way (fresh contexts, round by round): until every chart has drawn its traces; with the
  bytes the browser received over the WebSocket.

Results: printed, and written to ``bench/out/dashboard_results.json``.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench" / "out"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
BIG_LINES = 1_000_000


# ------------------------------------------------------------------------------------------------- plumbing

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``streamlit run app.py`` on ``root``, started and waited for (its health endpoint); ``extra`` options are
    added to the command line (the soak turns Streamlit's file watcher off: the tree may change meanwhile)."""

    def __init__(self, root: Path, name: str, env: dict[str, str] | None = None, extra: tuple[str, ...] = (),
                 port: int | None = None, app_dir: Path | None = None) -> None:
        """``app_dir``: another checkout of the dashboard to serve (a baseline measured in the same run)."""
        self.app_dir = app_dir or ROOT
        env = {**os.environ, "MMDASH_ROOTS": str(root), "MMDASH_DEMO": "0", "PYTHONUNBUFFERED": "1",
               "MMDASH_CACHE_DIR": str(OUT / f"cache-{name}"), **(env or {})}
        self._start("app.py", name, env, extra, port)

    def _start(self, script: str, name: str, env: dict[str, str] | None, extra: tuple[str, ...] = (),
               port: int | None = None) -> None:
        """``streamlit run script`` on ``port`` (default: a free one), then wait for its health endpoint."""
        self.port = port or free_port()
        # Under --server.baseUrlPath every route, the health endpoint too, is under the prefix (``self.url`` is not).
        self.prefix = "/" + extra[extra.index("--server.baseUrlPath") + 1].strip("/") \
            if "--server.baseUrlPath" in extra else ""
        self._spawn([sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true", "--server.port",
                     str(self.port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *extra],
                    name, env, self.prefix + "/_stcore/health", b"ok")

    def _spawn(self, cmd: list[str], name: str, env: dict[str, str] | None, health: str, expect: bytes | None) -> None:
        """Start ``cmd`` (output to ``bench/out/bench-streamlit-<name>.log``), then poll ``url + health`` every
        50 ms (90 s at most) until it answers (``expect``: its body, stripped)."""
        self.log = OUT / f"bench-streamlit-{name}.log"
        self.proc = subprocess.Popen(cmd, cwd=getattr(self, "app_dir", ROOT), env=env, stdout=open(self.log, "w"),
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + health, timeout=2) as r:
                    if expect is None or r.read().strip() == expect:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{cmd[:4]} did not start; see {self.log}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def wait_ready(page, timeout_ms: int = 300_000) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", state="attached",
                           timeout=timeout_ms)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", state="attached",
                           timeout=timeout_ms)


def stats(page, server: Server) -> dict[str, float]:
    """The Runs page's diagnostics (``AppState.stats()``), read from the page."""
    page.goto(server.url + "/")
    wait_ready(page)
    exp = page.locator("[data-testid='stExpander']", has_text="Log roots and watcher").first
    exp.wait_for(state="attached", timeout=120_000)
    text = exp.text_content() or ""
    out = {}
    for key, value in re.findall(r"([a-z][a-z /]+): ([0-9.]+)", text):
        out[key.strip()] = float(value)
    return out


def first_trace(page, url: str, timeout_ms: int = 300_000) -> dict[str, float]:
    """Seconds from ``goto`` to: the first plotly trace drawn, the header's n/N shown, all charts drawn."""
    received = [0]

    def on_ws(ws) -> None:
        ws.on("framereceived", lambda payload: received.__setitem__(0, received[0] + len(payload)))

    page.on("websocket", on_ws)
    t0 = time.monotonic()
    page.goto(url)
    page.locator(".js-plotly-plot .scatterlayer .trace path.js-line").first.wait_for(state="attached",
                                                                                      timeout=timeout_ms)
    t_chart = time.monotonic() - t0
    page.locator("[data-testid='stMetricLabel']", has_text="Iterations n/N").first.wait_for(timeout=timeout_ms)
    wait_ready(page, timeout_ms)
    t_all = time.monotonic() - t0
    return {"first_chart_s": round(t_chart, 3), "page_done_s": round(t_all, 3),
            "charts": page.locator(".js-plotly-plot").count(), "websocket_bytes_received": received[0]}


# ------------------------------------------------------------------------------------------------ sections

def big_log() -> Path:
    """The bench's 1,000,000-line log (``tools.gen_logs``, seed 0), made when missing."""
    big = OUT / f"big_{BIG_LINES}_s0.log"
    if not big.exists():
        from tools.gen_logs import write_log

        print(f"generating {big} ...", flush=True)
        write_log(big, BIG_LINES, 0)
    return big


def bench_big(browser) -> dict:
    big = big_log()
    root = OUT / "dash_big"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    target = root / "sweep.log"
    try:
        os.link(big, target)
    except OSError:
        shutil.copyfile(big, target)
    size = target.stat().st_size
    shutil.copyfile(ROOT / "sample_logs" / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log",
                    root / "small.log")
    big_url = "/run?run=" + quote("dash_big/sweep.log")
    small_url = "/run?run=" + quote("dash_big/small.log")
    result: dict = {"file_bytes": size, "lines": BIG_LINES}
    server = Server(root, "big")
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        t0 = time.monotonic()
        while True:
            s = stats(page, server)
            if s.get("bytes fed to parsers", 0) >= size or time.monotonic() - t0 > 600:
                break
            page.wait_for_timeout(2000)
        result["watcher_parse_s"] = round(time.monotonic() - t0, 1)
        ctx.close()
        # (label, url, repetitions). Each: a fresh browser context (nothing cached), then a reload in it
        # (Streamlit's and plotly's JavaScript cached, a new session on the server).
        plan = [("small_run_baseline", small_url, 3), ("big_last_run_model_cold", big_url, 1),
                ("big_last_run_model_warm", big_url, 3), ("big_run_1_model_cold", big_url + "&r=1", 1)]
        for label, url, reps in plan:
            fresh, reload = [], []
            for _ in range(reps):
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = ctx.new_page()
                fresh.append(first_trace(page, server.url + url))
                reload.append(first_trace(page, server.url + url))
                ctx.close()
            result[label] = {"fresh_browser": fresh, "reload": reload}
            print(label, "fresh", [r["first_chart_s"] for r in fresh], "reload", [r["first_chart_s"] for r in reload],
                  flush=True)
        result["server_stats"] = stats(browser.new_context().new_page(), server)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    result["in_process"] = charts_in_process(big)
    return result


def charts_in_process(path: Path) -> dict:
    """JSON bytes and points of every chart of the big log's last run (what ``st.plotly_chart`` serialises)."""
    import plotly.io as pio

    from dashboard.analysis import summarize
    from dashboard.charts.series import eval_frame, train_frame
    from dashboard.views import run_model as rv
    from parsers import parse_path

    t = time.perf_counter()
    run = parse_path(str(path)).runs[-1]
    out: dict = {"parse_s": round(time.perf_counter() - t, 2), "train_records": len(run.train)}
    t = time.perf_counter()
    summary = summarize(run)
    out["summary_s"] = round(time.perf_counter() - t, 3)
    t = time.perf_counter()
    frame, evals = train_frame(run), eval_frame(run)
    out["frames_s"] = round(time.perf_counter() - t, 3)
    choices = rv.metric_choices(list(frame.attrs["fields"]), list(evals.attrs.get("metrics", {})))
    plan = rv.chart_plan(choices, choices.train_default, choices.eval_default)
    charts = []
    t = time.perf_counter()
    for spec in plan:
        t1 = time.perf_counter()
        fig = rv.build_figure(spec, frame, evals, rv.ChartView(), epoch_ends=summary.epoch_ends)
        built = time.perf_counter() - t1
        t1 = time.perf_counter()
        js = pio.to_json(fig, validate=False)
        charts.append({"chart": spec.title, "traces": len(fig["data"]), "max_points_per_trace":
                       max((len(tr["x"]) for tr in fig["data"] if tr.get("x") is not None), default=0),
                       "json_bytes": len(js), "build_s": round(built, 3),
                       "serialise_s": round(time.perf_counter() - t1, 4)})
    out["figures_s"] = round(time.perf_counter() - t, 3)
    out["charts"] = charts
    return out


def bench_sessions(browser) -> dict:
    from dashboard.live.replay import ReplayThread

    src = ROOT / "sample_logs" / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
    root = OUT / "dash_sessions"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    dest = root / "live" / "20260314_090000" / "20260314_090000.log"
    server = Server(root, "sessions")
    replay = ReplayThread(src, dest, speed=300.0, max_gap=0.4)  # a train line every ~0.4 s
    contexts = []
    result: dict = {"sessions": 5}
    try:
        ctx0 = browser.new_context()
        stats(ctx0.new_page(), server)  # creates the watcher before the file exists
        replay.start()
        while not dest.exists():
            time.sleep(0.1)
        url = f"{server.url}/run?run={quote('dash_sessions/live/20260314_090000/20260314_090000.log')}"
        for _ in range(5):
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = ctx.new_page()
            page.goto(url)
            contexts.append(ctx)
        for ctx in contexts:
            wait_ready(ctx.pages[0])
        t0 = time.monotonic()
        seconds = 40.0
        while time.monotonic() - t0 < seconds:
            time.sleep(1)
        replay.stop()
        time.sleep(3)
        s = stats(ctx0.new_page(), server)
        result.update({"watched_seconds": seconds, "file_bytes": dest.stat().st_size, **s})
        result["lines_written"] = replay.lines_written
        ctx0.close()
    finally:
        replay.stop()
        for ctx in contexts:
            ctx.close()
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return result


def make_many(root: Path, count: int = 500, growing: int = 10) -> None:
    samples = [
        ("llm_sft_len_grouped/20260314_090000/20260314_090000.log", "20260314_090000"),
        ("cls_epoch_val/20260315_140000/20260315_140000.log", "20260315_140000"),
        ("det_crash_resume/20260317_085500/20260317_085500.log", "20260317_085500"),
        ("seg_nan_loss/20260318_132000/20260318_132000.log", "20260318_132000"),
    ]
    texts = [((ROOT / "sample_logs" / rel).read_bytes(), stamp) for rel, stamp in samples]
    for i in range(count):
        data, stamp = texts[i % len(texts)]
        if i < growing:
            data = data[: len(data) // 2]
            data = data[: data.rfind(b"\n") + 1]
        d = root / f"exp_{i:03d}" / stamp
        d.mkdir(parents=True)
        (d / f"{stamp}.log").write_bytes(data)


def bench_many(browser) -> dict:
    root = OUT / "dash_many"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    make_many(root)
    settle = time.time() - 120  # as logs that are not being written (a log written just now is not cached yet)
    for p in root.rglob("*.log"):
        if "exp_00" not in str(p):  # the 10 growing ones (exp_000..009) keep their mtime
            os.utime(p, (settle, settle))
    result: dict = {"runs": 500}
    # In-process: the same steps as the page, with an empty summary cache and then with the one just written.
    from dashboard.views.app_state import AppConfig, AppState
    from dashboard.views.summary_cache import SummaryCache

    cache_dir = OUT / "cache-many-inproc"
    shutil.rmtree(cache_dir, ignore_errors=True)
    for label in ("in_process_cold", "in_process_restart"):
        t = time.perf_counter()
        state = AppState(AppConfig((str(root),), "MMDASH_ROOTS", False), summary_cache=SummaryCache(cache_dir))
        scan = time.perf_counter() - t
        t = time.perf_counter()
        n = sum(len(state.run_summaries(src)) for src in state.watcher.sources())
        counts = state.stats()
        result[label] = {"watcher_scan_s": round(scan, 2), "summaries_after_scan_s": round(time.perf_counter() - t, 3),
                         "runs": n, **{k: counts[k] for k in ("bytes fed to parsers", "summaries built",
                                                             "summaries from the cache", "logs left unread",
                                                             "cache entries written")}}
        state.close()
        print(label, result[label], flush=True)

    shutil.rmtree(OUT / "cache-many", ignore_errors=True)

    def drawn(page, server: Server) -> dict[str, float]:
        t0 = time.monotonic()
        if page.url.startswith(server.url):
            page.reload()
        else:
            page.goto(server.url + "/")
        page.get_by_text(re.compile(r"500 runs in 500 log files")).wait_for(timeout=300_000)
        t_text = time.monotonic() - t0
        page.locator("[data-testid='stDataFrame'] [data-testid='data-grid-canvas']").first.wait_for(
            timeout=300_000)
        return {"summary_line_s": round(t_text, 3), "table_drawn_s": round(time.monotonic() - t0, 3)}

    def loads(server: Server, prefix: str) -> None:
        for label in ("first_load", "fresh_browser", "fresh_browser_2"):
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = ctx.new_page()
            result[f"{prefix}{label}"] = drawn(page, server)
            if label != "first_load":
                result[f"{prefix}{label}_reload"] = drawn(page, server)  # the same browser again: its JS cached
            print(prefix + label, result[f"{prefix}{label}"], flush=True)
            ctx.close()

    server = Server(root, "many")
    try:
        loads(server, "")
        ctx = browser.new_context()
        t0 = time.monotonic()
        while time.monotonic() - t0 < 180:  # the summaries reach the cache (logs settled for SETTLED seconds)
            pg = ctx.new_page()
            s = stats(pg, server)
            pg.close()
            if s.get("cache entries written", 0) >= 490:
                break
            time.sleep(3)
        result["server_stats_before_restart"] = s
        ctx.close()
    finally:
        server.stop()
    server = Server(root, "many")  # the same logs, the same cache
    try:
        loads(server, "restart_")
        ctx = browser.new_context()
        result["server_stats_after_restart"] = stats(ctx.new_page(), server)
        ctx.close()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return result


class FloorServer(Server):
    """``streamlit run bench/floor_app.py``: the floor page, on the same Streamlit as the app."""

    def __init__(self, port: int | None = None) -> None:
        self._start("bench/floor_app.py", "floor", None, (), port)


def bench_floor(browser, rounds: int = 7) -> dict:
    """The Runs page with 500 runs vs the floor page, each load in a fresh browser context, alternating."""
    import statistics

    root = OUT / "dash_floor"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    make_many(root)
    shutil.rmtree(OUT / "cache-floor", ignore_errors=True)
    server, floor = Server(root, "floor"), FloorServer()

    def timed(url: str, done) -> float:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        t0 = time.monotonic()
        page.goto(url)
        done(page)
        dt = time.monotonic() - t0
        ctx.close()
        return dt

    def floor_drawn(page) -> None:
        page.locator(".js-plotly-plot .scatterlayer .trace path.js-line").first.wait_for(state="attached",
                                                                                          timeout=300_000)

    def runs_drawn(page) -> None:
        page.get_by_text(re.compile(r"500 runs in 500 log files")).wait_for(timeout=300_000)
        page.locator("[data-testid='stDataFrame'] [data-testid='data-grid-canvas']").first.wait_for(
            timeout=300_000)

    try:
        first = timed(server.url + "/", runs_drawn)  # starts the watcher: the scan reads every log
        timed(floor.url + "/", floor_drawn)  # the floor's first script run (imports) is not a page load either
        floors, runs = [], []
        for _ in range(rounds):
            floors.append(timed(floor.url + "/", floor_drawn))
            runs.append(timed(server.url + "/", runs_drawn))
            print(f"floor {floors[-1]:.3f} s, runs page {runs[-1]:.3f} s", flush=True)
    finally:
        server.stop()
        floor.stop()
        shutil.rmtree(root, ignore_errors=True)
    med_floor, med_runs = statistics.median(floors), statistics.median(runs)
    return {"runs": 500, "rounds": rounds, "first_load_with_scan_s": round(first, 3),
            "floor_s": [round(x, 3) for x in floors], "runs_page_s": [round(x, 3) for x in runs],
            "floor_median_s": round(med_floor, 3), "runs_page_median_s": round(med_runs, 3),
            "ratio_of_medians": round(med_runs / med_floor, 3),
            "ratio_per_round": [round(r / f, 3) for f, r in zip(floors, runs)], "goal": 1.15,
            "load_avg_after": os.getloadavg()}


def bench_compare(browser, rounds: int = 5) -> dict:
    """The Compare page, small and large, vs the floor page, each load in a fresh browser context, alternating."""
    import statistics

    root = OUT / "dash_compare"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    make_many(root, count=20, growing=0)
    ids = sorted(str(p.relative_to(root)) for p in root.rglob("*.log"))
    label = root.name
    metrics = ["loss", "lr", "time", "data_time", "grad_norm", "decode.loss_ce", "loss_cls", "accuracy/top1"]

    def url(n_runs: int, n_metrics: int) -> str:
        q = [f"compare={quote(f'{label}/{i}', safe='/')}" for i in ids[:n_runs]]
        q += [f"metric={quote(m)}" for m in metrics[:n_metrics]]
        return "/compare?" + "&".join(q)

    server, floor = Server(root, "compare"), FloorServer()
    received = [0]

    def timed(address: str, charts: int) -> tuple[float, int]:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        received[0] = 0
        page.on("websocket", lambda ws: ws.on("framereceived",
                                              lambda payload: received.__setitem__(0, received[0] + len(payload))))
        t0 = time.monotonic()
        page.goto(address)
        page.wait_for_function(
            "n => { const p = document.querySelectorAll('.js-plotly-plot');"
            " return p.length >= n && Array.from(p).every(d => d.querySelector('.scatterlayer .trace')); }",
            arg=charts, timeout=300_000)
        dt = time.monotonic() - t0
        ctx.close()
        return dt, received[0]

    cases = {"floor": (None, 1), "2_runs_1_metric": (url(2, 1), 1), "20_runs_8_metrics": (url(20, 8), 8)}
    times: dict[str, list[float]] = {k: [] for k in cases}
    sizes: dict[str, int] = {}
    try:
        timed(server.url + url(20, 8), 8)  # the watcher's scan and the charts' first build are not page loads
        timed(floor.url + "/", 1)
        for _ in range(rounds):
            for name, (path, charts) in cases.items():
                dt, size = timed((floor.url + "/") if path is None else server.url + path, charts)
                times[name].append(round(dt, 3))
                sizes[name] = size
            print({k: v[-1] for k, v in times.items()}, flush=True)
    finally:
        server.stop()
        floor.stop()
        shutil.rmtree(root, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"rounds": rounds, "seconds": times, "median_s": {k: round(v, 3) for k, v in med.items()},
            "ratio_to_floor": {k: round(v / med["floor"], 3) for k, v in med.items() if k != "floor"},
            "websocket_bytes_received": sizes, "load_avg_after": os.getloadavg()}


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    sections = argv or ["big", "sessions", "many"]
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": platform.platform(), "cpus": os.cpu_count(),
        "load_avg": os.getloadavg(), "python": platform.python_version(),
    }
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for name in sections:
            print(f"--- {name}", flush=True)
            results[name] = {"big": bench_big, "sessions": bench_sessions, "many": bench_many,
                             "floor": bench_floor, "compare": bench_compare}[name](browser)
            print(json.dumps(results[name], indent=1), flush=True)
        browser.close()
    path = OUT / "dashboard_results.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    old.update(results)
    path.write_text(json.dumps(old, indent=1))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
