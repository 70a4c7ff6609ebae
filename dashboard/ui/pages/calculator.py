"""Calculator page (``/calculator``): the iteration arithmetic of a setup, and the audit of a run's N.

URL: the inputs ``dataset_size``, ``gpus``, ``batch_size``, ``accumulative_counts``, ``epochs``,
``sampler`` (``default``, ``length-grouped``, ``infinite``), ``drop_last``, ``s_per_iter``; the run it
is prefilled from and audited against: ``run=<source id>`` or ``upload=<id>``, with ``r=<k>`` for one
run of a multi-run file. Inputs in the URL win over the run's own values. All the arithmetic is
``dashboard.analysis.audit`` (``what_if``, ``audit``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.analysis.audit import SAMPLERS
from dashboard.ui import common
from dashboard.views import calculator, review
from dashboard.views.formatting import UNKNOWN, fmt_duration, fmt_num, fmt_value
from dashboard.views.text import one_line
from dashboard.views.url_state import (
    CalculatorInputs,
    RunRef,
    ViewState,
    calc_keys_given,
    check_source_id,
    from_query,
    parse_run_index,
    to_query,
)

SCOPE = "calculator"
NONE = ""
INT_INPUTS = (  # (field, label, help)
    ("dataset_size", "Dataset size (samples)", "L: samples in the training set (after filtering / packing)"),
    ("gpus", "GPUs (world size)", "W: training processes, usually one per GPU"),
    ("batch_size", "Batch size per GPU", "B: train_dataloader.batch_size"),
    ("accumulative_counts", "accumulative_counts", "A: iterations per optimizer update (gradient accumulation)"),
    ("epochs", "Epochs", "E: max_epochs"),
)
SAMPLER_LABELS = {"default": "DefaultSampler", "length-grouped": "LengthGroupedSampler (xtuner)",
                  "infinite": "InfiniteSampler (iteration-based)"}

st.title("Calculator")
st.markdown(
    "How many iterations a setup gives (the `n/N` of `Iter(train) [n/N]`), how many optimizer updates that is, "
    "how many samples are seen, and how long it takes. Pick a run to prefill its setup and to check its N."
)

raw = common.query_dict()
index, r_notice = parse_run_index(raw.pop("r", None))
state, notices = from_query(raw)
common.show_notices(notices + ([r_notice] if r_notice else []))


url_ref = NONE
if state.upload and review.upload_id_in(state.upload) == state.upload:
    url_ref = str(review.Target("upload", state.upload, index))
elif state.run and not check_source_id(state.run):
    url_ref = str(review.Target("root", state.run, index))

# Run choices: logs under the roots, this session's uploads, and the URL's run.
labels: dict[str, str] = {NONE: "none: I type the numbers"}
for f in common.root_logs():
    labels[f.id] = f.id
for uid, title in common.session_uploads().items():
    labels[str(review.Target("upload", uid))] = f"upload: {title} ({uid[:8]})"
if url_ref and url_ref not in labels:
    labels[url_ref] = url_ref

input_keys = [f"calc_{k}" for k in calculator.CALC_FIELDS]
fresh = common.seed(SCOPE, {"calc_run": url_ref}) or any(k not in st.session_state for k in input_keys)
chosen = st.selectbox("Prefill from a run", list(labels), key="calc_run",
                      format_func=lambda r: one_line(labels[r], 200))

run = None
prefill: calculator.Prefill | None = None
target = review.target_of(RunRef.parse(chosen)) if chosen else None
if target is not None:
    rev, reason = common.open_target(target)
    if rev is None or rev.run(target.index) is None:
        st.warning("This run cannot be used:")
        st.text(f"{one_line(chosen, 200)}: {reason or 'no training run in it'}")
    else:
        run = rev.run(target.index)
        prefill = calculator.prefill_from(run, common.summary_of(rev, target.index))

if fresh:
    given = calc_keys_given(raw, state.calc)  # those win over the run's
    values = calculator.merge_inputs(state.calc, prefill.inputs if prefill else None, given)
elif chosen != st.session_state.get("_calc_prefilled_for"):
    values = prefill.inputs if prefill else None  # another run was picked: its values replace the inputs
else:
    values = None
if values is not None:
    for k in calculator.CALC_FIELDS:
        st.session_state[f"calc_{k}"] = getattr(values, k)
st.session_state["_calc_prefilled_for"] = chosen

st.subheader("Setup")
cols = st.columns(3)
inputs = {}
for i, (k, label, help_) in enumerate(INT_INPUTS):
    inputs[k] = cols[i % 3].number_input(label, min_value=1, step=1, key=f"calc_{k}", help=help_,
                                         placeholder=UNKNOWN)
inputs["sampler"] = cols[2].selectbox("Sampler", list(SAMPLERS), key="calc_sampler",
                                          format_func=SAMPLER_LABELS.get)
cols = st.columns(3)
inputs["s_per_iter"] = cols[0].number_input("Seconds per iteration", min_value=0.0, step=0.1, format="%.4g",
                                            key="calc_s_per_iter", placeholder=UNKNOWN,
                                            help="For the duration: a run's median is prefilled")
inputs["drop_last"] = cols[1].checkbox("drop_last", key="calc_drop_last",
                                       help="The dataloader drops the last incomplete batch of each epoch")
calc = CalculatorInputs(**{k: inputs[k] for k in calculator.CALC_FIELDS})
calc.sampler = calc.sampler or "default"
calc.s_per_iter = calc.s_per_iter or None  # 0 s/iter means "not given"
calc.drop_last = bool(calc.drop_last)

if prefill is not None:
    src = [{"input": k, "the run's value": fmt_value(getattr(prefill.inputs, k)),
            "from": one_line(prefill.sources.get(k, "not in the log"))} for k in calculator.CALC_FIELDS]
    with st.expander("What the run's log says"):
        st.dataframe(pd.DataFrame(src), hide_index=True)

# URL: the run, then every input.
out_state = ViewState(calc=calc)
if target is not None and target.kind == "upload":
    out_state.upload = target.id
elif target is not None:
    out_state.run = target.id
out = to_query(out_state)
if target is not None and target.index is not None:
    first = {k: out.pop(k) for k in ("run", "upload") if k in out}
    out = {**first, "r": str(target.index), **out}
common.write_query(out, SCOPE)

st.subheader("Result")
result = calculator.calculate(calc, run, prefill.logged_n if prefill else None, prefill.sources if prefill else None,
                              prefill.logged_iters_per_epoch if prefill else None)
a = result.result.arithmetic
m = st.columns(4)
m[0].metric("Iterations per epoch", fmt_num(a.iters_per_epoch))
m[1].metric("N (total iterations)", fmt_num(a.max_iters))
m[2].metric("Optimizer updates", fmt_num(a.optimizer_updates))
m[3].metric("Estimated duration", fmt_duration(result.result.duration_seconds))
st.dataframe(pd.DataFrame(calculator.calculation_rows(result), columns=["quantity", "value"]), hide_index=True)
st.text("Formula (L dataset size, W GPUs, B batch size, A accumulative_counts, E epochs):")
st.code(a.formula, language=None, wrap_lines=True)
st.caption("Default sampler: per-GPU samples = ceil(L / W). Length-grouped: ceil(L / (P x W)) x P with "
           "P = B x A (xtuner). Iterations per epoch = ceil(per-GPU samples / B) (floor with drop_last); "
           "N = E x that; optimizer updates = ceil(N / A); samples seen = N x B x W.")

if run is not None and result.audit is not None:
    aud = result.audit
    st.subheader("Check against the run")
    level, sentence = calculator.verdict(aud)
    {"success": st.success, "error": st.error}.get(level, st.info)(sentence)
    with st.container(border=True):
        st.text(aud.explanation)
    if aud.consistent is False:
        ws = ", ".join(map(str, aud.fitting_world_sizes)) or "none from 1 to 64"
        st.text(f"World sizes that give the logged N = {aud.logged_max_iters} with these other inputs: {ws}")
        if aud.fits:
            st.dataframe(calculator.fits_rows(aud), hide_index=True)
