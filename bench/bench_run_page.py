"""The Run page's first chart against the floor, the chart messages of its first 10 s, and live append-to-drawn
latency (issue 12). Run by hand; numbers, never assertions.

    python bench/bench_run_page.py                    # all three (~10 min; makes the 1M-line log when missing)
    python bench/bench_run_page.py first messages     # some of them: first | messages | live | timeline | trace
    python bench/bench_run_page.py --rounds 7 first
    python bench/bench_run_page.py messages --port 8830     # the Run page's server on that port (default: a free one)

- ``first``: the floor is what Streamlit and plotly cost by themselves: a bare Streamlit page with one
  ``st.plotly_chart`` of 400 points
  (``bench/floor_app.py``, ``bench_dashboard.FloorServer``), served by the same Streamlit on the same machine.
  Against it, the Run page of the 1,000,000-line log's last run (``tools/gen_logs``), once the watcher has read the
  file and one visit has built the run's model and charts ("parse cached"). Each round opens the floor and the Run
  page, alternating, each in a fresh browser context (empty cache), and times ``goto`` to the first plotly line
  drawn; then the Run page again in the same context (the browser's cache warm: Streamlit's and plotly's
  JavaScript). Ratio: median Run page / median floor, in the same run. Goals: <= 1.15x the floor; <= 1.5 s warm.
- ``messages``: the chart messages the browser receives in the first 10 s after opening the Run page (WebSocket
  frames holding a figure of the page: ``"uirevision"``), against the charts on the page. Goal: each chart once
  (no re-send of every chart a few seconds later).
- ``live``: a log growing under the root (``--appends`` records, one every ~1.5 s, inotify), its Run page open:
  from each append (the write returned) to the loss chart holding that iteration (polled in the page every 50 ms).
  Goal (issue): p95 <= 1 s.
- ``timeline`` (not in the default set): where the first chart waits, from the page's own clock (fresh browser,
  then the same context again with its cache warm): Streamlit's JavaScript, the first WebSocket message and the
  first chart message, plotly.js requested / received / loaded (``ui.live_chart``'s ``mmdash:`` performance marks),
  the first chart drawn, and the main thread's long tasks before it.
- ``trace`` (not in the default set): two fresh visits under a Chrome trace: the main thread's script time from
  navigation to the first chart, by script (Streamlit's React, plotly.js's evaluation, the chart component).

Results: printed, and written to ``bench/out/run_page_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_dashboard import ARGS, CHROMIUM, OUT, FloorServer, Server, big_log, wait_ready  # noqa: E402

FIRST_LINE = ".js-plotly-plot .scatterlayer .trace path.js-line"


def first_line_s(page, url: str, timeout_ms: int = 300_000) -> float:
    t0 = time.monotonic()
    page.goto(url)
    page.locator(FIRST_LINE).first.wait_for(state="attached", timeout=timeout_ms)
    return round(time.monotonic() - t0, 3)


def big_root() -> tuple[Path, int]:
    big = big_log()
    root = OUT / "run_page_big"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    try:
        os.link(big, root / "sweep.log")
    except OSError:
        shutil.copyfile(big, root / "sweep.log")
    return root, (root / "sweep.log").stat().st_size


def fed_bytes(page, server: Server) -> int:
    """``bytes fed to parsers`` from the Runs page's diagnostics (in one of its expanders)."""
    page.goto(server.url + "/")
    wait_ready(page)
    exp = page.locator("[data-testid='stExpander']")
    exp.first.wait_for(state="attached", timeout=120_000)
    text = " ".join(exp.nth(i).text_content() or "" for i in range(exp.count()))
    m = re.search(r"bytes fed to parsers: ([0-9][0-9,]*)", text)
    return int(m.group(1).replace(",", "")) if m else 0


def wait_parsed(browser, server: Server, size: int) -> float:
    ctx = browser.new_context()
    page = ctx.new_page()
    t0 = time.monotonic()
    while fed_bytes(page, server) < size and time.monotonic() - t0 < 900:
        page.wait_for_timeout(2000)
    ctx.close()
    return round(time.monotonic() - t0, 1)


def bench_big(browser, rounds: int, sections: list[str], port: int | None = None) -> dict:
    """``first`` and ``messages`` on one server (the big log is read once)."""
    root, size = big_root()
    shutil.rmtree(OUT / "cache-run-page", ignore_errors=True)  # a cached summary would leave the log unread
    server = Server(root, "run-page", port=port)
    out: dict = {"file_bytes": size}
    try:
        out["watcher_parse_s"] = wait_parsed(browser, server, size)
        print("read by the watcher in", out["watcher_parse_s"], "s", flush=True)
        if "first" in sections:
            out["first"] = bench_first(browser, server, rounds)
            print(json.dumps({k: v for k, v in out["first"].items() if k != "rounds"}), flush=True)
        if "messages" in sections:
            out["messages"] = bench_messages(browser, server, 3)
        if "trace" in sections:
            out["trace"] = bench_trace(browser, server, 2)
        if "timeline" in sections:
            out["timeline"] = bench_timeline(browser, server, rounds)
            print(json.dumps({k: v for k, v in out["timeline"].items() if k.endswith("median")}), flush=True)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return out


def bench_first(browser, server: Server, rounds: int) -> dict:
    url = "/run?run=" + quote("run_page_big/sweep.log")
    floor = FloorServer()
    out: dict = {}
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        out["model_cold_first_chart_s"] = first_line_s(ctx.new_page(), server.url + url)  # builds model + charts
        ctx.close()
        rows = []
        for i in range(rounds):
            row = {}
            for name, base in (("floor", floor.url + "/"), ("run_page", server.url + url))[:: 1 if i % 2 else -1]:
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = ctx.new_page()
                row[name] = first_line_s(page, base)
                if name == "run_page":
                    page.wait_for_timeout(1000)
                    row["run_page_warm_cache"] = first_line_s(page, base)
                ctx.close()
            rows.append(row)
            print(row, flush=True)
        out["rounds"] = rows
        med = {k: statistics.median(r[k] for r in rows) for k in ("floor", "run_page", "run_page_warm_cache")}
        out["median_s"] = med
        out["ratio_run_page_to_floor"] = round(med["run_page"] / med["floor"], 3)
        out["goal_ratio_1_15"] = "PASS" if out["ratio_run_page_to_floor"] <= 1.15 else "MISS"
        out["goal_warm_1_5_s"] = "PASS" if med["run_page_warm_cache"] <= 1.5 else "MISS"
    finally:
        floor.stop()
    return out


_TIMELINE_INIT = """(() => { window.__benchLong = [];
  try {
    new PerformanceObserver((l) => {
      for (const e of l.getEntries()) window.__benchLong.push([e.startTime, e.duration]);
    }).observe({ type: "longtask", buffered: true });
  } catch (e) {}
})();"""
_TIMELINE_READ = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return {
    origin: performance.timeOrigin,
    dcl: nav ? nav.domContentLoadedEventEnd : null,
    res: performance.getEntriesByType("resource").map((e) => [e.name, e.startTime, e.responseEnd, e.transferSize]),
    marks: performance.getEntriesByType("mark").filter((m) => m.name.startsWith("mmdash:"))
      .map((m) => [m.name, m.startTime]),
    long: window.__benchLong || [],
  };
}"""


def _timeline_once(page, url: str) -> dict:
    """One visit: where the time to the first chart goes, in ms from the navigation's start (the page's clock)."""
    ws_first: list[float] = []  # wall clock (ms), the browser's clock too: same machine
    ws_chart: list[float] = []

    def on_ws(ws) -> None:
        def got(payload) -> None:
            now = time.time() * 1000
            data = payload if isinstance(payload, bytes) else str(payload).encode()
            if not ws_first:
                ws_first.append(now)
            if not ws_chart and b'"uirevision"' in data:
                ws_chart.append(now)
        ws.on("framereceived", got)

    page.on("websocket", on_ws)
    page.goto(url)
    page.locator(FIRST_LINE).first.wait_for(state="attached", timeout=300_000)
    page.wait_for_timeout(300)  # the marks of the first draw
    t = page.evaluate(_TIMELINE_READ)
    marks: dict[str, float] = {}
    for name, at in t["marks"]:
        marks.setdefault(name, at)
    drawn = min((v for k, v in marks.items() if k.startswith("mmdash:drawn:")), default=None)
    mounted = min((v for k, v in marks.items() if k.startswith("mmdash:mount:")), default=None)
    res = t["res"]
    plotly = [r for r in res if "plotly" in r[0] and r[0].endswith((".js", ".js?v=" + r[0].rsplit("=", 1)[-1]))]
    main_js = [r for r in res if "/static/js/index" in r[0]]
    static_js = [r for r in res if "/static/" in r[0] and r[0].endswith(".js")]
    end = drawn or 0
    long = [(a, d) for a, d in t["long"] if a < end]
    p_end = plotly[0][2] if plotly else None
    after_plotly = [(a, d) for a, d in long if p_end is not None and a >= p_end - 1]
    ms = lambda v: None if v is None else round(v)  # noqa: E731
    return {
        "dom_content_loaded_ms": ms(t["dcl"]),
        "streamlit_main_js_end_ms": ms(main_js[0][2]) if main_js else None,
        "streamlit_js_files_before_first_chart": sum(1 for r in static_js if r[1] < end),
        "streamlit_js_last_end_before_first_chart_ms": ms(max((r[2] for r in static_js if r[1] < end), default=None)),
        "first_ws_frame_ms": ms(ws_first[0] - t["origin"]) if ws_first else None,
        "first_chart_message_ms": ms(ws_chart[0] - t["origin"]) if ws_chart else None,
        "first_chart_mounted_ms": ms(mounted),
        "plotly_requested_ms": ms(marks.get("mmdash:plotly:request")),
        "plotly_response_end_ms": ms(p_end),
        "plotly_transfer_bytes": plotly[0][3] if plotly else None,
        "plotly_loaded_ms": ms(marks.get("mmdash:plotly:loaded")),
        "first_chart_drawn_ms": ms(drawn),
        "long_tasks_before_first_chart_ms": round(sum(d for _, d in long)),
        "long_task_right_after_plotly_ms": round(after_plotly[0][1]) if after_plotly else None,
        "biggest_long_tasks": [[round(a), round(d)] for a, d in sorted(long, key=lambda x: -x[1])[:5]],
    }


def bench_timeline(browser, server: Server, rounds: int) -> dict:
    """``timeline``: where the Run page's first chart waits (fresh browser, then warm cache), from the page's own
    clock: Streamlit's JavaScript, the first WebSocket message and the first chart message, the chart component
    mounted, plotly.js requested / received / evaluated (``mmdash:`` performance marks of ``ui.live_chart``),
    the first chart drawn, and the main thread's long tasks (> 50 ms) before it."""
    url = server.url + "/run?run=" + quote("run_page_big/sweep.log")
    out: dict = {"fresh": [], "warm": []}
    for _ in range(rounds):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        ctx.add_init_script(_TIMELINE_INIT)
        page = ctx.new_page()
        out["fresh"].append(_timeline_once(page, url))
        print("fresh", out["fresh"][-1], flush=True)
        page.wait_for_timeout(1000)
        page2 = ctx.new_page()
        page.close()
        out["warm"].append(_timeline_once(page2, url))
        print("warm", out["warm"][-1], flush=True)
        ctx.close()
    for kind in ("fresh", "warm"):
        keys = [k for k, v in out[kind][0].items() if isinstance(v, int | float) or v is None]
        out[f"{kind}_median"] = {k: statistics.median([r[k] for r in out[kind] if r[k] is not None] or [0])
                                 for k in keys}
    return out


_TRACE_KINDS = ("EvaluateScript", "FunctionCall", "v8.evaluateModule", "v8.compileModule", "v8.compile")


def bench_trace(browser, server: Server, rounds: int) -> dict:
    """``trace``: a Chrome trace (``devtools.timeline``) of a fresh visit, from navigation to the first chart drawn:
    script evaluation and function calls summed by script (the file name of its URL), in ms of main thread."""
    import collections

    url = server.url + "/run?run=" + quote("run_page_big/sweep.log")
    out: list[dict] = []
    for _ in range(rounds):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        browser.start_tracing(page=page, categories=["devtools.timeline", "v8.execute", "blink.user_timing",
                                                     "disabled-by-default-devtools.timeline", "loading"])
        page.goto(url)
        page.locator(FIRST_LINE).first.wait_for(state="attached", timeout=300_000)
        page.wait_for_timeout(300)
        drawn = page.evaluate("() => (performance.getEntriesByType('mark')"
                              ".find((m) => m.name.startsWith('mmdash:drawn:')) || {}).startTime")
        events = json.loads(browser.stop_tracing())["traceEvents"]
        ctx.close()
        nav = min((e["ts"] for e in events if e.get("name") == "navigationStart"), default=None)
        if nav is None or drawn is None:
            continue
        end = nav + drawn * 1000
        by_script: collections.Counter = collections.Counter()
        for e in events:
            if e.get("ph") == "X" and e.get("name") in _TRACE_KINDS and nav <= e["ts"] <= end:
                data = (e.get("args") or {}).get("data") or {}
                name = (data.get("url") or data.get("fileName") or "?").split("/")[-1].split("?")[0][:60]
                by_script[f"{e['name']} {name}"] += e.get("dur", 0) / 1000
        out.append({"first_chart_drawn_ms": round(drawn),
                    "main_thread_ms_by_script": {k: round(v) for k, v in by_script.most_common(10)}})
        print("trace", out[-1], flush=True)
    return {"visits": out}


def bench_messages(browser, server: Server, rounds: int) -> dict:
    url = "/run?run=" + quote("run_page_big/sweep.log")
    out: dict = {}
    samples = []
    for _ in range(rounds):
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        frames: list[tuple[float, int]] = []
        t0 = time.monotonic()

        def on_ws(ws, frames=frames, t0=t0) -> None:
            def got(payload) -> None:
                data = payload if isinstance(payload, bytes) else str(payload).encode()
                frames.append((time.monotonic() - t0, data.count(b'"uirevision"')))
            ws.on("framereceived", got)

        page.on("websocket", on_ws)
        page.goto(server.url + url)
        page.wait_for_timeout(10_000)
        charts = page.locator(".js-plotly-plot").count()
        msgs = sum(n for t, n in frames if t <= 10.0)
        samples.append({"charts_on_page": charts, "chart_messages_first_10s": msgs,
                        "at_s": [round(t, 2) for t, n in frames if n and t <= 10.0]})
        print(samples[-1], flush=True)
        ctx.close()
    out["samples"] = samples
    out["goal_each_chart_once"] = ("PASS" if all(s["chart_messages_first_10s"] <= s["charts_on_page"]
                                                 for s in samples) else "MISS")
    return out


def bench_live(browser, appends: int) -> dict:
    from tests.helpers import train_line

    root = OUT / "run_page_live"
    shutil.rmtree(root, ignore_errors=True)
    (root / "live").mkdir(parents=True)
    log = root / "live" / "20250101_000000.log"
    n = 100_000
    log.write_bytes(b"".join(train_line(i, n) for i in range(10, 2010, 10)))
    server = Server(root, "run-page-live", env={"MMDASH_WATCHER": "inotify"})
    out: dict = {"mode": "inotify", "appends": appends}
    try:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = ctx.new_page()
        page.goto(server.url + "/run?run=" + quote("run_page_live/live/20250101_000000.log"))
        page.locator(FIRST_LINE).first.wait_for(state="attached", timeout=120_000)
        js = """() => { const gd = document.querySelector(".st-key-chart_losses .js-plotly-plot");
                        if (!gd || !gd.calcdata) return 0;
                        const xs = gd.calcdata.flatMap(t => t.map(p => Number(p.x)));
                        return Math.max(0, ...xs.filter(Number.isFinite)); }"""
        lat = []
        it = 2000
        for _ in range(appends):
            it += 10
            with open(log, "ab") as f:
                f.write(train_line(it, n))
                f.flush()
                os.fsync(f.fileno())
            t0 = time.monotonic()
            while time.monotonic() - t0 < 60:
                try:
                    if page.evaluate(js) >= it:
                        break
                except Exception:
                    pass
                page.wait_for_timeout(50)
            lat.append(round(time.monotonic() - t0, 3))
            page.wait_for_timeout(1500)
        ctx.close()
        s = sorted(lat)
        out.update({"latencies_s": lat, "p50_s": statistics.median(s), "p95_s": s[max(0, round(0.95 * len(s)) - 1)],
                    "max_s": s[-1]})
        out["goal_p95_1_s"] = "PASS" if out["p95_s"] <= 1.0 else "MISS"
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return out


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser()
    ap.add_argument("sections", nargs="*", default=["first", "messages", "live"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--appends", type=int, default=20)
    ap.add_argument("--port", type=int, default=None, help="the Run page's server port (default: a free one)")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": platform.platform(),
                     "cpus": os.cpu_count(), "load_avg_start": os.getloadavg()}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        big = [s for s in args.sections if s in ("first", "messages", "timeline", "trace")]
        if big:
            results["big"] = bench_big(browser, args.rounds, big, args.port)
        if "live" in args.sections:
            results["live"] = bench_live(browser, args.appends)
        print(json.dumps(results, indent=1), flush=True)
        browser.close()
    results["load_avg_end"] = os.getloadavg()
    path = OUT / "run_page_results.json"
    path.write_text(json.dumps(results, indent=1))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
