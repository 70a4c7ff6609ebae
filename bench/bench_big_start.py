"""Server start to the complete loss chart of the 1,000,000-line log, against TensorBoard and the bare page (issue 18).

    python bench/bench_big_start.py                      # 5 rounds, ~10 min (makes the 1M-line log when missing)
    python bench/bench_big_start.py --log /tmp/bigroot/big/20250101_000000/20250101_000000.log --rounds 5
    python bench/bench_big_start.py --only mmdash,floor  # leave TensorBoard out (or: --only tensorboard)
    python bench/bench_big_start.py --baseline /work/wt/base  # also a baseline checkout, in the same rounds

Run by hand; numbers, never assertions. Four servers, each started the same way (``subprocess.Popen``, then its
health URL polled every 50 ms), on ports from ``--port`` (default 8750: the app 8750, the floor 8751, TensorBoard
8766), round by round so all of them see the same machine load. In each round, for each server:

1. **start to complete chart**: from spawning the server to the loss chart on screen holding the run's last
   iteration, in a fresh browser context (Debian's Chromium through Playwright), polled in the page every 50 ms.
   A partial chart (one drawn before the last iteration is in it) is recorded with the iteration it reached.
   - ``mmdash_cold``: ``streamlit run app.py`` on a root holding only the log, its cache folder
     (``MMDASH_CACHE_DIR``) emptied first but for the compiled scanner: the first start on this log; its Run page
     (``/run?run=<root>/sweep.log``, the log's last run), the loss chart's ``loss`` trace (``.st-key-chart_losses``).
   - ``mmdash_restart``: the same, with the cache left from the round's cold start (a restart of the server); the
     cold server is stopped only once it has written the log's parse to the cache (it does so once the first read
     is done, retrying every 30 s; a server that ran a while has), the wait is recorded.
   - ``tensorboard``: TensorBoard 2.x in its own virtualenv (``--tb-venv``; made with ``pip install tensorboard``
     when missing, never a project dependency) on event files holding the same scalars of every run of the log
     (loss, lr, time, data_time, grad_norm; the values ``parsers`` reads, written by ``bench/tb_events.py`` with
     TensorBoard's own writer, once, kept under ``bench/out/tb_big``), page ``/?tagFilter=^loss$#timeseries``.
     Complete: the ``timeSeries`` answer for ``loss`` holds the last step of the last run and the loss card's chart
     canvas is there (TensorBoard draws in a web worker, so the paint itself is not seen: this favours TensorBoard
     by a frame or two). TensorBoard keeps a 1,000-point sample of each series; the dashboard keeps every record.
   - ``floor``: ``streamlit run bench/floor_app.py``, one ``st.plotly_chart`` of 400 points (its last x: 4000).
   Also the server process tree's CPU time from its start to that moment (start-up, parse, the first session).
2. **a new session's server CPU**: once the server is idle again (its CPU time moves < 20 ms in a second), a
   second fresh browser context opens the same page; the server process tree's CPU time (``/proc``: utime +
   stime of the process and its children, e.g. TensorBoard's data server) from before ``goto`` to the complete
   chart and the page's script finished. Goal (issue 18): <= 1 s for the dashboard once the parse is cached.
3. **memory**: the server process tree's RSS after that second session. ``small`` is the dashboard on a root with
   only a small sample log, its Run page opened twice the same way: the memory added by the big run is
   ``mmdash RSS - small RSS``. Goal: <= 200 MiB.

Goals (issue 18): start to complete chart, medians: <= 1.5x TensorBoard's, <= 2x the floor's. Printed too: each
round's ratio and their median (the servers of one round see about the same load; on a loaded machine the medians
of the times can pair a slow round of one with a quick round of another), and the ratio of the servers' CPU time
to the complete chart (steadier under load; the browser's own work is not in it). Results: printed, and
written to ``bench/out/big_start_results.json`` with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_dashboard import ARGS, CHROMIUM, OUT, FloorServer, Server, big_log, wait_ready  # noqa: E402

SMALL_LOG = ROOT / "sample_logs" / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
TB_FIELDS = ("loss", "lr", "time", "data_time", "grad_norm")

# The loss chart's ``loss`` trace: its last x drawn (calcdata: what plotly has drawn), or -1 before it is drawn.
MMDASH_LAST_X = """() => { const gd = document.querySelector(".st-key-chart_losses .js-plotly-plot");
  if (!gd || !gd.calcdata || !gd.querySelector(".scatterlayer .trace path.js-line")) return -1;
  let m = -1;
  gd.calcdata.forEach((t, i) => { if (gd.data[i] && gd.data[i].name === "loss" && t.length)
                                    m = Math.max(m, Number(t[t.length - 1].x)); });
  return m; }"""
FLOOR_LAST_X = """() => { const gd = document.querySelector(".js-plotly-plot");
  if (!gd || !gd.calcdata || !gd.querySelector(".scatterlayer .trace path.js-line")) return -1;
  const t = gd.calcdata[0]; return t.length ? Number(t[t.length - 1].x) : -1; }"""
TB_CANVAS = "() => !!document.querySelector('scalar-card line-chart canvas')"


# ------------------------------------------------------------------------------------------------- /proc

def _tree(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return out


def cpu_s(pid: int) -> float:
    """utime + stime of ``pid`` and its living descendants, in seconds."""
    total = 0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    total = 0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def wait_idle(pid: int, limit_s: float = 120.0) -> float:
    """Until the process tree's CPU time moves less than 20 ms in a second; returns the seconds waited."""
    t0 = time.monotonic()
    last = cpu_s(pid)
    while time.monotonic() - t0 < limit_s:
        time.sleep(1.0)
        now = cpu_s(pid)
        if now - last < 0.02:
            break
        last = now
    return round(time.monotonic() - t0, 1)


# ------------------------------------------------------------------------------------------------- servers

class TensorBoardServer(Server):
    """``tensorboard --logdir LOGDIR`` from the bench's virtualenv, waited for like the Streamlit servers."""

    def __init__(self, venv: Path, logdir: Path, port: int) -> None:
        self.port = port
        self.prefix = ""
        self._spawn([str(venv / "bin" / "tensorboard"), "--logdir", str(logdir), "--port", str(port),
                     "--host", "127.0.0.1"], "tensorboard", {**os.environ}, "/", None)


def tb_venv(path: Path) -> Path:
    """A virtualenv with TensorBoard (made when missing; bench-only, never a project dependency)."""
    if not (path / "bin" / "tensorboard").exists():
        print(f"making {path} (pip install tensorboard) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", "tensorboard"], check=True)
    return path


def tb_logdir(log: Path, venv: Path) -> Path:
    """The log's scalars as TensorBoard event files (``bench/tb_events.py``), made once per log version."""
    import numpy as np

    from parsers import parse_path

    st = log.stat()
    logdir = OUT / "tb_big"
    stamp = f"{log.resolve()} {st.st_size} {st.st_mtime_ns}"
    if (logdir / "SOURCE").exists() and (logdir / "SOURCE").read_text() == stamp:
        return logdir
    shutil.rmtree(logdir, ignore_errors=True)
    logdir.mkdir(parents=True)
    arrays = {}
    for k, run in enumerate(parse_path(str(log)).runs):
        t = run.train
        arrays[f"run{k}.step"] = np.asarray(t.iters)
        for name in TB_FIELDS:
            if name in t.field_names:
                arrays[f"run{k}.{name}"] = np.asarray(t.column(name), dtype=np.float64)
    npz = OUT / "tb_big_scalars.npz"
    np.savez(npz, **arrays)
    print(f"writing TensorBoard event files to {logdir} ...", flush=True)
    subprocess.run([str(venv / "bin" / "python"), str(ROOT / "bench" / "tb_events.py"), str(npz), str(logdir)],
                   check=True)
    npz.unlink()
    (logdir / "SOURCE").write_text(stamp)
    return logdir


# ------------------------------------------------------------------------------------------------- one visit

def visit(browser, kind: str, url: str, last: int, t0: float, timeout_s: float = 300.0) -> dict:
    """Open ``url`` in a fresh context and wait for the complete chart; times are seconds since ``t0``."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    series: list = []  # TensorBoard: every answer for the loss series
    if kind == "tensorboard":
        page.on("response", lambda r: series.append(r) if "timeseries/timeSeries" in r.url else None)
    out: dict = {}
    page.goto(url)
    seen = -1
    while time.monotonic() - t0 < timeout_s:
        if kind == "tensorboard":
            for r in list(series):
                try:
                    for item in r.json():
                        if item.get("tag") == "loss":
                            steps = [s[-1]["step"] for s in item.get("runToSeries", {}).values() if s]
                            seen = max([seen, *steps])
                except Exception:  # an answer still arriving: read it at the next poll
                    continue
                series.remove(r)
            x = seen if seen >= 0 and page.evaluate(TB_CANVAS) else -1
        else:
            try:
                x = page.evaluate(MMDASH_LAST_X if kind == "mmdash" else FLOOR_LAST_X)
            except Exception:  # a navigation in the page (Streamlit's page routing)
                x = -1
        if x >= 0 and "first_chart_s" not in out:
            out["first_chart_s"] = round(time.monotonic() - t0, 3)
            out["first_chart_last_x"] = x
        if x >= last:
            out["complete_s"] = round(time.monotonic() - t0, 3)
            break
        page.wait_for_timeout(50)
    else:
        out["complete_s"] = None
    out["partial_first"] = out.get("first_chart_last_x", last) < last
    if kind != "tensorboard":
        wait_ready(page)
    out["page_done_s"] = round(time.monotonic() - t0, 3)
    ctx.close()
    return out


def measure(browser, kind: str, start, url_path: str, last: int, before_stop=None) -> dict:
    """Start a server, time it to the complete chart, then a second session's CPU and the RSS after it;
    ``before_stop()`` (if given) runs before the server is stopped and its answer is kept."""
    t0 = time.monotonic()
    server = start()
    out: dict = {"health_s": round(time.monotonic() - t0, 3)}
    try:
        out.update(visit(browser, kind, server.url + url_path, last, t0))
        out["cpu_to_complete_s"] = round(cpu_s(server.proc.pid), 3)  # start-up, parse and the first session
        out["idle_wait_s"] = wait_idle(server.proc.pid)
        c0 = cpu_s(server.proc.pid)
        t1 = time.monotonic()
        second = visit(browser, kind, server.url + url_path, last, t1)
        out["second_session_complete_s"] = second["complete_s"]
        out["second_session_cpu_s"] = round(cpu_s(server.proc.pid) - c0, 3)
        out["rss_mib"] = rss_mib(server.proc.pid)
        if before_stop is not None:
            out.update(before_stop())
    finally:
        server.stop()
    return out


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.median(values), 3) if values else None


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    from parsers import parse_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", type=Path, default=None, help="the big log (default: the bench's 1M-line log)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--port", type=int, default=8750, help="the app's port; the floor +1, TensorBoard +16")
    ap.add_argument("--tb-venv", type=Path, default=Path("/tmp/mmdash-bench-tbvenv"))
    ap.add_argument("--only", default="floor,tensorboard,mmdash,small")
    ap.add_argument("--baseline", type=Path, default=None,
                    help="another checkout of the dashboard (e.g. a git worktree of main) measured in the same rounds "
                         "as base_cold / base_restart (its own cache folder)")
    ap.add_argument("--dont-write-bytecode", action="store_true",
                    help="start the servers with PYTHONDONTWRITEBYTECODE=1 (every start compiles the dashboard's "
                         "modules from source), as the runs before issue 18's cpu18 did when the shell had it set")
    args = ap.parse_args(argv)
    # The servers start as in a deployment: Python writes the bytecode of the app's modules at the first start and
    # reads it from then on. A shell with PYTHONDONTWRITEBYTECODE=1 (the agents' shells here) made every start of the
    # dashboard compile its own ~100 modules from source (~0.5 s of CPU before the first chart, in the page's first
    # run), while Streamlit's, plotly's and TensorBoard's modules had their bytecode from pip.
    if args.dont_write_bytecode:
        os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    only = set(args.only.split(","))
    OUT.mkdir(parents=True, exist_ok=True)
    log = args.log or big_log()
    runs = parse_path(str(log)).runs
    last = int(runs[-1].train.iters[-1])
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": platform.platform(),
                     "dont_write_bytecode": bool(args.dont_write_bytecode),
                     "cpus": os.cpu_count(), "python": platform.python_version(), "log": str(log),
                     "log_bytes": log.stat().st_size, "runs": len(runs),
                     "train_records": sum(len(r.train) for r in runs), "last_run_records": len(runs[-1].train),
                     "last_iteration": last}
    try:
        results["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                           text=True).stdout.strip()
    except OSError:
        pass
    del runs
    root = OUT / "big_start"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    try:
        os.link(log, root / "sweep.log")
    except OSError:
        shutil.copyfile(log, root / "sweep.log")
    small_root = OUT / "big_start_small"
    shutil.rmtree(small_root, ignore_errors=True)
    small_root.mkdir(parents=True)
    shutil.copyfile(SMALL_LOG, small_root / "small.log")
    small_last = int(parse_path(str(SMALL_LOG)).runs[-1].train.iters[-1])
    (root / "sweep.log").read_bytes()  # the page cache warm for every start
    cache = OUT / "cache-big-start"
    run_url = "/run?run=" + quote(f"{root.name}/sweep.log")
    small_url = "/run?run=" + quote(f"{small_root.name}/small.log")
    plans = []
    if "floor" in only:
        plans.append(("floor", "floor", lambda: FloorServer(args.port + 1), "/", 4000, None))
    if "tensorboard" in only:
        venv = tb_venv(args.tb_venv)
        logdir = tb_logdir(log, venv)
        plans.append(("tensorboard", "tensorboard", lambda: TensorBoardServer(venv, logdir, args.port + 16),
                      "/?tagFilter=%5Eloss%24#timeseries", last, None))
    env = {"MMDASH_CACHE_DIR": str(cache)}
    if "mmdash" in only:
        def start_cold() -> Server:
            # Everything cached about the log goes; the compiled train-line scanner (``scanner/``) stays, as on any
            # machine where the dashboard ran once.
            for p in cache.glob("*"):
                if p.name != "scanner":
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
            return Server(root, "big-start", env=env, port=args.port)

        def parse_saved() -> dict:
            # The server writes a settled log's parse to its cache once the first read is done, retrying every
            # 30 s (app_state.STORE_RETRY): a server that ran for a while has it; wait for it (2 min at most).
            t0 = time.monotonic()
            while time.monotonic() - t0 < 120 and not any((cache / "parses").glob("*")):
                time.sleep(0.5)
            return {"parse_cache_files": len(list((cache / "parses").glob("*"))),
                    "parse_cache_waited_s": round(time.monotonic() - t0, 1)}

        plans.append(("mmdash_cold", "mmdash", start_cold, run_url, last, parse_saved))
        plans.append(("mmdash_restart", "mmdash", lambda: Server(root, "big-start", env=env, port=args.port),
                      run_url, last, None))
    if args.baseline is not None:
        base_cache = OUT / "cache-big-start-base"
        base_env = {"MMDASH_CACHE_DIR": str(base_cache)}

        def start_base_cold() -> Server:
            for p in base_cache.glob("*"):
                if p.name != "scanner":
                    shutil.rmtree(p) if p.is_dir() else p.unlink()
            return Server(root, "big-start-base", env=base_env, port=args.port, app_dir=args.baseline.resolve())

        def base_saved() -> dict:
            t0 = time.monotonic()
            while time.monotonic() - t0 < 120 and not any((base_cache / "parses").glob("*")):
                time.sleep(0.5)
            return {"parse_cache_waited_s": round(time.monotonic() - t0, 1)}

        plans.append(("base_cold", "mmdash", start_base_cold, run_url, last, base_saved))
        plans.append(("base_restart", "mmdash", lambda: Server(root, "big-start-base", env=base_env, port=args.port,
                                                               app_dir=args.baseline.resolve()),
                      run_url, last, None))
    if "small" in only:
        plans.append(("small", "mmdash", lambda: Server(small_root, "big-start-small", port=args.port + 2),
                      small_url, small_last, None))
    results["load_avg_before"] = os.getloadavg()
    rows: dict[str, list[dict]] = {name: [] for name, *_ in plans}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for r in range(args.rounds):
            for name, kind, start, url, target, before_stop in plans:
                rows[name].append(measure(browser, kind, start, url, target, before_stop))
                print(f"round {r + 1} {name}: {json.dumps(rows[name][-1])}", flush=True)
        browser.close()
    results["load_avg_after"] = os.getloadavg()
    shutil.rmtree(root, ignore_errors=True)
    shutil.rmtree(small_root, ignore_errors=True)
    med = {name: {key: _median([row.get(key) for row in rs]) for key in
                  ("health_s", "first_chart_s", "complete_s", "cpu_to_complete_s", "second_session_cpu_s",
                   "rss_mib")}
           for name, rs in rows.items()}
    for name, rs in rows.items():
        med[name]["partial_first_charts"] = sum(bool(row.get("partial_first")) for row in rs)
        med[name]["incomplete"] = sum(row.get("complete_s") is None for row in rs)
    results.update({"rounds": rows, "medians": med})
    goals = {}

    def ratio(a: str, b: str) -> float | None:
        x, y = med.get(a, {}).get("complete_s"), med.get(b, {}).get("complete_s")
        return round(x / y, 2) if x and y else None

    def per_round(a: str, b: str) -> list:
        if a not in rows or b not in rows:
            return []
        return [round(x["complete_s"] / y["complete_s"], 2) if x.get("complete_s") and y.get("complete_s") else None
                for x, y in zip(rows[a], rows[b])]

    def cpu_ratio(a: str, b: str) -> float | None:
        x, y = med.get(a, {}).get("cpu_to_complete_s"), med.get(b, {}).get("cpu_to_complete_s")
        return round(x / y, 2) if x and y else None

    for name in ("mmdash_cold", "mmdash_restart", "base_cold", "base_restart"):
        if name in med:
            goals[name] = {"vs_tensorboard": ratio(name, "tensorboard"), "vs_floor": ratio(name, "floor"),
                           "vs_tensorboard_per_round": per_round(name, "tensorboard"),
                           "vs_floor_per_round": per_round(name, "floor"),
                           "vs_tensorboard_median_of_rounds": _median(per_round(name, "tensorboard")),
                           "vs_floor_median_of_rounds": _median(per_round(name, "floor")),
                           "server_cpu_vs_tensorboard": cpu_ratio(name, "tensorboard"),
                           "server_cpu_vs_floor": cpu_ratio(name, "floor"),
                           "second_session_cpu_s": med[name]["second_session_cpu_s"]}
            if "small" in med and med[name]["rss_mib"] and med["small"]["rss_mib"]:
                goals[name]["rss_added_mib"] = round(med[name]["rss_mib"] - med["small"]["rss_mib"], 1)
    results["goals"] = goals
    print()
    print("| server | health s | first chart s | complete chart s | partial first charts | CPU to complete s |"
          " 2nd session CPU s | RSS MiB |")
    print("|---|---|---|---|---|---|---|---|")
    for name, m in med.items():
        print(f"| {name} | {m['health_s']} | {m['first_chart_s']} | {m['complete_s']} | "
              f"{m['partial_first_charts']}/{len(rows[name])} | {m['cpu_to_complete_s']} | "
              f"{m['second_session_cpu_s']} | {m['rss_mib']} |")
    print()
    verdict = {True: "PASS", False: "MISS"}
    for name, g in goals.items():
        parts = []
        for key, label, goal in (("tensorboard", "TensorBoard", 1.5), ("floor", "the floor", 2.0)):
            if g[f"vs_{key}"] is not None:
                parts.append(f"{g[f'vs_{key}']}x {label} (goal <= {goal}: {verdict[g[f'vs_{key}'] <= goal]}; rounds "
                             f"{g[f'vs_{key}_per_round']}, median {g[f'vs_{key}_median_of_rounds']}; "
                             f"server CPU {g[f'server_cpu_vs_{key}']}x)")
        if g["second_session_cpu_s"] is not None:
            parts.append(f"new session CPU {g['second_session_cpu_s']} s "
                         f"(goal <= 1: {verdict[g['second_session_cpu_s'] <= 1]})")
        if g.get("rss_added_mib") is not None:
            parts.append(f"memory added {g['rss_added_mib']} MiB (goal <= 200: {verdict[g['rss_added_mib'] <= 200]})")
        print(f"{name}: " + "; ".join(parts))
    for name in ("cold", "restart"):
        if f"base_{name}" in rows and f"mmdash_{name}" in rows:
            pr = per_round(f"mmdash_{name}", f"base_{name}")
            results.setdefault("vs_baseline", {})[name] = {"median_ratio": ratio(f"mmdash_{name}", f"base_{name}"),
                                                         "per_round": pr, "median_of_rounds": _median(pr)}
            print(f"{name}: this checkout / baseline {ratio(f'mmdash_{name}', f'base_{name}')} "
                  f"(rounds {pr}, median {_median(pr)})")
    print("load average before", results["load_avg_before"], "after", results["load_avg_after"])
    path = OUT / "big_start_results.json"
    path.write_text(json.dumps(results, indent=1))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
