"""The iteration arithmetic of an MMEngine run, and an audit of a log against the setup.

Formulas (mmengine/dataset/sampler.py, mmengine/runner/loops.py, xtuner LengthGroupedSampler,
mmengine/optim/optimizer/optimizer_wrapper.py; ../shared/GUIDE.md section 4), with L the dataset
length, W the world size, B the per-process batch, A accumulative_counts, E epochs, P the length
grouped sampler's per_device_batch_size (xtuner sets P = B * A):

- default sampler (round_up):   per-rank samples = ceil(L / W)
- length-grouped (round_up):    per-rank samples = ceil(L / (P * W)) * P
- iterations per epoch = ceil(per-rank / B)   (floor with drop_last)
- N = E * iterations per epoch; optimizer updates = ceil(N / A)
- samples processed = N * B * W; of those, (per-rank * W - L) per epoch are round-up repeats.
An infinite sampler has no epochs: N is max_iters as configured.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

SAMPLERS = ("default", "length-grouped", "infinite")
MAX_WORLD_SIZE = 64


def sampler_kind(sampler_type: str | None) -> str | None:
    """Map a config's sampler type to one of ``SAMPLERS`` (None when unknown)."""
    if not sampler_type:
        return None
    s = sampler_type.lower()
    if "lengthgrouped" in s.replace("_", "").replace("-", ""):
        return "length-grouped"
    if "infinite" in s:
        return "infinite"
    if "sampler" in s:
        return "default"
    return None


@dataclass(frozen=True)
class Setup:
    """What the user believes they ran (or what the header says)."""

    dataset_size: int | None = None
    world_size: int | None = None
    batch_size: int | None = None
    accumulative_counts: int | None = None
    epochs: int | None = None
    sampler: str | None = None  # one of SAMPLERS
    drop_last: bool = False
    per_device_batch_size: int | None = None  # length-grouped only; default B * A
    max_iters: int | None = None  # infinite sampler / iteration-based loops


@dataclass(frozen=True)
class Arithmetic:
    """The numbers that follow from a ``Setup`` (None where an input is missing)."""

    per_rank_samples: int | None
    iters_per_epoch: int | None
    max_iters: int | None
    optimizer_updates: int | None
    samples_seen: int | None
    samples_repeated: int | None
    formula: str


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def compute(setup: Setup) -> Arithmetic:
    """N, updates and samples for a setup; the formula is spelled out with its numbers."""
    L, W, B, A, E = setup.dataset_size, setup.world_size, setup.batch_size, setup.accumulative_counts, setup.epochs
    A_eff = A or 1
    sampler = setup.sampler or "default"
    if sampler == "infinite":
        n = setup.max_iters
        updates = _ceil_div(n, A_eff) if n else None
        seen = n * B * W if (n and B and W) else None
        return Arithmetic(None, None, n, updates, seen, None,
                          f"infinite sampler: N = max_iters = {n if n else '?'}; updates = ceil(N / A)")
    if not (L and W and B) or L <= 0 or W <= 0 or B <= 0:
        return Arithmetic(None, None, None, None, None, None, "needs dataset size, world size and batch size")
    if sampler == "length-grouped":
        P = setup.per_device_batch_size or B * A_eff
        per_rank = _ceil_div(L, P * W) * P
        f_rank = f"ceil({L} / ({P} x {W})) x {P} = {per_rank}"
    else:
        per_rank = _ceil_div(L, W)
        f_rank = f"ceil({L} / {W}) = {per_rank}"
    ipe = per_rank // B if setup.drop_last else _ceil_div(per_rank, B)
    f_ipe = f"{'floor' if setup.drop_last else 'ceil'}({per_rank} / {B}) = {ipe}"
    if not E:
        return Arithmetic(per_rank, ipe, None, None, None, None,
                          f"per-rank samples {f_rank}; iterations per epoch {f_ipe}; epochs unknown")
    n = E * ipe
    updates = _ceil_div(n, A_eff)
    seen = n * B * W
    repeated = (per_rank * W - L) * E
    formula = (f"per-rank samples {f_rank}; iterations per epoch {f_ipe}; N = {E} x {ipe} = {n}; "
               f"optimizer updates = ceil({n} / {A_eff}) = {updates}")
    return Arithmetic(per_rank, ipe, n, updates, seen, repeated, formula)


@dataclass(frozen=True)
class Fit:
    world_size: int
    sampler: str
    iters_per_epoch: int


@dataclass
class Audit:
    expected_max_iters: int | None
    logged_max_iters: int | None
    consistent: bool | None  # None when there is nothing to compare
    fitting_world_sizes: list[int]
    fits: list[Fit]
    explanation: str
    arithmetic: Arithmetic | None = None
    inputs: dict[str, str] = field(default_factory=dict)  # input name -> "value (source)"

    def as_dict(self) -> dict:
        d = asdict(self)
        d["fits"] = [asdict(f) for f in self.fits]
        return d


def fitting_setups(logged_n: int, setup: Setup, max_world: int = MAX_WORLD_SIZE) -> list[Fit]:
    """Every (world size, sampler) in 1..max_world that reproduces the logged N."""
    fits = []
    for sampler in ("default", "length-grouped"):
        for w in range(1, max_world + 1):
            a = compute(Setup(setup.dataset_size, w, setup.batch_size, setup.accumulative_counts, setup.epochs,
                              sampler, setup.drop_last, setup.per_device_batch_size))
            if a.max_iters == logged_n:
                fits.append(Fit(w, sampler, a.iters_per_epoch or 0))
    return fits


def audit(logged_n: int | None, setup: Setup, inputs: dict[str, str] | None = None) -> Audit:
    """Compare the N the log shows with the N the setup implies, and explain any difference."""
    inputs = inputs or {}
    arith = compute(setup)
    expected = arith.max_iters
    if logged_n is None or expected is None:
        missing = [k for k, v in (("dataset size", setup.dataset_size), ("world size", setup.world_size),
                                  ("batch size", setup.batch_size), ("epochs", setup.epochs)) if not v]
        why = ("the log shows no N" if logged_n is None else
               "cannot compute the expected N without " + ", ".join(missing or ["the sampler's N"]))
        fits = fitting_setups(logged_n, setup) if (logged_n and setup.dataset_size and setup.batch_size
                                                   and setup.epochs) else []
        return Audit(expected, logged_n, None, sorted({f.world_size for f in fits}), fits,
                     f"No verdict: {why}." + (_fits_sentence(fits, setup) if fits else ""), arith, inputs)
    A = setup.accumulative_counts or 1
    if (setup.sampler or "default") == "infinite":
        ok = expected == logged_n
        text = (f"Iteration-based: the infinite sampler has no epochs, so N is max_iters from the config "
                f"({expected}); the log's N = {logged_n} {'matches it' if ok else 'does not match it'}. "
                f"That is {_ceil_div(logged_n, A)} optimizer updates (accumulation {A}).")
        return Audit(expected, logged_n, ok, [], [], text, arith, inputs)
    fits = fitting_setups(logged_n, setup)
    if expected == logged_n:
        text = (f"Consistent: {arith.formula}. The log's N = {logged_n} is what this setup gives; "
                f"that is {_ceil_div(logged_n, A)} optimizer updates.")
        return Audit(expected, logged_n, True, sorted({f.world_size for f in fits}), fits, text, arith, inputs)
    text = _explain_mismatch(logged_n, setup, arith, fits)
    return Audit(expected, logged_n, False, sorted({f.world_size for f in fits}), fits, text, arith, inputs)


def _fits_sentence(fits: list[Fit], setup: Setup) -> str:
    if not fits:
        return ""
    parts = sorted({f"{f.world_size} process{'es' if f.world_size > 1 else ''} ({f.sampler} sampler)" for f in fits})
    return " The logged N fits: " + ", ".join(parts) + "."


def _explain_mismatch(logged_n: int, setup: Setup, arith: Arithmetic, fits: list[Fit]) -> str:
    W, A = setup.world_size or 1, setup.accumulative_counts or 1
    E = setup.epochs or 1
    lines = [
        f"The log says N = {logged_n}, but {setup.dataset_size} samples, batch {setup.batch_size}, "
        f"{W} GPU{'s' if W > 1 else ''}, accumulation {A} and {E} epoch{'s' if E > 1 else ''} give "
        f"N = {arith.max_iters} ({arith.formula}).",
    ]
    if logged_n % E == 0:
        lines.append(f"{logged_n} = {E} epochs x {logged_n // E} iterations per epoch.")
    same_sampler = [f for f in fits if f.sampler == (setup.sampler or "default")]
    if same_sampler:
        ws = sorted({f.world_size for f in same_sampler})
        if ws == [1] or (1 in ws and W > 1):
            lines.append(
                f"{logged_n // E if logged_n % E == 0 else '?'} iterations per epoch is what a single process "
                f"sees: the sampler split the data over a world size of {ws[0]}. Either training ran on one GPU, "
                f"or {W} processes each trained the whole schedule alone (started without a distributed "
                f"launcher, e.g. plain `python train.py` instead of torchrun / `NPROC_PER_NODE={W} xtuner train`)."
            )
        else:
            lines.append(f"The logged N fits a world size of {', '.join(map(str, ws))} with the "
                         f"{setup.sampler or 'default'} sampler, not {W}.")
    other = [f for f in fits if f.sampler != (setup.sampler or "default")]
    if other and not same_sampler:
        lines.append("It fits the " + other[0].sampler + " sampler with world size " +
                     ", ".join(str(f.world_size) for f in other) + ": check which sampler the config used.")
    if not fits:
        lines.append("No world size from 1 to 64 with the default or length-grouped sampler reproduces it: "
                     "check the dataset size (filtering, packing, or a different split), the batch size and "
                     "the number of epochs.")
    lines.append(f"The logged {logged_n} iterations are {_ceil_div(logged_n, A)} optimizer updates "
                 f"(accumulation {A}); the setup you describe would be {arith.optimizer_updates}.")
    return " ".join(lines)


@dataclass(frozen=True)
class WhatIf:
    arithmetic: Arithmetic
    seconds_per_iter: float | None
    duration_seconds: float | None


def what_if(setup: Setup, seconds_per_iter: float | None) -> WhatIf:
    """Settings in; N, updates and the duration at the given (measured) seconds per iteration out."""
    a = compute(setup)
    dur = a.max_iters * seconds_per_iter if (a.max_iters and seconds_per_iter) else None
    return WhatIf(a, seconds_per_iter, dur)

