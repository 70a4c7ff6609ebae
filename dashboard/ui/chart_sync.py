"""The Run page's charts as one instrument: a drag-zoom on any chart sets the x range of every chart (and the URL),
a double-click resets it, and the legend entries a person hid stay hidden while the run grows.

Why a component (``st.components.v2``, inline JavaScript, no build step): a plotly graph hands Python selections
at most (``st.plotly_chart``), never a zoom (a plotly *relayout*). The charts themselves are drawn by
``dashboard.ui.live_chart`` (one plotly graph per chart that takes appended points in place; ``st.plotly_chart``
would mount a new graph on every redraw), and the view is state the server owns:

- ``plotly_relayout`` with an x range on a chart (a drag-zoom or pan) -> a trigger (``zoom``) -> the page's
  x-range inputs are set (``on_zoom``), which puts ``x_range`` in the URL, cuts every chart to it at full detail
  (re-sampled, not plotly's zoom into the points drawn) and draws it so from then on, every live redraw included. A
  range reaching the end of the data is left open (``x_range=157,``) and follows the run as it grows.
- ``xaxis.autorange`` (plotly's double-click) -> ``zoom`` with ``reset`` -> the range is cleared.
- ``plotly_restyle`` (a legend click) -> ``legend`` with the hidden legend groups of that chart -> kept in the
  session and drawn as ``visible='legendonly'`` (``run_model.ChartView.hidden_traces``).
- Hover: the script keeps the pointer's last ``mousemove`` over a chart (``window.__mmdashChartSync.pointer``);
  ``live_chart`` sends it again to a graph it has drawn under a resting pointer, so the hover label comes back at
  once instead of vanishing until the mouse moves.

Charts are found by the CSS class Streamlit gives a keyed element (``st-key-chart_<chart key>``). Handlers are
attached once per plotly graph (a ``WeakSet``) and always call the newest mount's trigger.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import streamlit as st

SYNC_KEY = "mmdash_chart_sync"
CHART_KEY_PREFIX = "chart_"

_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  const prefix = "st-key-" + String((data && data.prefix) || "chart_");
  const S = window.__mmdashChartSync || (window.__mmdashChartSync = { hooked: new WeakSet(), pointer: null });
  S.send = setTriggerValue;
  const keyOf = (gd) => {
    for (let el = gd; el && el !== document.body; el = el.parentElement) {
      for (const c of el.classList || []) if (c.startsWith(prefix)) return c.slice(prefix.length);
    }
    return null;
  };
  const hook = (gd) => {
    if (S.hooked.has(gd) || typeof gd.on !== "function" || !gd._fullLayout) return;
    const key = keyOf(gd);
    if (key === null) return;
    S.hooked.add(gd);
    gd.on("plotly_relayout", (ev) => {
      if (!ev) return;
      if (ev["xaxis.autorange"] === true) {
        S.send("zoom", { chart: key, reset: true, at: Date.now() });
        return;
      }
      let lo = ev["xaxis.range[0]"], hi = ev["xaxis.range[1]"];
      if (Array.isArray(ev["xaxis.range"])) [lo, hi] = ev["xaxis.range"];
      if (lo === undefined || hi === undefined) return;
      const type = gd._fullLayout.xaxis ? gd._fullLayout.xaxis.type : "linear";
      S.send("zoom", { chart: key, lo: lo, hi: hi, type: type, at: Date.now() });
    });
    gd.on("plotly_restyle", () => {
      const hidden = [];
      for (const t of gd.data || []) {
        const g = t.legendgroup || t.name;
        if (t.visible === "legendonly" && g && !hidden.includes(g)) hidden.push(g);
      }
      S.send("legend", { chart: key, hidden: hidden, at: Date.now() });
    });
  };
  const scan = () => document.querySelectorAll(".js-plotly-plot").forEach(hook);
  const onMove = (ev) => {
    const gd = ev.target && ev.target.closest ? ev.target.closest(".js-plotly-plot") : null;
    S.pointer = gd ? { key: keyOf(gd), x: ev.clientX, y: ev.clientY } : null;
  };
  if (!S.listening) {
    document.addEventListener("mousemove", onMove, { passive: true });
    S.listening = true;
  }
  scan();
  const id = setInterval(scan, 250);
  return () => clearInterval(id);
}
"""

_component = st.components.v2.component("mmdash_chart_sync", js=_JS)

_NOT_IN_CLASS = re.compile(r"[^a-zA-Z0-9_-]")


def chart_of(name: object, keys: Iterable[str]) -> str | None:
    """The chart key among ``keys`` a trigger names. The script reads a chart's key from its CSS class, where
    Streamlit writes every character but letters, digits, ``_`` and ``-`` as ``-`` (``eval:accuracy/top1`` is
    ``st-key-chart_eval-accuracy-top1``, ``gpu:util`` is ``...gpu-util``); None when no chart has that name."""
    if not isinstance(name, str):
        return None
    return next((k for k in keys if k == name or _NOT_IN_CLASS.sub("-", k.strip()) == name), None)


def sync_charts(on_zoom: Callable[[dict], None], on_legend: Callable[[dict], None]) -> None:
    """Mount the script (once per page run, outside every fragment: its triggers rerun the page)."""

    def value(name: str) -> dict | None:
        v = st.session_state.get(SYNC_KEY)
        got = v.get(name) if hasattr(v, "get") else None
        return got if isinstance(got, dict) else None

    def zoomed() -> None:
        if (payload := value("zoom")) is not None:
            on_zoom(payload)

    def legend() -> None:
        if (payload := value("legend")) is not None:
            on_legend(payload)

    _component(key=SYNC_KEY, data={"prefix": CHART_KEY_PREFIX}, on_zoom_change=zoomed, on_legend_change=legend,
               height=0)
