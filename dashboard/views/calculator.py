"""The Calculator page's model: inputs prefilled from a run's header (with where each came from), merged with
the URL's, and the answer (N, updates, samples, duration, the audit against a run). All arithmetic comes from
``dashboard.analysis.audit``; nothing here adds a formula. No Streamlit here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import pandas as pd

from dashboard.analysis import RunSummary, setup_for
from dashboard.analysis.audit import SAMPLERS, Audit, Setup, WhatIf, audit, what_if
from dashboard.views.formatting import fmt_duration, fmt_num
from dashboard.views.url_state import CalculatorInputs
from parsers import Run

# ------------------------------------------------------------------------------------------ calculator


@dataclass(frozen=True)
class Prefill:
    """Calculator inputs read from a run's header (and its median s/iter), with where each came from."""

    inputs: CalculatorInputs
    sources: dict[str, str]
    logged_n: int | None
    logged_iters_per_epoch: int | None = None  # what the log establishes (for the audit without a dataset size)


def prefill_from(run: Run, summary: RunSummary | None) -> Prefill:
    setup, src = setup_for(run)
    sampler = setup.sampler if setup.sampler in SAMPLERS else "default"
    inputs = CalculatorInputs(
        dataset_size=setup.dataset_size, gpus=setup.world_size, batch_size=setup.batch_size,
        accumulative_counts=setup.accumulative_counts, epochs=setup.epochs, sampler=sampler,
        drop_last=bool(setup.drop_last),
        s_per_iter=_round_sig(summary.median_iter_seconds) if summary is not None else None,
    )
    sources = {_CALC_NAME.get(k, k): v for k, v in src.items()}
    if summary is not None and summary.median_iter_seconds:
        sources["s_per_iter"] = "median time of the run's records"
    if setup.sampler is None:
        sources.setdefault("sampler", "not in the log: MMEngine's DefaultSampler assumed")
    logged_n = summary.max_iters if summary is not None else run.max_iters
    return Prefill(inputs, sources, logged_n, summary.iters_per_epoch if summary is not None else None)


_CALC_NAME = {"world_size": "gpus"}


def _round_sig(x: float | None, digits: int = 4) -> float | None:
    if x is None or not math.isfinite(x) or x <= 0:
        return None
    return float(f"{x:.{digits}g}")


def merge_inputs(url: CalculatorInputs, prefill: CalculatorInputs | None, url_keys: set[str]) -> CalculatorInputs:
    """The URL's values where the URL has them, else the prefill's."""
    if prefill is None:
        return replace(url)
    out = replace(prefill)
    for k in url_keys:
        if k in CALC_FIELDS:
            setattr(out, k, getattr(url, k))
    return out


CALC_FIELDS = ("dataset_size", "gpus", "batch_size", "accumulative_counts", "epochs", "sampler", "drop_last",
               "s_per_iter")


@dataclass(frozen=True)
class Calculation:
    setup: Setup
    result: WhatIf
    audit: Audit | None  # only with a run (something to compare with)
    logged_n: int | None


def calculator_setup(inputs: CalculatorInputs, run: Run | None = None) -> Setup:
    """The ``Setup`` the calculator computes with: exactly the inputs (an empty input is unknown),
    plus from the run's config what the page has no input for: ``max_iters`` (an infinite sampler's
    N) and the length-grouped sampler's ``per_device_batch_size`` while batch size and accumulation
    are the config's (otherwise xtuner's ``P = B x A`` applies)."""
    setup = Setup(inputs.dataset_size, inputs.gpus, inputs.batch_size, inputs.accumulative_counts, inputs.epochs,
                  inputs.sampler, inputs.drop_last)
    if run is None:
        return setup
    h = run.header
    keep_p = (h.per_device_batch_size and inputs.batch_size == h.batch_size
              and (inputs.accumulative_counts or 1) == (h.accumulative_counts or 1))
    return replace(setup, max_iters=h.max_iters, per_device_batch_size=h.per_device_batch_size if keep_p else None)


def calculate(inputs: CalculatorInputs, run: Run | None = None, logged_n: int | None = None,
              sources: Mapping[str, str] | None = None, logged_iters_per_epoch: int | None = None) -> Calculation:
    setup = calculator_setup(inputs, run)
    result = what_if(setup, inputs.s_per_iter)
    aud = None
    if run is not None:
        shown = {k: f"{getattr(inputs, k)} ({v})" for k, v in (sources or {}).items() if k in CALC_FIELDS}
        aud = audit(logged_n, setup, shown, logged_iters_per_epoch=logged_iters_per_epoch)
    return Calculation(setup, result, aud, logged_n)


def calculation_rows(c: Calculation) -> list[tuple[str, str]]:
    """(quantity, value) rows of the calculator's answer."""
    a = c.result.arithmetic
    dur = c.result.duration_seconds
    return [
        ("samples per GPU (process) per epoch", fmt_num(a.per_rank_samples, 4)),
        ("iterations per epoch", fmt_num(a.iters_per_epoch, 4)),
        ("N (total iterations)", fmt_num(a.max_iters, 4)),
        ("optimizer updates", fmt_num(a.optimizer_updates, 4)),
        ("samples seen (all GPUs)", fmt_num(a.samples_seen, 4)),
        ("samples repeated by the sampler's round-up", fmt_num(a.samples_repeated, 4)),
        ("estimated duration" + (f" at {fmt_num(c.result.seconds_per_iter, 4)} s/iter"
                                 if c.result.seconds_per_iter else ""), fmt_duration(dur)),
    ]


def fits_rows(aud: Audit) -> pd.DataFrame:
    return pd.DataFrame([{"world size (processes)": f.world_size, "sampler": f.sampler,
                          "iterations per epoch": f.iters_per_epoch} for f in aud.fits],
                        columns=["world size (processes)", "sampler", "iterations per epoch"])


def verdict(aud: Audit) -> tuple[str, str]:
    """``(level, sentence)`` of an audit of a believed setup against the log's N: "success", "error" or "info",
    in our words and numbers (a page may draw it as Markdown). The Calculator and the Run page say it alike."""
    if aud.consistent is True:
        return "success", f"This setup gives N = {aud.expected_max_iters}: what the log says."
    if aud.consistent is False:
        return "error", f"This setup gives N = {aud.expected_max_iters}, but the log says N = {aud.logged_max_iters}."
    return "info", "No verdict with these inputs: see why below."

