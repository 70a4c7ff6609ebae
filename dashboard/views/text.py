"""Log text made safe to *show*: the pages render it with ``st.text`` / ``st.code`` / ``st.dataframe`` only.

Log lines, file names, metric names and URL parameters are attacker-controllable text (a log can
contain anything a training script prints). The rule for pages: never pass such text through
Markdown (``st.markdown``, ``st.write`` of a string, widget labels, ``st.error`` bodies, titles) or
``unsafe_allow_html``. ``st.text`` / ``st.code`` / ``st.dataframe`` show it literally, so ``<script>``
and ``[x](javascript:...)`` stay text.

What these helpers add on top of that is *display hygiene*, not escaping (escaping would corrupt
the literal text those elements show):

- ``plain`` keeps newlines and tabs, turns ``\\r\\n`` and bare ``\\r`` (tqdm bars) into newlines,
  removes ANSI escape sequences, other C0/C1 control characters and Unicode bidirectional
  overrides (which can make displayed text read differently from its bytes), replaces lone
  surrogates (undecodable bytes) with U+FFFD, and caps the length with a visible marker.
- ``one_line`` does the same for a table cell or caption and folds line breaks into ``⏎``.

``html_text`` is for the one HTML document MMDash writes itself (the HTML report): ``plain``, then HTML-escaped.

Plotly is the exception: it renders a subset of HTML in every text of a chart, so ``plotly_text`` *does*
escape (``<`` becomes ``&lt;``, which plotly shows as ``<``), and ``escape_figure`` passes every text of a
finished figure through it once.

Invariant: the output contains no character in ``FORBIDDEN`` and is at most ``max_chars``
characters plus the truncation marker.
"""

from __future__ import annotations

import html
import re

MAX_CHARS = 100_000
MAX_LINE_CHARS = 300

#: ANSI CSI (``ESC [ ... final``) and OSC (``ESC ] ... BEL|ESC \\``) sequences, and lone two-byte escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")
#: C0 controls except \t and \n, DEL, C1 controls.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Bidirectional embedding / override / isolate controls (CVE-2021-42574 "Trojan Source").
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")

#: Characters ``plain`` never returns (besides those matched by the patterns above).
FORBIDDEN = frozenset(chr(c) for c in [*range(0, 9), *range(11, 32), *range(0x7F, 0xA0)]) | frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)


def _clean(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _ANSI.sub("", text)
    text = _CONTROL.sub("", text)
    text = _BIDI.sub("", text)
    return _SURROGATE.sub("\ufffd", text)


def _cap(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return text[:max_chars] + f"\n… [{len(text) - max_chars:,} more characters not shown]"


def plain(text: str | bytes, max_chars: int = MAX_CHARS) -> str:
    """Log text for ``st.code`` / ``st.text``: printable, newlines and tabs kept, at most ``max_chars``.

    Nothing is escaped: HTML and Markdown syntax survive as literal characters, which is what the
    text-only Streamlit elements display.
    """
    if max_chars < 0:
        raise ValueError("max_chars must be >= 0")
    return _cap(_clean(text), max_chars)


def one_line(text: str | bytes, max_chars: int = MAX_LINE_CHARS) -> str:
    """``plain`` for a single table cell or caption: line breaks shown as ``⏎``, tabs as spaces."""
    if max_chars < 0:
        raise ValueError("max_chars must be >= 0")
    t = _clean(text).replace("\n", " ⏎ ").replace("\t", " ")
    if len(t) <= max_chars:
        return t
    return t[:max_chars] + "…"


def plotly_text(text: str, max_chars: int = MAX_LINE_CHARS) -> str:
    """Text plotly shows literally (trace names, titles, axis titles, hover, annotations): ``one_line``, then its
    pseudo-HTML (``<b>``, ``<a href>``, ``<br>``) made into entities, which plotly displays as the characters.
    The one escaper for everything a figure renders; ``escape_figure`` applies it to a whole figure."""
    return one_line(str(text), max_chars).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def html_text(text: str | bytes, max_chars: int = MAX_CHARS, *, line: bool = False) -> str:
    """Log text for an HTML document (the HTML report): ``plain`` (or ``one_line`` with ``line=True``), then every
    character HTML reads as markup (``& < > " '``) as an entity, so it is shown as those characters, in element
    text and in attribute values alike. The one escaper for HTML we write ourselves (plotly's texts:
    ``plotly_text``)."""
    return html.escape(one_line(text, max_chars) if line else plain(text, max_chars), quote=True)


def _escaped(value):
    if isinstance(value, str):
        return plotly_text(value) if value else value
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return [plotly_text(v) for v in value]
    return value


def escape_figure(fig: dict) -> dict:
    """Every text the plotly figure ``fig`` (a dict in plotly's JSON figure schema: ``dashboard.charts.figures``)
    renders, made literal by ``plotly_text``, in place; returns ``fig``.

    That is the title and its subtitle, every axis title, the legend title, annotations (text and hover text),
    shape labels, and each trace's name, legend group title, text, hover text and hover template. Figures are
    built from raw text (``dashboard.charts.figures`` escapes nothing and writes no markup of its own), and the views
    that hand a figure to a page (``run_model.build_figure``, ``compare.figure``) call this last, exactly once:
    escaping twice would show ``&amp;lt;``. ``layout.meta`` and ``uirevision`` are not rendered and stay raw.
    """
    layout = fig.get("layout", {})

    def text_of(obj: object) -> None:  # ``obj["text"]`` of a title, label, ...
        if isinstance(obj, dict) and obj.get("text"):
            obj["text"] = _escaped(obj["text"])

    title = layout.get("title")
    text_of(title)
    if isinstance(title, dict):
        text_of(title.get("subtitle"))
    text_of((layout.get("legend") or {}).get("title"))
    for key, axis in layout.items():
        if re.fullmatch(r"[xy]axis\d*", key) and isinstance(axis, dict):
            text_of(axis.get("title"))
    for note in layout.get("annotations") or ():
        for prop in ("text", "hovertext"):
            if note.get(prop) is not None:
                note[prop] = _escaped(note[prop])
    for shape in layout.get("shapes") or ():
        text_of(shape.get("label"))
    for trace in fig.get("data", ()):
        for prop in ("name", "text", "hovertext", "hovertemplate", "texttemplate"):
            if trace.get(prop) is not None:
                trace[prop] = _escaped(trace[prop])
        text_of(trace.get("legendgrouptitle"))
    return fig
