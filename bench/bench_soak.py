"""Soak: live Run pages in real browsers keep following a fast-growing log (run by hand; issue 16 item 10).

    python bench/bench_soak.py                      # 5 sessions, 20 lines/s, 10 minutes, a sample every 30 s
    python bench/bench_soak.py --minutes 3          # a short trial
    python bench/bench_soak.py --sessions 3 --rate 40 --sample 15

What it does:

1. Writes the header of an xtuner LLM run (``tools.gen_logs``: one train line per iteration, ``Iter(train)
   [n/N]``) into ``bench/out/soak/<root>/...`` and starts ``streamlit run app.py`` on that root
   (``MMDASH_DEMO=0``).
2. ``--sessions`` browser contexts (Debian's Chromium through Playwright, one context each: no shared state)
   open the run's page and stay on it; once every page shows the file's last iteration, the soak starts:
3. a writer thread appends the run's next lines at ``--rate`` lines a second (each line whole, flushed) and
   remembers when each iteration reached the file;
4. Every ``--sample`` seconds: each page's shown iteration (the ``Iterations n/N`` tile) is read and compared
   with the file: a page passes a sample when it shows at least the iteration the file held ``--budget``
   seconds before (default 3 s). Also the server's resident memory (``VmRSS`` of the ``streamlit`` process),
   the WebSocket frames each page sent since the last sample (its fragment timers' rerun requests),
   and the page's own "Live check" line (the server-side heartbeat, ``run_view``).
5. PASS when every page passed every sample and the server's memory grew by less than ``--max-growth``
   (default 25%) from the first sample to the last.

A page that misses a sample is counted as late (behind, still moving) or frozen (its iteration did not change
since the previous sample although the file grew); a frozen page is left as it is (no reload), so a page that
recovers by itself shows as frozen once, then on time again.

Results: printed, and written to ``bench/out/soak_results.json`` (every sample of every page).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_dashboard import ARGS, CHROMIUM, OUT, Server  # noqa: E402

ITER = re.compile(r"Iter\(train\) \[\s*(\d+)/")
LABEL = "soak"
REL = "llm/20250308_104211/20250308_104211.log"


def soak_server(root: Path, name: str, env: dict[str, str] | None = None) -> Server:
    """The dashboard on ``root`` with Streamlit's file watcher off (the tree may be edited while the soak runs)."""
    return Server(root, name, env, extra=("--server.fileWatcherType", "none"))


class Writer(threading.Thread):
    """Appends the run's lines at ``rate`` lines a second; ``iter_at(t)``: the last iteration in the file at t."""

    def __init__(self, path: Path, lines: list[str], rate: float) -> None:
        super().__init__(daemon=True)
        self.path, self.lines, self.rate = path, lines, rate
        self.times: list[float] = []
        self.iters: list[int] = []
        self.written = 0
        self.stop_event = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        t0 = time.monotonic()
        with open(self.path, "a", encoding="utf-8") as f:
            for k, line in enumerate(self.lines):
                wait = t0 + k / self.rate - time.monotonic()
                if wait > 0 and self.stop_event.wait(wait):
                    return
                f.write(line + "\n")
                f.flush()
                self.written += 1
                m = ITER.search(line)
                if m:
                    with self.lock:
                        self.times.append(time.monotonic())
                        self.iters.append(int(m.group(1)))

    def iter_at(self, t: float) -> int | None:
        with self.lock:
            i = bisect.bisect_right(self.times, t)
            return self.iters[i - 1] if i else None

    def stop(self) -> None:
        self.stop_event.set()
        self.join(5)


def rss_kib(pid: int) -> int | None:
    """Resident memory of ``pid`` and its children (the server is one process; a wrapper would add one)."""
    total = 0
    try:
        out = subprocess.run(["ps", "-o", "rss=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        total += sum(int(x) for x in out.split())
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    except (OSError, ValueError):
        return None
    return total


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (``/proc/<pid>/stat``), None when unreadable."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def shown_iteration(page) -> int | None:
    box = page.locator("[data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']", has_text="Iterations n/N"))
    try:
        text = box.first.locator("[data-testid='stMetricValue']").inner_text(timeout=3000)
    except Exception:  # noqa: BLE001 - redrawn while reading: no value this time
        return None
    m = re.match(r"\s*([\d,]+)\s*/", text)
    return int(m.group(1).replace(",", "")) if m else None


def live_check(page) -> str:
    try:
        loc = page.get_by_text(re.compile(r"^Live check")).first
        return loc.inner_text(timeout=1000).strip() if loc.count() else ""
    except Exception:  # noqa: BLE001
        return ""


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=5)
    ap.add_argument("--rate", type=float, default=20.0, help="lines a second (default 20)")
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--sample", type=float, default=30.0, help="seconds between samples (default 30)")
    ap.add_argument("--budget", type=float, default=3.0, help="how far a page may trail the file (default 3 s)")
    ap.add_argument("--max-growth", type=float, default=0.25, help="server memory growth allowed (default 0.25)")
    ap.add_argument("--keep", action="store_true", help="keep bench/out/soak afterwards")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server and the browser on kill too

    from playwright.sync_api import sync_playwright

    from tools.gen_logs.llm import LlmRun

    total = int(args.rate * args.minutes * 60) + 2000
    run = LlmRun(3, total, 0, 1.7e9, True)
    lines = list(itertools.islice(run.lines(), total))
    first_train = next(i for i, ln in enumerate(lines) if ITER.search(ln))
    head, tail = lines[:first_train + 20], lines[first_train + 20:]

    base = OUT / "soak"
    shutil.rmtree(base, ignore_errors=True)
    root = base / LABEL
    path = root / REL
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(head) + "\n")
    source_id = f"{LABEL}/{REL}"
    result: dict = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": platform.platform(), "cpus": os.cpu_count(),
        "python": platform.python_version(), "load_avg_before": os.getloadavg(),
        "sessions": args.sessions, "rate_lines_per_s": args.rate, "minutes": args.minutes,
        "sample_s": args.sample, "budget_s": args.budget, "max_growth": args.max_growth,
    }
    try:
        import streamlit

        result["streamlit"] = streamlit.__version__
    except ImportError:  # pragma: no cover
        pass
    try:
        result["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                              text=True).stdout.strip()
    except OSError:
        pass

    server = soak_server(root, "soak")
    writer = Writer(path, tail, args.rate)
    samples: list[dict] = []
    ok = True
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            pages = []
            counters: list[dict[str, int]] = []
            t_open = time.monotonic()
            for _ in range(args.sessions):
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = ctx.new_page()
                c = {"sent": 0}

                def on_ws(ws, c=c) -> None:
                    # Frames sent only: the page's rerun requests (its timers). Listening to the frames received
                    # would copy every chart the server sends into this process (~1 MB each redraw and page).
                    ws.on("framesent", lambda _p, c=c: c.__setitem__("sent", c["sent"] + 1))

                page.on("websocket", on_ws)
                pages.append(page)
                counters.append(c)
            url = f"{server.url}/run?run={quote(source_id)}"
            for page in pages:
                page.goto(url)
            head_iter = max(int(m.group(1)) for ln in head if (m := ITER.search(ln)))
            deadline = time.monotonic() + 300
            for page in pages:  # drawn: the tile shows the file's last iteration (the script may run again)
                page.locator("[data-testid='stMetricLabel']", has_text="Iterations n/N").first.wait_for(
                    timeout=300_000)
                while shown_iteration(page) != head_iter and time.monotonic() < deadline:
                    page.wait_for_timeout(250)
            result["pages_ready_s"] = round(time.monotonic() - t_open, 1)
            writer.start()  # the log grows from here on, with every page open
            t_start = time.monotonic()
            end = t_start + args.minutes * 60
            last_shown: list[int | None] = [None] * len(pages)
            last_counts = [dict(c) for c in counters]
            k = 0
            print(f"soak: {args.sessions} sessions on {url}, {args.rate:g} lines/s, {args.minutes:g} min", flush=True)
            cpu_before, t_before = cpu_seconds(server.proc.pid), time.monotonic()
            while True:
                k += 1
                t_next = t_start + k * args.sample
                if t_next > end + 1:
                    break
                while time.monotonic() < t_next:
                    pages[0].wait_for_timeout(min(1000, max(10, (t_next - time.monotonic()) * 1000)))
                t = time.monotonic()
                need = writer.iter_at(t - args.budget)
                file_now = writer.iter_at(t)
                cpu_now = cpu_seconds(server.proc.pid)
                cpu_share = (None if cpu_now is None or cpu_before is None else
                             round((cpu_now - cpu_before) / max(1e-9, t - t_before), 2))
                cpu_before, t_before = cpu_now, t
                row: dict = {"t_s": round(t - t_start, 1), "file_iter": file_now, "needed_iter": need,
                             "server_rss_kib": rss_kib(server.proc.pid), "server_cpu_cores": cpu_share,
                             "load_avg_1m": round(os.getloadavg()[0], 1), "pages": []}
                for i, page in enumerate(pages):
                    shown = shown_iteration(page)
                    t_read = time.monotonic()
                    c = counters[i]
                    sent = c["sent"] - last_counts[i]["sent"]
                    last_counts[i] = dict(c)
                    on_time = shown is not None and need is not None and shown >= writer.iter_at(t_read - args.budget)
                    frozen = shown is not None and shown == last_shown[i] and file_now != need
                    lag = None
                    if shown is not None:
                        with writer.lock:
                            j = bisect.bisect_left(writer.iters, shown + 1)
                            lag = round(t_read - writer.times[j], 2) if j < len(writer.times) else 0.0
                    row["pages"].append({"shown": shown, "on_time": on_time, "frozen": frozen, "lag_s": lag,
                                         "frames_sent": sent,
                                         "live_check": live_check(page)[:120]})
                    last_shown[i] = shown
                    ok = ok and on_time
                samples.append(row)
                print(f"t={row['t_s']:6.1f}s file={file_now} rss={row['server_rss_kib']} KiB "
                      f"server cpu={row['server_cpu_cores']} cores load={row['load_avg_1m']}  " + "  ".join(
                    f"[{p['shown']} lag {p['lag_s']}s sent {p['frames_sent']}{' FROZEN' if p['frozen'] else ''}"
                    f"{'' if p['on_time'] else ' LATE'}]" for p in row["pages"]), flush=True)
            browser.close()
    finally:
        writer.stop()
        server.stop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)

    rss = [s["server_rss_kib"] for s in samples if s["server_rss_kib"]]
    growth = (rss[-1] - rss[0]) / rss[0] if len(rss) >= 2 else None
    late = sum(not p["on_time"] for s in samples for p in s["pages"])
    frozen = sum(p["frozen"] for s in samples for p in s["pages"])
    lags = [p["lag_s"] for s in samples for p in s["pages"] if p["lag_s"] is not None]
    result.update({
        "samples": samples, "lines_written": writer.written, "page_samples": sum(len(s["pages"]) for s in samples),
        "late_page_samples": late, "frozen_page_samples": frozen, "max_lag_s": max(lags, default=None),
        "server_rss_first_kib": rss[0] if rss else None, "server_rss_last_kib": rss[-1] if rss else None,
        "server_rss_growth": None if growth is None else round(growth, 3), "load_avg_after": os.getloadavg(),
    })
    mem_ok = growth is not None and growth < args.max_growth
    result["pass"] = bool(ok and mem_ok and samples)
    print(f"pages on time at every sample: {'PASS' if ok else 'MISS'} ({late} late, {frozen} frozen of "
          f"{result['page_samples']} page samples; max lag {result['max_lag_s']} s)")
    print(f"server memory growth: {'PASS' if mem_ok else 'MISS'} ({rss[0] if rss else '?'} -> "
          f"{rss[-1] if rss else '?'} KiB, {None if growth is None else round(100 * growth, 1)}%)")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "soak_results.json").write_text(json.dumps(result, indent=1))
    print(f"written to {OUT / 'soak_results.json'}")
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
