"""A big run's cost to the server (issue 18): memory, a new session's CPU, and a restart. Run by hand; numbers,
never assertions.

    python bench/bench_big_run.py                   # all three (~6 min; makes the 1M-line log when missing)
    python bench/bench_big_run.py memory restart    # some of them: memory | cpu | restart | park
    python bench/bench_big_run.py --log /tmp/bigroot/big/20250101_000000/20250101_000000.log

The log is the 1,000,000-line log of ``tools/gen_logs`` (``bench_dashboard.big_log``, or ``--log``: hard-linked or
copied under ``bench/out``, never modified), 4 runs, its last run ~390,000 train records.

- ``memory``: the resident memory (``VmRSS``) of a ``streamlit run app.py`` whose root holds only the small sample
  log, its Run page opened once, against one whose root holds the small log and the big log, read by the watcher
  and the big run's Run page opened once (first chart drawn, the page done; sampled every 5 s for a minute, the
  last sample taken: by then the parse was saved to the parse cache). Goal: the difference (the memory the loaded
  big run adds) <= 200 MiB.
- ``cpu``: on the big server, after that first visit (parse and the default view's charts cached), 5 fresh browser
  contexts open the big run's Run page one after the other; for each, the server's CPU time (user + system, from
  ``/proc/PID/stat``) from ``goto`` until the page is done and 2 s later. Goal: median <= 1 s.
- ``restart`` (in-process): an ``AppState`` on a root holding the big log, from its creation to the model of the
  big log's last run (``AppState.run_model``), with an empty cache dir (the log is parsed) and with the parse
  cache a first server wrote (the log is loaded from it), medians of 5, and the size of the cache file.

- ``park`` (in-process): an ``AppState`` on a root holding the big log (settled: its mtime an hour ago), the big
  run's model built once (a page opened it), its parse and summaries saved; then the model dropped and the log
  parked (``AppState.park_idle``, as the server does once nobody needed the log for ``PARK_IDLE`` seconds):
  ``VmRSS`` of this process before and after (``live.memory.give_back`` called after each step, as the server
  does), and the time and CPU a page then needs to have the model again (the parse loaded from the parse cache).

Results: printed, and written to ``bench/out/big_run_results.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_dashboard import ARGS, CHROMIUM, OUT, Server, big_log, first_trace, stats  # noqa: E402

SMALL = ROOT / "sample_logs" / "llm_sft_len_grouped" / "20260314_090000" / "20260314_090000.log"
MIB = 1 << 20


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_root(name: str, big: Path | None) -> Path:
    root = OUT / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    shutil.copyfile(SMALL, root / "small.log")
    if big is not None:
        try:
            os.link(big, root / "big.log")
        except OSError:
            shutil.copyfile(big, root / "big.log")
    return root


def wait_parsed(page, server: Server, size: int) -> float:
    t0 = time.monotonic()
    while stats(page, server).get("bytes fed to parsers", 0) < size:
        if time.monotonic() - t0 > 600:
            raise RuntimeError("the watcher did not read the log in 10 min")
        page.wait_for_timeout(1000)
    return time.monotonic() - t0


def open_run(browser, url: str) -> dict:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        return first_trace(ctx.new_page(), url)
    finally:
        ctx.close()


def bench_memory_cpu(browser, log: Path, sections: list[str]) -> dict:
    out: dict = {}
    small_root = make_root("big18_small", None)
    server = Server(small_root, "big18-small")
    try:
        open_run(browser, server.url + "/run?run=" + quote("big18_small/small.log"))
        time.sleep(5)
        out["small_root_rss_mib"] = round(rss_mib(server.proc.pid), 1)
    finally:
        server.stop()
        shutil.rmtree(small_root, ignore_errors=True)
    root = make_root("big18_big", log)
    size = (root / "big.log").stat().st_size
    shutil.rmtree(OUT / "cache-big18-big", ignore_errors=True)
    server = Server(root, "big18-big", env={"MMDASH_CACHE_DIR": str(OUT / "cache-big18-big")})
    try:
        ctx = browser.new_context()
        out["watcher_parse_s"] = round(wait_parsed(ctx.new_page(), server, size), 1)
        ctx.close()
        url = server.url + "/run?run=" + quote("big18_big/big.log")
        c0 = cpu_s(server.proc.pid)
        out["first_visit"] = open_run(browser, url)
        time.sleep(5)
        out["first_visit"]["server_cpu_s"] = round(cpu_s(server.proc.pid) - c0, 3)
        # RSS every 5 s for a minute after the visit: the server saves the log's parse (parse cache) within ~30 s
        # of reading it, which costs a passing copy; the figure is the last sample, once that is done.
        samples = []
        for _ in range(12):
            samples.append(round(rss_mib(server.proc.pid), 1))
            time.sleep(5)
        out["big_root_rss_samples_mib"] = samples
        out["big_root_rss_mib"] = samples[-1]
        out["added_mib"] = round(out["big_root_rss_mib"] - out["small_root_rss_mib"], 1)
        print(f"memory: small root {out['small_root_rss_mib']} MiB, big root {out['big_root_rss_mib']} MiB "
              f"(samples {samples}), added {out['added_mib']} MiB (goal <= 200)", flush=True)
        if "cpu" in sections:
            visits = []
            for _ in range(5):
                c0 = cpu_s(server.proc.pid)
                r = open_run(browser, url)
                time.sleep(2)
                r["server_cpu_s"] = round(cpu_s(server.proc.pid) - c0, 3)
                visits.append(r)
            out["new_sessions"] = visits
            out["new_session_cpu_median_s"] = statistics.median(v["server_cpu_s"] for v in visits)
            out["rss_after_sessions_mib"] = round(rss_mib(server.proc.pid), 1)
            print(f"new session CPU: {[v['server_cpu_s'] for v in visits]}, median "
                  f"{out['new_session_cpu_median_s']} s (goal <= 1)", flush=True)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
    return out


def bench_restart(log: Path, reps: int = 5) -> dict:
    """In-process: AppState creation to the last run's model, without and with the parse cache (wall and CPU time;
    the machine is shared, CPU time is the steadier figure)."""
    from dashboard.views.app_state import AppConfig, create

    root = make_root("big18_restart", log)

    def once(cache: Path, save: bool) -> dict:
        os.environ["MMDASH_CACHE_DIR"] = str(cache)
        t0, c0 = time.perf_counter(), time.process_time()
        state = create(AppConfig((str(root),), "MMDASH_ROOTS", False))
        try:
            src = state.lookup("big18_restart/big.log").source
            model = state.run_model(src, None)
            while model is None or model.reading is not None:
                state.need_records(src)
                model = state.run_model(src, None)
            r = {"wall_s": round(time.perf_counter() - t0, 3), "cpu_s": round(time.process_time() - c0, 3),
                 "resumed_from_cache": bool(src.tailer.resumed_at), "records": len(model.frame)}
            if save:
                r["saved"] = state.save_parse(src)  # what the server does once the log settled
        finally:
            state.close()
        print("restart", r, flush=True)
        return r

    out: dict = {}
    try:
        # One cache dir: the compiled train-line scanner in its scanner/ stays; the summaries and parses are
        # emptied before each start without the cache.
        cache = OUT / "cache-big18-restart"
        shutil.rmtree(cache, ignore_errors=True)
        out["no_cache"] = []
        for _ in range(reps):
            for sub in ("summaries", "parses"):
                shutil.rmtree(cache / sub, ignore_errors=True)
            out["no_cache"].append(once(cache, save=False))
        for sub in ("summaries", "parses"):
            shutil.rmtree(cache / sub, ignore_errors=True)
        out["first_start_saving"] = once(cache, save=True)
        out["parse_cache_bytes"] = sum(p.stat().st_size for p in (cache / "parses").iterdir())
        out["parse_cache"] = [once(cache, save=False) for _ in range(reps)]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for k in ("no_cache", "parse_cache"):
        for m in ("wall_s", "cpu_s"):
            out[f"{k}_median_{m}"] = statistics.median(r[m] for r in out[k])
    out["ratio_wall"] = round(out["parse_cache_median_wall_s"] / out["no_cache_median_wall_s"], 3)
    out["ratio_cpu"] = round(out["parse_cache_median_cpu_s"] / out["no_cache_median_cpu_s"], 3)
    return out


def bench_park(log: Path) -> dict:
    """In-process: the memory a parked big log gives back, and what opening it again costs."""
    import gc

    from dashboard.live.memory import give_back
    from dashboard.views.app_state import AppConfig, AppState

    root = make_root("big18_park", None)
    shutil.copyfile(log, root / "big.log")  # a copy: its mtime is set below (a hard link would share it)
    old = time.time() - 3600
    for f in root.iterdir():
        os.utime(f, (old, old))
    cache = OUT / "cache-big18-park"
    for sub in ("summaries", "parses"):
        shutil.rmtree(cache / sub, ignore_errors=True)
    os.environ["MMDASH_CACHE_DIR"] = str(cache)
    from dashboard.live.parse_cache import ParseCache
    from dashboard.views.summary_cache import SummaryCache

    def settle() -> float:
        gc.collect()
        give_back()
        return round(rss_mib(os.getpid()), 1)

    out: dict = {"rss_before_start_mib": settle()}
    state = AppState(AppConfig((str(root),), "MMDASH_ROOTS", False), summary_cache=SummaryCache.from_env(),
                     parse_cache=ParseCache.from_env())
    try:
        src = state.lookup("big18_park/big.log").source
        state.need_records(src)
        model = state.run_model(src, None)
        out["records"] = len(model.frame)
        del model
        out["saved_parse"] = state.save_parse(src) or src.tailer.parse_saved
        state.run_summaries(src)
        out["summaries_stored"] = state.summary_cache.stores
        state.drop_idle_models(idle=0)
        out["rss_loaded_mib"] = settle()
        out["asked"] = state.park_idle(idle=0)
        deadline = time.monotonic() + 60
        while not src.tailer.deferred and time.monotonic() < deadline:
            time.sleep(0.05)
        out["parked"] = src.tailer.deferred
        out["rss_parked_mib"] = settle()
        out["given_back_mib"] = round(out["rss_loaded_mib"] - out["rss_parked_mib"], 1)
        t0, c0 = time.perf_counter(), time.process_time()
        state.need_records(src)
        model = state.run_model(src, None)
        out["open_again_wall_s"] = round(time.perf_counter() - t0, 3)
        out["open_again_cpu_s"] = round(time.process_time() - c0, 3)
        out["open_again_from_parse_cache"] = src.tailer.resumed_at == src.size
        out["records_again"] = len(model.frame)
    finally:
        state.close()
        shutil.rmtree(root, ignore_errors=True)
    print("park", out, flush=True)
    return out


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sections", nargs="*", default=["memory", "cpu", "restart"])
    ap.add_argument("--log", type=Path, default=None)
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    log = args.log or big_log()
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": platform.platform(),
                     "cpus": os.cpu_count(), "load_avg": os.getloadavg(), "python": platform.python_version(),
                     "log_bytes": log.stat().st_size}
    if {"memory", "cpu"} & set(args.sections):
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            results["memory_cpu"] = bench_memory_cpu(browser, log, args.sections)
            browser.close()
    if "restart" in args.sections:
        results["restart"] = bench_restart(log)
    if "park" in args.sections:
        results["park"] = bench_park(log)
    results["load_avg_after"] = os.getloadavg()
    print(json.dumps(results, indent=1))
    path = OUT / "big_run_results.json"
    path.write_text(json.dumps(results, indent=1))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
