"""A plotly chart that stays one graph in the browser and takes what is new: the Run page's charts.

``st.plotly_chart`` mounts a new plotly graph whenever the figure changes (its element id is a hash of the figure)
and sends the whole figure each time. This ``st.components.v2`` component (inline JavaScript, no build step) has a
stable key, owns its plotly graph and, on each rerun, gets only what this session has not sent yet
(``views.chart_stream.next_message``: the last message again when nothing is new, the new points of each trace, or
traces / layout again), which it applies in order with ``Plotly.react`` on the same graph (``uirevision`` keeps
zoom, hover and legend; a resting mouse pointer gets its hover label back). The component sees only the newest
data (one that came before its script ran or plotly.js loaded is applied then), hence "the last message again"
rather than "nothing": a message that was never seen is not lost to an empty one after it. A graph that holds
another ``seq`` than the message's ``base`` (mounted again, a message lost) sends ``resync`` and the next message
is the whole figure.

plotly.js is the file ``charts.plotly_js.served()`` chooses: plotly.js's basic bundle (npm's
``plotly.js-basic-dist-min``, installed by ``npm ci``; every chart here is a scatter trace), or, without it, the full
bundle of the installed ``plotly`` package. It is served by Streamlit's route for custom components' files
(``/component/dashboard.ui.live_chart.plotly_js/<file>``, under ``server.baseUrlPath`` when one is set,
``Cache-Control: public`` without a lifetime or a validator: browsers fetch it again for each page), declared with
the public ``st.components.v1.declare_component(name, path=folder)`` (a v1 component that is never mounted: only its
folder is used), loaded from the top of the page on (``preload_plotly``: before the page's slow work), once
per browser tab.
(Streamlit's ``st.components.v2`` serves an ``asset_dir`` only for components of an installed package's
``pyproject.toml`` manifest; the dashboard is not an installed package, and the v1 declaration needs no private API.)

The chart's container has the class ``st-key-chart_<chart>`` (``chart_sync`` finds the graphs by it), and the
graph div is plotly's ``.js-plotly-plot`` in the page's DOM (no shadow root: ``chart_sync`` and plotly's own
styles reach it).
"""

from __future__ import annotations

import streamlit as st

from dashboard.charts import plotly_js
from dashboard.views import chart_stream

_CURSORS = "_live_chart_cursors"

_JS = """
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  const G = window.__mmdashLive || (window.__mmdashLive = { plotly: null, asked: {} });
  const load = () => G.plotly || (G.plotly = new Promise((ok, bad) => {
    if (window.Plotly) { ok(window.Plotly); return; }
    const s = document.createElement("script");
    s.src = data.plotly;
    s.async = true;
    performance.mark("mmdash:plotly:request");  // the page's timeline (bench/bench_run_page.py timeline)
    s.onload = () => {
      performance.mark("mmdash:plotly:loaded");
      (window.Plotly ? ok(window.Plotly) : bad(new Error("plotly.js did not load")));
    };
    s.onerror = () => { G.plotly = null; bad(new Error("plotly.js did not load")); };
    document.head.appendChild(s);
  }));
  if (!data || !data.msg) {  // the page's loader (preload_plotly): plotly.js is compiled while the page waits
    if (data && data.plotly) load().catch(() => {});
    return;
  }
  let gd = parentElement.querySelector(":scope > div.mmdash-live-chart");
  if (!gd) {
    gd = document.createElement("div");
    gd.className = "mmdash-live-chart";
    G.mounts = G.mounts || {};
    (G.mounts[data.key] = G.mounts[data.key] || []).push(Math.round(performance.now()));  // graphs made, per chart
    performance.mark("mmdash:mount:" + data.key);
    gd.style.width = "100%";
    gd.style.height = String(data.height || 450) + "px";
    parentElement.appendChild(gd);
  }
  const msg = data.msg;
  (gd.__mmdashQueue || (gd.__mmdashQueue = [])).push(msg);
  const decode = (v) => {
    if (!v || typeof v !== "object" || v.dtype !== "f8" || typeof v.bdata !== "string") return v;
    const bin = atob(v.bdata);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Float64Array(bytes.buffer);
  };
  const concat = (a, b) => {
    const out = new Float64Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  };
  const resync = () => {
    const now = Date.now();
    const last = G.asked[data.key];
    if (last && last.seq === msg.seq && now - last.at < 2000) return;
    G.asked[data.key] = { seq: msg.seq, at: now };
    setTriggerValue("resync", { have: gd.__mmdash ? gd.__mmdash.seq : null, at: now });
  };
  const rehover = () => {
    const S = window.__mmdashChartSync;
    const p = S && S.pointer;
    if (!p || p.key !== data.key) return;
    const r = gd.getBoundingClientRect();
    if (p.x < r.left || p.x > r.right || p.y < r.top || p.y > r.bottom) return;
    const target = document.elementFromPoint(p.x, p.y);
    if (target && gd.contains(target)) {
      target.dispatchEvent(new MouseEvent("mousemove", { clientX: p.x, clientY: p.y, bubbles: true }));
    }
  };
  const apply = (Plotly) => {
    // A graph draws at most a quarter of the time: after a draw that took d ms, the next waits 3 d (messages that
    // come meanwhile are applied together). Nothing changes on a fast machine; on a loaded one, browsers showing a
    // fast run keep time for the rest of the page.
    const wait = (gd.__mmdashNext || 0) - performance.now();
    if (wait > 0) {
      if (!gd.__mmdashTimer) {
        gd.__mmdashTimer = setTimeout(() => { gd.__mmdashTimer = null; apply(Plotly); }, wait);
      }
      return;
    }
    // Every message since the last draw, in order (some may have come while plotly.js loaded), then one draw.
    const queue = gd.__mmdashQueue || [];
    gd.__mmdashQueue = [];
    const held = gd.__mmdash;
    let seq = held ? held.seq : null;
    let traces = held ? held.data : null;
    let layout = held ? held.layout : null;
    let config = held ? held.config : null;
    for (const m of queue) {
      if (m.seq === seq) continue;
      if (m.base === null || m.base === undefined) {
        traces = new Array(m.n).fill(null);
      } else if (seq === m.base && traces && traces.length === m.n) {
        traces = traces.slice();
      } else {
        resync();
        return;
      }
      for (const part of m.parts) {
        if (part.trace) {
          const t = Object.assign({}, part.trace);
          if (t.x) t.x = decode(t.x);
          if (t.y) t.y = decode(t.y);
          traces[part.i] = t;
        } else {
          const old = traces[part.i];
          traces[part.i] = Object.assign({}, old, { x: concat(old.x, decode(part.x)),
                                                    y: concat(old.y, decode(part.y)) });
        }
      }
      if (m.layout) layout = Object.assign({}, m.layout, { datarevision: m.seq });
      else layout = Object.assign({}, layout, m.layout_patch || {}, { datarevision: m.seq });
      for (const k of m.layout_drop || []) delete layout[k];  // (the layout's keys that changed, and those gone)
      if (m.config) config = Object.assign({ responsive: true, showTips: false }, m.config);
      seq = m.seq;
    }
    if (!traces || (held && held.seq === seq)) return;
    gd.__mmdash = { seq: seq, data: traces, layout: layout, config: config };
    const t0 = performance.now();
    Plotly.react(gd, traces, layout, config).then(() => {
      if (gd.__mmdashDrawn === undefined) performance.mark("mmdash:drawn:" + data.key);
      gd.__mmdashNext = performance.now() + 3 * (performance.now() - t0);
      gd.__mmdashDrawn = seq;
      (G.drawn || (G.drawn = {}))[data.key] = seq;  // the message drawn (run_view's trigger after the charts)
      rehover();  // (the pointer chart_sync keeps)
    });
  };
  // Each chart in a task of its own: the first one on the page is drawn (and painted) before the others start.
  load().then((Plotly) => new Promise((done) => setTimeout(() => done(apply(Plotly)), 0)), (err) => {
    gd.textContent = "The chart could not be drawn: " + String(err && err.message);
  });
}
"""

_component = st.components.v2.component("mmdash_live_chart", js=_JS, isolate_styles=False)


_ASSET_NAME = "plotly_js"  # served as "dashboard.ui.live_chart.plotly_js"
_declared = False  # the folder is declared on this process's runtime (one per ``streamlit run``)


def _plotly_url() -> str:
    """The URL of the chosen plotly.js (``charts.plotly_js.served``) on this server: the server's own route
    (``ui.server.plotly_url``), else the component route (declared once, from a page's run:
    ``declare_component`` registers only where a script runs)."""
    global _declared
    from streamlit import config
    from streamlit.components.v1 import declare_component

    from dashboard.ui import server

    own = server.plotly_url()
    if own is not None:  # the server's own route: cached by the browser for a year (``ui.server``)
        return own
    bundle = plotly_js.served()
    if not _declared:
        declare_component(_ASSET_NAME, path=str(bundle.folder))
        _declared = True
    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    prefix = f"/{base}/" if base else "/"
    return f"{prefix}component/{__name__}.{_ASSET_NAME}/{bundle.name}?v={bundle.version}"


def live_chart(payload: chart_stream.ChartPayload, *, key: str, identity: str, config: dict) -> int:
    """Draw ``payload`` under the element key ``key``: the whole figure the first time this session draws it
    (or when ``identity``, the chart's run and settings, changed), then only what is new. Returns the ``seq`` of
    the message sent; once the browser drew it (or a later one), ``window.__mmdashLive.drawn[key]`` is at least
    that (``run_view``'s trigger after the charts)."""
    cursors = st.session_state.setdefault(_CURSORS, {})
    msg, cursors[key] = chart_stream.next_message(payload, config, identity, cursors.get(key))

    def resync() -> None:
        st.session_state.get(_CURSORS, {}).pop(key, None)

    height = int(payload.layout.get("height") or 450)  # plotly's default, as st.plotly_chart drew it
    _component(key=key, data={"key": key, "msg": msg, "plotly": _plotly_url(), "height": height},
               on_resync_change=resync, height="content")
    return int(msg["seq"])


def preload_plotly() -> None:
    """Load plotly.js in the browser now: call it before a page's slow work (a log's first read, a run model's
    build). An empty mount of the chart component (no message) that only loads plotly.js, so the browser fetches
    and compiles it while the server works, and the component's own code is in place too; the first chart then
    draws as soon as its message comes. (Measured on the 1M-line log's first start, ``bench/README.md``: a
    ``<link rel="preload">`` written after the model only fetched it, once the model was built; the charts
    mounted 0.3-0.65 s after the script's end and drew one by one after that.)"""
    _component(key="plotly_loader", data={"plotly": _plotly_url()}, height="content")
