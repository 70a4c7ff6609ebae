"""The dashboard's view state and its URL form (query parameters). No Streamlit here.

``from_query`` turns query parameters (``{key: value or [values]}``, e.g.
``{k: st.query_params.get_all(k) for k in st.query_params}``) into a ``ViewState`` plus notices;
``to_query`` does the reverse.

Invariants (tested with hypothesis):
- ``from_query`` never raises: an unknown key, a malformed or out-of-range value falls back to its
  default and adds one human-readable notice. Notices quote user input: show them with
  ``st.text`` / ``st.code``, never through Markdown.
- ``from_query(to_query(s)) == (s, [])`` for every valid state ``s``.
- ``to_query`` emits only non-default values, keys in ``QUERY_KEYS`` order, lists as repeated keys.
- A run id from the URL is never absolute and contains no ``..``, NUL, backslash or control
  character (see ``check_source_id``). This is a first filter: whoever opens a file must still
  resolve the id inside an allowed root (realpath + ``os.path.commonpath``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from dashboard.analysis.audit import SAMPLERS
from dashboard.views.text import one_line


@dataclass(frozen=True)
class PageSpec:
    """A page of the app: its URL path, title, icon and script (in ``dashboard/ui/pages/``)."""

    path: str
    title: str
    icon: str
    default: bool = False

    @property
    def script(self) -> str:
        return f"{self.path}.py"


#: The app's pages, in navigation order: ``app.py`` registers exactly these; links are built from them.
PAGE_SPECS: tuple[PageSpec, ...] = (
    PageSpec("runs", "Runs", ":material/list:", default=True),
    PageSpec("run", "Run", ":material/monitoring:"),
    PageSpec("upload", "Upload", ":material/upload:"),
    PageSpec("compare", "Compare", ":material/compare_arrows:"),
    PageSpec("calculator", "Calculator", ":material/calculate:"),
)
PAGES: tuple[str, ...] = tuple(p.path for p in PAGE_SPECS)
X_AXES: tuple[str, ...] = ("iter", "epoch", "wall", "relative")

DEFAULT_SMOOTHING = 0.6
MAX_SMOOTHING = 0.99
MAX_ID_CHARS = 1024
MAX_METRIC_CHARS = 256
MAX_METRICS = 32
MAX_COMPARE = 64  # runs on the Compare page (charts thin their traces as runs are added: views.compare)
MAX_NOTICE_VALUE = 80
MAX_RUN_INDEX = 10**6
MAX_S_PER_ITER = 10**7
MAX_FILTER_CHARS = 200

#: Parameters Streamlit itself puts in URLs; ignored without a notice.
STREAMLIT_KEYS = frozenset({"embed", "embed_options"})

_INT = re.compile(r"[0-9]{1,15}", re.ASCII)
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?", re.ASCII)
_UPLOAD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_DRIVE = re.compile(r"[A-Za-z]:")
#: The words a URL (or a form) may use for yes and no.
YES_WORDS = frozenset({"1", "true", "yes", "on"})
NO_WORDS = frozenset({"0", "false", "no", "off"})
#: Separator between a source id and a run index in a run reference (``compare``).
RUN_REF_SEP = "::"
#: After ``RUN_REF_SEP`` instead of a run index: the log joined with the earlier timestamped folders of its resumed
#: run (``views.joined``; the Run page's ``combine=1``).
COMBINE_TAIL = "combine"
_AMBIGUOUS_REF = re.compile(r"::(?:[0-9]+|combine)\Z")


def check_source_id(text: str) -> str | None:
    """Why ``text`` is not an acceptable root-relative source id, or None when it is.

    Accepted: ``<root label>/<relative path>``-like text made of non-empty, non-``.`` components
    separated by ``/``. Rejected: empty, longer than ``MAX_ID_CHARS``, NUL or other control
    characters, backslashes, absolute paths (``/x``, ``C:...``), any ``..`` (even inside a name:
    stricter than needed, never a traversal), empty or ``.`` components.
    """
    if not text:
        return "is empty"
    if len(text) > MAX_ID_CHARS:
        return f"is longer than {MAX_ID_CHARS} characters"
    if "\x00" in text:
        return "contains a NUL byte"
    if _CONTROL.search(text):
        return "contains control characters"
    if "\\" in text:
        return "contains a backslash"
    if text.startswith("/") or _DRIVE.match(text):
        return "is an absolute path"
    if ".." in text:
        return "contains '..'"
    if any(part in ("", ".") for part in text.split("/")):
        return "has an empty or '.' path component"
    return None


@dataclass(frozen=True)
class RunRef:
    """One run: a source id and optionally which run inside the file (None = the last one), or (``combine``) the
    log joined with the earlier timestamped folders of its resumed run.

    URL form: ``<source id>``, ``<source id>::<index>`` (``RUN_REF_SEP``) or ``<source id>::combine``.
    """

    source: str
    index: int | None = None
    combine: bool = False

    def __post_init__(self) -> None:
        reason = check_source_id(self.source)
        if reason:
            raise ValueError(f"run id {reason}")
        if self.index is not None and not (0 <= self.index <= MAX_RUN_INDEX):
            raise ValueError(f"run index must be from 0 to {MAX_RUN_INDEX}")
        if self.combine and self.index is not None:
            raise ValueError(f"a run index and '{RUN_REF_SEP}{COMBINE_TAIL}' together")
        if _AMBIGUOUS_REF.search(self.source):
            raise ValueError(f"run id ends like a run index ('{RUN_REF_SEP}<number>' or "
                             f"'{RUN_REF_SEP}{COMBINE_TAIL}')")

    def __str__(self) -> str:
        if self.combine:
            return f"{self.source}{RUN_REF_SEP}{COMBINE_TAIL}"
        return self.source if self.index is None else f"{self.source}{RUN_REF_SEP}{self.index}"

    @classmethod
    def parse(cls, text: str) -> RunRef:
        """Parse the URL form; raises ``ValueError`` with a readable reason."""
        source, sep, tail = text.rpartition(RUN_REF_SEP)
        if sep and tail == COMBINE_TAIL:
            return cls(source, combine=True)
        index: int | None = None
        if sep and _INT.fullmatch(tail):
            index = int(tail)
        else:
            source = text
        return cls(source, index)


@dataclass
class CalculatorInputs:
    """Inputs of the iteration calculator (None = not given; the page may prefill from the log)."""

    dataset_size: int | None = None
    gpus: int | None = None
    batch_size: int | None = None
    accumulative_counts: int | None = None
    epochs: int | None = None
    sampler: str = "default"
    drop_last: bool = False
    s_per_iter: float | None = None


@dataclass
class ViewState:
    """What a page shows, as far as the URL says."""

    page: str = "runs"
    run: str | None = None  # root-relative source id
    run_index: int | None = None  # which run inside the file; None = the last one
    upload: str | None = None  # opaque upload id
    metrics: list[str] = field(default_factory=list)
    smoothing: float = DEFAULT_SMOOTHING
    x_axis: str = "iter"
    x_range: tuple[float, float] | None = None
    log_y: bool = False
    live: bool = True
    compare: list[RunRef] = field(default_factory=list)
    calc: CalculatorInputs = field(default_factory=CalculatorInputs)
    # Run page chart tools (issue 12): charts (by chart key) with a log y axis, charts hidden, a regular
    # expression over metric names, and whether the y scale ignores outliers (on by default, as in TensorBoard).
    log_charts: list[str] = field(default_factory=list)
    hidden_charts: list[str] = field(default_factory=list)
    metric_filter: str = ""
    ignore_outliers: bool = True


#: Query keys in the order ``to_query`` writes them. ``metric`` and ``compare`` repeat.
QUERY_KEYS: tuple[str, ...] = (
    "page", "run", "run_index", "upload", "metric", "smoothing", "x_axis", "x_range", "log_y", "live",
    "compare", "dataset_size", "gpus", "batch_size", "accumulative_counts", "epochs", "sampler",
    "drop_last", "s_per_iter", "log", "hide", "metric_filter", "outliers",
)
_LIST_KEYS = frozenset({"metric", "compare", "log", "hide"})
MAX_CHART_KEYS = 64
#: Calculator integers: (query key, minimum, maximum).
_CALC_INTS: tuple[tuple[str, int, int], ...] = (
    ("dataset_size", 1, 10**12),
    ("gpus", 1, 100_000),
    ("batch_size", 1, 10**6),
    ("accumulative_counts", 1, 10**6),
    ("epochs", 1, 10**6),
)


# -------------------------------------------------------------------------------------------------- parsing


def _quote(value: str) -> str:
    """Short repr of user input for notices."""
    v = value if len(value) <= MAX_NOTICE_VALUE else value[:MAX_NOTICE_VALUE] + "…"
    return repr(v)


def _values(raw: object) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, Sequence):
        return [v for v in raw if isinstance(v, str)]
    return []


def _parse_int(text: str, lo: int, hi: int) -> int | None:
    if not _INT.fullmatch(text):
        return None
    v = int(text)
    return v if lo <= v <= hi else None


def _parse_float(text: str) -> float | None:
    if not _FLOAT.fullmatch(text):
        return None
    v = float(text)
    return v if math.isfinite(v) else None


def parse_yes_no(text: str) -> bool | None:
    """True for one of ``YES_WORDS``, False for one of ``NO_WORDS`` (any case, spaces around), else None."""
    low = text.strip().lower()
    if low in YES_WORDS:
        return True
    if low in NO_WORDS:
        return False
    return None


def _fmt_float(v: float) -> str:
    """Shortest text that parses back to the same float."""
    return repr(float(v))


def from_query(params: Mapping[str, str | Sequence[str]]) -> tuple[ViewState, list[str]]:
    """Read a ``ViewState`` from query parameters; invalid parts become defaults plus a notice each."""
    notices: list[str] = []
    state = ViewState()
    calc = CalculatorInputs()

    def bad(key: str, value: str, why: str) -> None:
        notices.append(f"URL parameter {key}={_quote(value)} ignored: {why}")

    for key in params:
        if key not in QUERY_KEYS and key not in STREAMLIT_KEYS:
            notices.append(f"unknown URL parameter {_quote(str(key))} ignored")

    def single(key: str) -> str | None:
        values = _values(params.get(key, []))
        if not values:
            return None
        if len(values) > 1:
            notices.append(f"URL parameter {key} given {len(values)} times: the last one is used")
        return values[-1]

    if (v := single("page")) is not None:
        if v in PAGES:
            state.page = v
        else:
            bad("page", v, f"not one of {', '.join(PAGES)}")
    if (v := single("run")) is not None:
        reason = check_source_id(v)
        if reason:
            bad("run", v, f"the run id {reason}")
        else:
            state.run = v
    if (v := single("run_index")) is not None:
        n = _parse_int(v, 0, MAX_RUN_INDEX)
        if n is None:
            bad("run_index", v, f"not a whole number from 0 to {MAX_RUN_INDEX}")
        else:
            state.run_index = n
    if (v := single("upload")) is not None:
        if _UPLOAD_ID.fullmatch(v):
            state.upload = v
        else:
            bad("upload", v, "not an upload id (letters, digits, '_' and '-', at most 64)")
    metrics: list[str] = []
    for v in _values(params.get("metric", [])):
        if not v or len(v) > MAX_METRIC_CHARS or _CONTROL.search(v):
            bad("metric", v, f"not a metric name (1 to {MAX_METRIC_CHARS} printable characters)")
        elif v not in metrics:
            if len(metrics) >= MAX_METRICS:
                bad("metric", v, f"more than {MAX_METRICS} metrics")
            else:
                metrics.append(v)
    state.metrics = metrics
    if (v := single("smoothing")) is not None:
        f = _parse_float(v)
        if f is None or not (0.0 <= f <= MAX_SMOOTHING):
            bad("smoothing", v, f"not a number from 0 to {MAX_SMOOTHING}")
        else:
            state.smoothing = f
    if (v := single("x_axis")) is not None:
        if v in X_AXES:
            state.x_axis = v
        else:
            bad("x_axis", v, f"not one of {', '.join(X_AXES)}")
    if (v := single("x_range")) is not None:
        # 'low,high'; an empty end is open: 'low,' runs to the end of the data (and follows it as the run
        # grows), ',high' from its start.
        parts = v.split(",")
        nums = ([-math.inf if not parts[0] else _parse_float(parts[0]),
                 math.inf if not parts[1] else _parse_float(parts[1])] if len(parts) == 2 else [])
        if (len(nums) != 2 or nums[0] is None or nums[1] is None or not nums[0] < nums[1]
                or (parts[0] == "" and parts[1] == "")):
            bad("x_range", v, "not two increasing numbers 'low,high' (either may be empty: to the end, from "
                              "the start)")
        else:
            state.x_range = (nums[0], nums[1])
    for key in ("log_y", "live"):
        if (v := single(key)) is not None:
            b = parse_yes_no(v)
            if b is None:
                bad(key, v, "not a yes/no value (1/0, true/false)")
            else:
                setattr(state, key, b)
    refs: list[RunRef] = []
    for v in _values(params.get("compare", [])):
        try:
            ref = RunRef.parse(v)
        except ValueError as e:
            bad("compare", v, str(e))
            continue
        if ref in refs:
            continue
        if len(refs) >= MAX_COMPARE:
            bad("compare", v, f"more than {MAX_COMPARE} runs to compare")
            continue
        refs.append(ref)
    state.compare = refs
    for key, attr in (("log", "log_charts"), ("hide", "hidden_charts")):
        keys: list[str] = []
        for v in _values(params.get(key, [])):
            if not v or len(v) > MAX_METRIC_CHARS or _CONTROL.search(v):
                bad(key, v, f"not a chart name (1 to {MAX_METRIC_CHARS} printable characters)")
            elif v not in keys:
                if len(keys) >= MAX_CHART_KEYS:
                    bad(key, v, f"more than {MAX_CHART_KEYS} charts")
                else:
                    keys.append(v)
        setattr(state, attr, keys)
    if (v := single("metric_filter")) is not None:
        if len(v) > MAX_FILTER_CHARS or _CONTROL.search(v):
            bad("metric_filter", v, f"not a filter (at most {MAX_FILTER_CHARS} printable characters)")
        else:
            state.metric_filter = v
    if (v := single("outliers")) is not None:
        # outliers=1: the y scale shows every value; 0 (the default): ignore outliers
        b = parse_yes_no(v)
        if b is None:
            bad("outliers", v, "not a yes/no value (1/0, true/false)")
        else:
            state.ignore_outliers = not b
    for key, lo, hi in _CALC_INTS:
        if (v := single(key)) is not None:
            n = _parse_int(v, lo, hi)
            if n is None:
                bad(key, v, f"not a whole number from {lo} to {hi}")
            else:
                setattr(calc, key, n)
    if (v := single("sampler")) is not None:
        if v in SAMPLERS:
            calc.sampler = v
        else:
            bad("sampler", v, f"not one of {', '.join(SAMPLERS)}")
    if (v := single("drop_last")) is not None:
        b = parse_yes_no(v)
        if b is None:
            bad("drop_last", v, "not a yes/no value (1/0, true/false)")
        else:
            calc.drop_last = b
    if (v := single("s_per_iter")) is not None:
        f = _parse_float(v)
        if f is None or not (0.0 < f <= MAX_S_PER_ITER):
            bad("s_per_iter", v, f"not a number of seconds above 0 and at most {MAX_S_PER_ITER}")
        else:
            calc.s_per_iter = f
    state.calc = calc
    return state, notices


# ------------------------------------------------------------------------------------------------- writing


def to_query(state: ViewState) -> dict[str, str | list[str]]:
    """Query parameters for ``state``: only values that differ from the defaults, in ``QUERY_KEYS`` order.

    Lists (``metric``, ``compare``) are ``list[str]`` (repeated keys in the URL); booleans are
    ``"1"``/``"0"``; floats use their shortest round-tripping text.
    """
    default = ViewState()
    dcalc = CalculatorInputs()
    out: dict[str, str | list[str]] = {}
    if state.page != default.page:
        out["page"] = state.page
    if state.run is not None:
        out["run"] = state.run
    if state.run_index is not None:
        out["run_index"] = str(state.run_index)
    if state.upload is not None:
        out["upload"] = state.upload
    if state.metrics:
        out["metric"] = list(state.metrics)
    if state.smoothing != default.smoothing:
        out["smoothing"] = _fmt_float(state.smoothing)
    if state.x_axis != default.x_axis:
        out["x_axis"] = state.x_axis
    if state.x_range is not None:
        out["x_range"] = ",".join("" if math.isinf(v) else _fmt_float(v) for v in state.x_range)
    if state.log_y != default.log_y:
        out["log_y"] = "1" if state.log_y else "0"
    if state.live != default.live:
        out["live"] = "1" if state.live else "0"
    if state.compare:
        out["compare"] = [str(r) for r in state.compare]
    for key, _lo, _hi in _CALC_INTS:
        value = getattr(state.calc, key)
        if value is not None:
            out[key] = str(value)
    if state.calc.sampler != dcalc.sampler:
        out["sampler"] = state.calc.sampler
    if state.calc.drop_last != dcalc.drop_last:
        out["drop_last"] = "1" if state.calc.drop_last else "0"
    if state.calc.s_per_iter is not None:
        out["s_per_iter"] = _fmt_float(state.calc.s_per_iter)
    if state.log_charts:
        out["log"] = list(state.log_charts)
    if state.hidden_charts:
        out["hide"] = list(state.hidden_charts)
    if state.metric_filter:
        out["metric_filter"] = state.metric_filter
    if state.ignore_outliers != default.ignore_outliers:
        out["outliers"] = "0" if state.ignore_outliers else "1"
    assert list(out) == [k for k in QUERY_KEYS if k in out]
    return out


def with_changes(state: ViewState, **changes: object) -> ViewState:
    """A copy of ``state`` with some fields replaced (lists and calculator inputs copied, not shared)."""
    base = replace(state, metrics=list(state.metrics), compare=list(state.compare), calc=replace(state.calc),
                   log_charts=list(state.log_charts), hidden_charts=list(state.hidden_charts))
    return replace(base, **changes)  # type: ignore[arg-type]



# ---------------------------------------------------------------------------------------------- pages' URLs

#: Query keys each page reads; anything else gets a "not used on this page" notice.
RUN_PAGE_KEYS = frozenset({"run", "upload", "r", "run_index", "metric", "smoothing", "x_axis", "x_range", "log_y",
                           "live", "page", "log", "hide", "metric_filter", "outliers",
                           "dataset_size", "gpus", "batch_size", "accumulative_counts", "epochs",
                           "sampler", "drop_last", "combine"})
#: The setup a person believes they ran (the Calculator's inputs; on the Run page too, checked against the log).
CALC_KEYS = ("dataset_size", "gpus", "batch_size", "accumulative_counts", "epochs", "sampler", "drop_last",
             "s_per_iter")


def calc_keys_given(raw: Mapping[str, Sequence[str]], calc: CalculatorInputs) -> set[str]:
    """The calculator inputs the URL sets to a valid value (``from_query`` already read them into ``calc``)."""
    given = set()
    for key in CALC_KEYS:
        values = _values(raw.get(key))
        if not values:
            continue
        if key == "sampler":
            ok = values[-1] in SAMPLERS
        elif key == "drop_last":
            ok = parse_yes_no(values[-1]) is not None
        else:
            ok = getattr(calc, key) is not None
        if ok:
            given.add(key)
    return given
RUNS_PAGE_KEYS = frozenset({"filter", "twins", "live", "page", "combine"})

def _single(values: Sequence[str]) -> str | None:
    return values[-1] if values else None


def _other_page_notices(raw: Mapping[str, Sequence[str]], allowed: frozenset[str]) -> list[str]:
    out = []
    for key in raw:
        if key not in allowed and key not in STREAMLIT_KEYS:
            out.append(f"URL parameter {one_line(str(key), 40)!r} is not used on this page: ignored")
    return out


def parse_run_index(values: Sequence[str] | None) -> tuple[int | None, str | None]:
    """``r`` (the run inside a file or upload): a whole number from 0 to ``MAX_RUN_INDEX``, or a notice. The one
    reader of a run index in a URL."""
    v = _single(values or [])
    if v is None:
        return None, None
    if re.fullmatch(r"[0-9]{1,9}", v, re.ASCII) and int(v) <= MAX_RUN_INDEX:
        return int(v), None
    return None, f"URL parameter r={one_line(v, 40)!r} ignored: not a run number (0, 1, 2...)"


@dataclass
class RunPageQuery:
    run: str | None  # the requested source id, unchecked (the page refuses it with a reason)
    view: ViewState
    notices: list[str]
    calc_given: set[str] = field(default_factory=set)  # the setup-check inputs the URL sets (``view.calc``)
    upload: str | None = None  # the requested upload id, unchecked (the page refuses it with a reason)
    combine: bool = False  # ``combine=1``: the log joined with the earlier folders of its resumed run (views.joined)


def read_run_query(raw: Mapping[str, Sequence[str]]) -> RunPageQuery:
    """The run page's URL: ``run`` (source id) or ``upload`` (upload id), ``r`` (run index; ``run_index`` is
    accepted too), ``metric``
    (repeated), ``smoothing``, ``x_axis``, ``x_range``, ``log_y``, ``live``. Invalid values fall back to
    defaults with a notice each (``url_state.from_query``); parameters of other pages get a notice too."""
    raw = {k: list(v) for k, v in raw.items()}
    notices = _other_page_notices(raw, RUN_PAGE_KEYS)
    raw = {k: v for k, v in raw.items() if k in RUN_PAGE_KEYS or k in STREAMLIT_KEYS}
    run = _single(raw.pop("run", []))
    upload = _single(raw.pop("upload", []))  # any value: the page refuses what names no upload, with the reason
    raw.pop("page", None)  # the page is the URL path
    r, note = parse_run_index(raw.pop("r", None))
    if note:
        notices.append(note)
    combine = _bool("combine", raw.pop("combine", None), False, notices)
    view, more = from_query(raw)
    notices.extend(more)
    if r is not None:
        view.run_index = r
    view.page = "run"
    view.run = run
    view.upload = upload if upload is not None and _UPLOAD_ID.fullmatch(upload) else None
    return RunPageQuery(run, view, notices, calc_keys_given(raw, view.calc), upload=upload, combine=combine)


def run_page_query(view: ViewState) -> dict[str, str | list[str]]:
    """Query parameters for the run page (``r`` for the run index; no ``page``: the path says it)."""
    q = to_query(ViewState(run=view.run, upload=None if view.run else view.upload, metrics=list(view.metrics),
                           smoothing=view.smoothing, x_axis=view.x_axis, x_range=view.x_range, log_y=view.log_y,
                           live=view.live, log_charts=list(view.log_charts), hidden_charts=list(view.hidden_charts),
                           metric_filter=view.metric_filter, ignore_outliers=view.ignore_outliers))
    out: dict[str, str | list[str]] = {k: q.pop(k) for k in ("run", "upload") if k in q}
    if view.run_index is not None:
        out["r"] = str(view.run_index)
    out.update(q)
    return out


def run_href(source_id: str, run_index: int | None = None, base: str | None = None) -> str:
    """The Run page's link to a run (``page_href``: under ``base``, or relative from any page of the app)."""
    q: dict[str, str] = {"run": source_id}
    if run_index is not None:
        q["r"] = str(run_index)
    return page_href("run", q, base)


@dataclass
class RunsPageQuery:
    filter: str
    twins: bool
    live: bool
    notices: list[str]
    combine: bool = False  # the timestamped folders of a resumed run as one row (views.joined)


def _bool(key: str, values: Sequence[str] | None, default: bool, notices: list[str]) -> bool:
    v = _single(values or [])
    if v is None:
        return default
    parsed = parse_yes_no(v)
    if parsed is not None:
        return parsed
    notices.append(f"URL parameter {key}={one_line(v, 40)!r} ignored: not a yes/no value (1/0, true/false)")
    return default


def read_runs_query(raw: Mapping[str, Sequence[str]]) -> RunsPageQuery:
    """The runs page's URL: ``filter`` (regex on the name), ``twins`` (show ``vis_data/scalars.json`` copies),
    ``live`` (auto refresh), ``combine`` (a resumed run's timestamped folders as one row)."""
    notices = _other_page_notices(raw, RUNS_PAGE_KEYS)
    pattern = _single(list(raw.get("filter", []))) or ""
    if len(pattern) > MAX_FILTER_CHARS:
        notices.append(f"URL parameter filter ignored: longer than {MAX_FILTER_CHARS} characters")
        pattern = ""
    twins = _bool("twins", raw.get("twins"), False, notices)
    live = _bool("live", raw.get("live"), True, notices)
    combine = _bool("combine", raw.get("combine"), False, notices)
    return RunsPageQuery(pattern, twins, live, notices, combine)


def runs_page_query(q: RunsPageQuery) -> dict[str, str]:
    out: dict[str, str] = {}
    if q.filter:
        out["filter"] = q.filter
    if q.twins:
        out["twins"] = "1"
    if not q.live:
        out["live"] = "0"
    if q.combine:
        out["combine"] = "1"
    return out


def base_path(base_url_path: str | None) -> str:
    """The path every page of the app is under, from Streamlit's ``server.baseUrlPath`` (``mmdash``, ``/mmdash/``,
    ``a/b``): ``/mmdash/``, ``/a/b/``; ``/`` when there is none."""
    parts = [p for p in (base_url_path or "").split("/") if p]
    return "/" + "".join(f"{p}/" for p in parts)


def page_href(page: str, params: Mapping[str, str | Sequence[str]] | None = None, base: str | None = None) -> str:
    """The one link to a page of the app: ``<base><page>?<query>``, where ``base`` is the path prefix the app is
    served under (``base_path``: ``/`` or e.g. ``/mmdash/`` behind a reverse proxy). With ``base=None`` the link is
    relative (``<page>?<query>``; the pages are siblings, so it works from any page). The default page (Runs) is
    the app's root (Streamlit gives it the url_path ""). Query values are percent-encoded, ``/`` kept readable."""
    query = urlencode([(k, v) for k, vs in (params or {}).items() for v in ([vs] if isinstance(vs, str) else vs)],
                      quote_via=quote, safe="/")
    default = any(p.default and p.path == page for p in PAGE_SPECS)
    path = (base or "") + ("" if default else page)
    if not path:
        path = "./"
    return path + (f"?{query}" if query else "")


def app_url(context_url: str | None, page: str, params: Mapping[str, str | Sequence[str]] | None = None,
            base: str | None = None) -> str:
    """The full URL of ``page`` with ``params`` (``page_href`` under ``base``) on the server the browser reached,
    ``context_url`` (``st.context.url``): its scheme and host. Without ``base``, the prefix is read from
    ``context_url``'s path (whatever comes before a page's name). Without a context URL (tests, old browsers) the
    link is ``page_href``'s alone."""
    if not context_url:
        return page_href(page, params, base)
    parts = urlsplit(context_url)
    if base is None:
        path = parts.path.rstrip("/")
        head, _, last = path.rpartition("/")
        base = (head if last in PAGES else path) + "/"
    return urlunsplit((parts.scheme, parts.netloc, "", "", "")) + page_href(page, params, base)
