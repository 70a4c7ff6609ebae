"""Bytes a fresh Run page of the 1,000,000-line log transfers, direct and through the README's proxy recipes (issue 18).

    python bench/bench_proxy_bytes.py                   # ~5 min (makes the 1M-line log when missing)
    python bench/bench_proxy_bytes.py --log PATH --reps 3

Run by hand; numbers, never assertions. Needs nginx (Debian: ``apt-get install nginx``) and, for its rows, Caddy
(``apt-get install caddy``); bench-only, never needed by the tests. Two dashboard servers under the prefix
``/mmdash`` (``--server.baseUrlPath mmdash``) on a root holding the log: ``A`` as configured, ``B`` with
``--server.enableWebsocketCompression true`` (permessage-deflate). One nginx (ports 8760-8763) and one Caddy (8764,
8765) in front of them, each site a variant of the README's recipe (the text of each is printed):

- ``direct``: the browser talks to ``A`` itself (no proxy);
- ``nginx plain``: the recipe without its ``gzip`` lines (what any proxy without compression sends: the wire bytes of
  ``direct``, counted by nginx);
- ``nginx old``: the README's recipe before issue 18 (``gzip_types application/javascript text/css application/json``);
- ``nginx``: the recipe now (the MIME types Streamlit really sends, ``gzip_vary``, ``gzip_proxied any``), to ``A``;
- ``nginx + ws``: the same recipe to ``B``: the WebSocket's messages compressed by Streamlit;
- ``caddy``, ``caddy + ws``: the Caddy recipe (``encode zstd gzip``) to ``A`` and to ``B``.

Each visit opens ``/mmdash/run?run=<root>/sweep.log`` in a fresh browser context (Chromium, empty cache), waits for
the loss chart holding the run's last iteration and the script finished, 2 s more, then closes the page. Counted:
Chrome DevTools Protocol ``Network`` events: ``encodedDataLength`` of every HTTP response (the bytes on the wire:
headers and the body as sent, compressed or not), and the payload of every WebSocket frame received (after
permessage-deflate is undone: what the page got); for the proxied rows, the proxy's own count of the bytes it sent
to the browser (nginx ``$bytes_sent``, Caddy's ``size`` in its JSON access log; for the WebSocket: the compressed
frames as sent, logged when the socket closes). The dashboard's CPU time for each visit is the server process's
utime + stime around it (permessage-deflate costs CPU: ``A`` vs ``B``). A first visit to each server (the watcher's
parse, the run's model) is not counted. Goal (issue 18): a fresh page through the recipe transfers at most 3 MB.
Caddy does not log a WebSocket's bytes (its access log says 0 for the upgraded connection): its rows take the
WebSocket's wire bytes from the nginx row with the same dashboard server (a proxy passes the frames through as
they are; ``caddy`` from ``nginx``, ``caddy + ws`` from ``nginx + ws``).

Also, offline, what else could be had for the static files this page loaded (its ``/static/`` URLs, read from
Streamlit's package): their size raw, gzip at levels 1 (nginx's default), 6 and 9, and, when the ``brotli`` module
is importable (not a project dependency), brotli at quality 5 (on the fly) and 11 (precompressed files served with
nginx's ``brotli_static``; browsers ask for ``br`` over HTTPS only).

Results: printed (a Markdown table), and written to ``bench/out/proxy_bytes_results.json``.
"""

from __future__ import annotations

import argparse
import base64
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

from bench_big_start import MMDASH_LAST_X, cpu_s, wait_idle  # noqa: E402
from bench_dashboard import ARGS, CHROMIUM, OUT, Server, big_log, wait_ready  # noqa: E402

PREFIX = "mmdash"

# The README's nginx recipe ("Sharing: behind a reverse proxy under a path prefix"), its location block; {gzip} is
# replaced by each variant's compression lines, {upstream} by the dashboard's address.
NGINX_LOCATION = """
    location /mmdash/ {{
        proxy_pass http://{upstream};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout 86400;
        proxy_buffering off;
        client_max_body_size 500m;
{gzip}
    }}"""
NGINX_GZIP_OLD = """        gzip on;
        gzip_types application/javascript text/css application/json;"""
NGINX_GZIP = """        gzip on;
        gzip_vary on;
        gzip_proxied any;
        gzip_comp_level 6;
        gzip_types text/javascript application/javascript text/css application/json image/svg+xml
                   font/ttf font/otf application/vnd.ms-fontobject text/plain text/csv;"""
CADDY_SITE = """
:{port} {{
    log {{
        output file {log}
        format json
    }}
    handle /mmdash/* {{
        encode zstd gzip
        reverse_proxy {upstream}
    }}
}}"""


def nginx_conf(prefix: Path, sites: dict[int, tuple[str, str]]) -> str:
    servers = []
    for port, (upstream, gzip) in sites.items():
        servers.append(f"""
  server {{
    listen 127.0.0.1:{port};
    access_log {prefix}/access-{port}.log bytes;
{NGINX_LOCATION.format(upstream=upstream, gzip=gzip)}
  }}""")
    return f"""
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log;
events {{ worker_connections 256; }}
http {{
  include /etc/nginx/mime.types;
  client_body_temp_path {prefix}/tmp-body;
  proxy_temp_path {prefix}/tmp-proxy;
  fastcgi_temp_path {prefix}/tmp-fcgi;
  uwsgi_temp_path {prefix}/tmp-uwsgi;
  scgi_temp_path {prefix}/tmp-scgi;
  log_format bytes '$status $bytes_sent "$request" "$sent_http_content_type" "$sent_http_content_encoding"';
  {"".join(servers)}
}}
"""


def proxy_log_bytes(path: Path, offset: int, caddy: bool) -> tuple[int, int, int]:
    """(HTTP bytes, WebSocket bytes, requests) the proxy logged after ``offset`` of its access log."""
    http = ws = n = 0
    with open(path, "rb") as f:
        f.seek(offset)
        for line in f.read().decode().splitlines():
            if caddy:
                entry = json.loads(line)
                status, size = entry.get("status"), int(entry.get("size", 0))
                # Caddy's "size" is the body; the response headers are about 300 bytes more (not logged)
            else:
                status_s, size_s = line.split(" ", 2)[:2]
                status, size = int(status_s), int(size_s)
            n += 1
            if status == 101:
                ws += size
            else:
                http += size
    return http, ws, n


def static_estimates(urls: list[str]) -> dict[str, int]:
    """Bytes of the page's ``/static/`` files raw and compressed at other levels (read from Streamlit's package)."""
    import gzip

    import streamlit

    static = Path(streamlit.__file__).parent / "static"
    try:
        import brotli  # optional: only for this estimate
    except ImportError:
        brotli = None
    out = {"files": 0, "raw": 0, "gzip_1": 0, "gzip_6": 0, "gzip_9": 0}
    if brotli:
        out.update({"brotli_5": 0, "brotli_11": 0})
    for url in dict.fromkeys(urls):
        rel = url.split(f"/{PREFIX}/", 1)[-1].split("?", 1)[0]
        f = static / rel
        if not rel.startswith("static/") or not f.is_file():
            continue
        data = f.read_bytes()
        out["files"] += 1
        out["raw"] += len(data)
        for level in (1, 6, 9):
            out[f"gzip_{level}"] += len(gzip.compress(data, level))
        if brotli:
            out["brotli_5"] += len(brotli.compress(data, quality=5))
            out["brotli_11"] += len(brotli.compress(data, quality=11))
    return out


def visit(browser, url: str, last: int, server: Server, access_log: Path | None, caddy: bool) -> dict:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    cdp.send("Network.enable")
    http: dict[str, int] = {}
    kinds: dict[str, str] = {}
    urls: list[str] = []
    ws = [0, 0]

    def finished(e: dict) -> None:
        http[e["requestId"]] = int(e.get("encodedDataLength", 0))

    def response(e: dict) -> None:
        r = e["response"]
        enc = {k.lower(): v for k, v in (r.get("headers") or {}).items()}.get("content-encoding", "")
        kinds[e["requestId"]] = f"{r.get('mimeType', '')} {enc}".strip()
        urls.append(r.get("url", ""))

    def frame(e: dict) -> None:
        r = e["response"]
        data = r.get("payloadData", "")
        ws[0] += len(base64.b64decode(data)) if r.get("opcode") == 2 else len(data.encode())
        ws[1] += 1

    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.responseReceived", response)
    cdp.on("Network.webSocketFrameReceived", frame)
    offset = access_log.stat().st_size if access_log and access_log.exists() else 0
    c0 = cpu_s(server.proc.pid)
    t0 = time.monotonic()
    page.goto(url)
    page.wait_for_function(f"({MMDASH_LAST_X})() >= {last}", timeout=300_000, polling=100)
    wait_ready(page)
    page.wait_for_timeout(2000)
    out = {"complete_s": round(time.monotonic() - t0, 2), "http_bytes": sum(http.values()),
           "http_responses": len(http), "ws_payload_bytes": ws[0], "ws_frames": ws[1]}
    by_kind: dict[str, int] = {}
    for rid, size in http.items():
        by_kind[kinds.get(rid, "?")] = by_kind.get(kinds.get(rid, "?"), 0) + size
    out["http_by_type"] = dict(sorted(by_kind.items(), key=lambda kv: -kv[1]))
    out["urls"] = urls
    ctx.close()
    if access_log:  # the WebSocket's line comes when it closes
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            p_http, p_ws, n = proxy_log_bytes(access_log, offset, caddy)
            if p_ws:
                break
            time.sleep(0.2)
        out.update({"proxy_http_bytes": p_http, "proxy_ws_bytes": p_ws, "proxy_log_lines": n})
    time.sleep(1)
    out["server_cpu_s"] = round(cpu_s(server.proc.pid) - c0, 3)
    return out


def main(argv: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    from parsers import parse_path

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--log", type=Path, default=None, help="the big log (default: the bench's 1M-line log)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--port", type=int, default=8752, help="dashboard A; B is +1; nginx 8760-8763, Caddy 8764-8765")
    args = ap.parse_args(argv)
    nginx, caddy = shutil.which("nginx") or "/usr/sbin/nginx", shutil.which("caddy")
    OUT.mkdir(parents=True, exist_ok=True)
    log = args.log or big_log()
    last = int(parse_path(str(log)).runs[-1].train.iters[-1])
    root = OUT / "proxy_bytes"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    try:
        os.link(log, root / "sweep.log")
    except OSError:
        shutil.copyfile(log, root / "sweep.log")
    path = f"/{PREFIX}/run?run=" + quote(f"{root.name}/sweep.log")
    prefix_dir = OUT / "proxy_bytes_proxies"
    shutil.rmtree(prefix_dir, ignore_errors=True)
    prefix_dir.mkdir(parents=True)
    a_port, b_port = args.port, args.port + 1
    a, b = f"127.0.0.1:{a_port}", f"127.0.0.1:{b_port}"
    nginx_sites = {8760: (a, ""), 8761: (a, NGINX_GZIP_OLD), 8762: (a, NGINX_GZIP), 8763: (b, NGINX_GZIP)}
    (prefix_dir / "nginx.conf").write_text(nginx_conf(prefix_dir, nginx_sites))
    caddy_sites = {8764: a, 8765: b}
    (prefix_dir / "Caddyfile").write_text("{\n    admin off\n}\n" + "".join(
        CADDY_SITE.format(port=port, upstream=up, log=prefix_dir / f"access-{port}.log")
        for port, up in caddy_sites.items()))
    results: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "machine": platform.platform(),
                     "python": platform.python_version(), "log": str(log), "log_bytes": log.stat().st_size,
                     "last_iteration": last, "load_avg_before": os.getloadavg(),
                     "nginx_conf": (prefix_dir / "nginx.conf").read_text(),
                     "caddyfile": (prefix_dir / "Caddyfile").read_text()}
    print(results["nginx_conf"])
    print(results["caddyfile"])
    extra = ("--server.baseUrlPath", PREFIX)
    procs: list[subprocess.Popen] = []
    servers: list[Server] = []
    rows: dict[str, list[dict]] = {}
    try:
        servers.append(Server(root, "proxy-bytes-a", port=a_port, extra=extra))
        servers.append(Server(root, "proxy-bytes-b", port=b_port,
                              extra=(*extra, "--server.enableWebsocketCompression", "true")))
        procs.append(subprocess.Popen([nginx, "-p", str(prefix_dir), "-c", str(prefix_dir / "nginx.conf")],
                                      stdout=open(prefix_dir / "nginx.out", "w"), stderr=subprocess.STDOUT))
        if caddy:
            procs.append(subprocess.Popen([caddy, "run", "--config", str(prefix_dir / "Caddyfile"), "--adapter",
                                           "caddyfile"], stdout=open(prefix_dir / "caddy.out", "w"),
                                          stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(prefix_dir)}))
        server_a, server_b = servers
        plan = [("direct", f"http://{a}", server_a, None, False),
                ("nginx plain", "http://127.0.0.1:8760", server_a, 8760, False),
                ("nginx old", "http://127.0.0.1:8761", server_a, 8761, False),
                ("nginx", "http://127.0.0.1:8762", server_a, 8762, False),
                ("nginx + ws", "http://127.0.0.1:8763", server_b, 8763, False)]
        if caddy:
            plan += [("caddy", "http://127.0.0.1:8764", server_a, 8764, True),
                     ("caddy + ws", "http://127.0.0.1:8765", server_b, 8765, True)]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            for server in servers:  # the parse and the run's model, not counted
                ctx = browser.new_context()
                pg = ctx.new_page()
                pg.goto(f"{server.url}{path}")
                pg.wait_for_function(f"({MMDASH_LAST_X})() >= {last}", timeout=600_000, polling=500)
                ctx.close()
            for rep in range(args.reps):
                for name, origin, server, port, is_caddy in plan:
                    wait_idle(server.proc.pid, 30)
                    access = prefix_dir / f"access-{port}.log" if port else None
                    rows.setdefault(name, []).append(visit(browser, origin + path, last, server, access, is_caddy))
                    r = rows[name][-1]
                    print(f"rep {rep + 1} {name}: http {r['http_bytes']} ws {r['ws_payload_bytes']} "
                          f"proxy {r.get('proxy_http_bytes')}+{r.get('proxy_ws_bytes')} cpu {r['server_cpu_s']}",
                          flush=True)
            browser.close()
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)
        for s in servers:
            s.stop()
        shutil.rmtree(root, ignore_errors=True)
    results["load_avg_after"] = os.getloadavg()

    def med(name: str, key: str) -> float | None:
        vals = [r[key] for r in rows[name] if r.get(key) is not None]
        return statistics.median(vals) if vals else None

    table = {}
    for name in rows:
        http, ws_payload = med(name, "http_bytes"), med(name, "ws_payload_bytes")
        p_http, p_ws = med(name, "proxy_http_bytes"), med(name, "proxy_ws_bytes")
        if name.startswith("caddy"):  # not in Caddy's log: the same frames as through nginx to the same server
            p_ws = table.get(name.replace("caddy", "nginx"), {}).get("proxy_ws_bytes")
        # The bytes the browser received: the HTTP responses as Chromium counted them, plus the WebSocket as the
        # proxy sent it (compressed frames); with no proxy, the frames' payload (no compression on that socket).
        total = http + (p_ws if p_ws else ws_payload)
        table[name] = {"http_bytes": http, "ws_payload_bytes": ws_payload, "proxy_http_bytes": p_http,
                       "proxy_ws_bytes": p_ws, "total_bytes": total, "server_cpu_s": med(name, "server_cpu_s"),
                       "complete_s": med(name, "complete_s"), "http_by_type": rows[name][-1]["http_by_type"]}
    results.update({"reps": rows, "table": table})
    results["static_estimates"] = static_estimates(rows["direct"][0]["urls"])
    mb = 1e6
    print()
    print("| route | HTTP (browser) MB | WebSocket payload MB | proxy sent: HTTP + WebSocket MB | total MB | "
          "server CPU s per visit |")
    print("|---|---|---|---|---|---|")
    for name, t in table.items():
        proxied = (f"{t['proxy_http_bytes'] / mb:.2f} + {t['proxy_ws_bytes'] / mb:.2f}"
                   if t["proxy_ws_bytes"] is not None else "")
        print(f"| {name} | {t['http_bytes'] / mb:.2f} | {t['ws_payload_bytes'] / mb:.2f} | {proxied} | "
              f"**{t['total_bytes'] / mb:.2f}** | {t['server_cpu_s']} |")
    print()
    for name, t in table.items():
        print(name, "HTTP by type:", {k: round(v / mb, 3) for k, v in list(t["http_by_type"].items())[:6]})
    est = results["static_estimates"]
    print(f"the {est['files']} static files of the page, offline (MB):",
          {k: round(v / mb, 3) for k, v in est.items() if k != "files"})
    print("goal (issue 18): a fresh page through the recipe <= 3 MB:",
          {k: ("PASS" if v["total_bytes"] <= 3 * mb else "MISS") for k, v in table.items()})
    print("load average before", results["load_avg_before"], "after", results["load_avg_after"])
    out = OUT / "proxy_bytes_results.json"
    out.write_text(json.dumps(results, indent=1))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
