"""dashboard.views.url_state: the URL round-trips the view state; bad input falls back to defaults with notices."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.views.url_state import (
    MAX_SMOOTHING,
    PAGES,
    QUERY_KEYS,
    SAMPLERS,
    X_AXES,
    CalculatorInputs,
    RunRef,
    ViewState,
    check_source_id,
    from_query,
    to_query,
    with_changes,
)

# ---------------------------------------------------------------------------------------------- strategies

_name_chars = st.characters(
    codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters="/\\",
)
component = st.text(_name_chars, min_size=1, max_size=12).filter(lambda s: s != "." and ".." not in s)
source_ids = st.lists(component, min_size=1, max_size=4).map("/".join).filter(
    lambda s: check_source_id(s) is None and not s.rstrip("0123456789").endswith("::")
    and not s.endswith("::combine")
)
metric_names = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=40)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
opt_int = lambda lo, hi: st.none() | st.integers(lo, hi)  # noqa: E731


@st.composite
def x_ranges(draw):
    a, b = draw(finite), draw(finite)
    if a == b:
        return None
    lo, hi = min(a, b), max(a, b)
    open_end = draw(st.sampled_from(("", "lo", "hi")))  # an empty end of the URL's 'low,high'
    return (-math.inf if open_end == "lo" else lo, math.inf if open_end == "hi" else hi)


calc_inputs = st.builds(
    CalculatorInputs,
    dataset_size=opt_int(1, 10**12),
    gpus=opt_int(1, 100_000),
    batch_size=opt_int(1, 10**6),
    accumulative_counts=opt_int(1, 10**6),
    epochs=opt_int(1, 10**6),
    sampler=st.sampled_from(SAMPLERS),
    drop_last=st.booleans(),
    s_per_iter=st.none() | st.floats(min_value=1e-9, max_value=1e7, allow_nan=False),
)

view_states = st.builds(
    ViewState,
    page=st.sampled_from(PAGES),
    run=st.none() | source_ids,
    run_index=opt_int(0, 10**6),
    upload=st.none() | st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    metrics=st.lists(metric_names, max_size=6, unique=True),
    smoothing=st.floats(0.0, MAX_SMOOTHING),
    x_axis=st.sampled_from(X_AXES),
    x_range=x_ranges(),
    log_y=st.booleans(),
    live=st.booleans(),
    compare=st.lists(st.builds(RunRef, source_ids, opt_int(0, 10**6)), max_size=5, unique=True),
    calc=calc_inputs,
    log_charts=st.lists(metric_names, max_size=4, unique=True),
    hidden_charts=st.lists(metric_names, max_size=4, unique=True),
    metric_filter=st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=40),
    ignore_outliers=st.booleans(),
)

query_values = st.one_of(st.text(max_size=30), st.lists(st.text(max_size=30), max_size=4))
arbitrary_queries = st.dictionaries(st.sampled_from(QUERY_KEYS) | st.text(max_size=10), query_values, max_size=12)


# ---------------------------------------------------------------------------------------------- properties


@given(view_states)
def test_round_trip(state):
    q = to_query(state)
    assert from_query(q) == (state, [])


@given(view_states)
def test_to_query_is_ordered_and_all_strings(state):
    q = to_query(state)
    assert list(q) == [k for k in QUERY_KEYS if k in q]
    for k, v in q.items():
        assert isinstance(v, list) if k in ("metric", "compare", "log", "hide") else isinstance(v, str)


@given(arbitrary_queries)
def test_any_query_parses_without_raising_and_normalises(params):
    state, notices = from_query(params)
    assert all(isinstance(n, str) and n for n in notices)
    # What we read is a valid state: it round-trips exactly.
    assert from_query(to_query(state)) == (state, [])
    if state.run is not None:
        assert check_source_id(state.run) is None


# ------------------------------------------------------------------------------------------------ defaults


def test_defaults():
    assert from_query({}) == (ViewState(), [])
    assert to_query(ViewState()) == {}
    s = ViewState()
    assert (s.smoothing, s.x_axis, s.live, s.log_y, s.x_range) == (0.6, "iter", True, False, None)


def test_only_non_default_values_are_written():
    s = with_changes(ViewState(), run="logs/a.log", smoothing=0.8, live=False, metrics=["loss", "lr"])
    assert to_query(s) == {"run": "logs/a.log", "metric": ["loss", "lr"], "smoothing": "0.8", "live": "0"}


def test_repeated_keys_become_lists():
    state, notices = from_query({"metric": ["loss", "coco/AP (M)", "loss"], "compare": ["a/x.log", "b/y.log::2"]})
    assert notices == []
    assert state.metrics == ["loss", "coco/AP (M)"]
    assert state.compare == [RunRef("a/x.log"), RunRef("b/y.log", 2)]


def test_full_state_from_a_url():
    state, notices = from_query({
        "page": "calculator", "run": "work_dirs/exp/20240827_063210.log", "run_index": "1", "x_axis": "wall",
        "x_range": "1724740390,1724744000.5", "log_y": "true", "smoothing": "0", "dataset_size": "1220",
        "gpus": "4", "batch_size": "1", "accumulative_counts": "8", "epochs": "3", "sampler": "length-grouped",
        "drop_last": "1", "s_per_iter": "16.144",
    })
    assert notices == []
    assert state.x_range == (1724740390.0, 1724744000.5)
    assert state.calc == CalculatorInputs(1220, 4, 1, 8, 3, "length-grouped", True, 16.144)
    assert (state.page, state.run_index, state.log_y, state.smoothing) == ("calculator", 1, True, 0.0)


# ------------------------------------------------------------------------------------------------ invalid


@pytest.mark.parametrize(("key", "value"), [
    ("page", "admin"), ("smoothing", "1.5"), ("smoothing", "-0.1"), ("smoothing", "nan"), ("smoothing", "inf"),
    ("smoothing", "0.5x"), ("x_axis", "step"), ("x_range", "5,1"), ("x_range", "1,1"), ("x_range", "a,b"),
    ("x_range", "1,2,3"), ("x_range", "nan,1"), ("log_y", "maybe"), ("live", ""), ("run_index", "-1"),
    ("run_index", "1.5"), ("run_index", "99999999999999999999"), ("run_index", "٣"), ("gpus", "0"),
    ("gpus", "+4"), ("batch_size", "1_000"), ("dataset_size", " 12"), ("sampler", "random"),
    ("drop_last", "2"), ("s_per_iter", "0"), ("s_per_iter", "-3"), ("s_per_iter", "1e400"),
    ("upload", "../x"), ("upload", "a" * 65), ("metric", ""), ("metric", "bad\nname"),
])
def test_invalid_values_fall_back_to_defaults_with_a_notice(key, value):
    state, notices = from_query({key: value})
    assert state == ViewState()
    assert len(notices) == 1 and key in notices[0]


def test_unknown_keys_are_reported_but_streamlit_keys_are_not():
    state, notices = from_query({"foo": "1", "embed": "true", "embed_options": "x"})
    assert state == ViewState()
    assert len(notices) == 1 and "'foo'" in notices[0]


def test_repeated_scalar_uses_the_last_value_with_a_notice():
    state, notices = from_query({"x_axis": ["epoch", "wall"]})
    assert state.x_axis == "wall" and len(notices) == 1


def test_notices_quote_but_truncate_hostile_input():
    state, notices = from_query({"page": "<script>alert(1)</script>" + "x" * 500})
    assert state.page == "runs"
    assert "<script>" in notices[0] and len(notices[0]) < 250


TRAVERSAL = [
    "../../etc/passwd", "..", "logs/../../etc/passwd", "logs/..", "/etc/passwd", "//server/share/x.log",
    "C:/Windows/win.ini", "c:x.log", "logs\\..\\secret.log", "logs/a.log\x00.png", "logs/\x1b[31m.log",
    "logs//a.log", "logs/./a.log", "logs/a.log/", "", "logs/..hidden.log", "x" * 2000,
]


@pytest.mark.parametrize("run_id", TRAVERSAL)
def test_unsafe_run_ids_are_rejected(run_id):
    assert check_source_id(run_id) is not None
    state, notices = from_query({"run": run_id})
    assert state.run is None and len(notices) == 1
    state, notices = from_query({"compare": [run_id, "logs/ok.log"]})
    assert state.compare == [RunRef("logs/ok.log")] and len(notices) == 1


@pytest.mark.parametrize("run_id", ["logs/a.log", "e2e-logs/sub dir/20240827_063210.log", "root/vis_data/scalars.json",
                                    "r/日本語 (copy).log", "r/a.b.log"])
def test_ordinary_run_ids_are_accepted(run_id):
    assert check_source_id(run_id) is None
    assert from_query({"run": run_id}) == (with_changes(ViewState(), run=run_id), [])


def test_run_ref_text_form():
    assert str(RunRef("a/b.log", 3)) == "a/b.log::3"
    assert RunRef.parse("a/b.log::3") == RunRef("a/b.log", 3)
    assert RunRef.parse("a/b::c.log") == RunRef("a/b::c.log")
    with pytest.raises(ValueError):
        RunRef("a/b.log::3")  # would read back as index 3
    with pytest.raises(ValueError):
        RunRef.parse("../x.log")


def test_float_text_is_shortest_round_trip():
    s = with_changes(ViewState(), smoothing=0.1 + 0.2 - 0.3 + 0.6, x_range=(1e-300, math.pi))
    q = to_query(s)
    assert from_query(q)[0] == s


def test_a_link_to_the_runs_page_points_at_the_apps_root():
    """Streamlit serves the default page at the root only (its url_path is ""): /runs would be 'Page not found'."""
    from dashboard.views.url_state import app_url

    assert app_url("http://h:8501/run", "runs", {"filter": "llm"}) == "http://h:8501/?filter=llm"
    assert app_url("http://h/base/compare", "run", {"upload": "a"}) == "http://h/base/run?upload=a"
