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


@dataclass(frozen=True)
class DatasetRange:
    """The dataset sizes ``lo..hi`` (inclusive) that give ``iters_per_epoch`` with ``world_size`` processes."""

    world_size: int
    sampler: str
    lo: int
    hi: int


#: The world sizes the inverse audit tries (plus the one the log or the user names).
INVERSE_WORLD_SIZES = (1, 2, 4, 8)


def dataset_sizes_for(iters_per_epoch: int, setup: Setup) -> list[DatasetRange]:
    """The inverse of ``compute``: for each world size of ``INVERSE_WORLD_SIZES`` (and the setup's), which dataset
    sizes L give ``iters_per_epoch`` (I) with the setup's batch size B, sampler and drop_last.

    The per-rank sample count r gives I when ceil(r / B) = I, i.e. (I - 1) B < r <= I B (floor(r / B) = I with
    drop_last: I B <= r < (I + 1) B). The default sampler has r = ceil(L / W), so L runs from (r_min - 1) W + 1
    to r_max W; the length-grouped one has r = g P with g = ceil(L / (P W)), so L runs from (g_min - 1) P W + 1
    to g_max P W over the g whose g P is such an r. Empty when the batch size is unknown.
    """
    B = setup.batch_size
    if not B or iters_per_epoch <= 0:
        return []
    sampler = setup.sampler or "default"
    if sampler == "infinite":
        return []
    n = iters_per_epoch
    r_min, r_max = (n * B, (n + 1) * B - 1) if setup.drop_last else ((n - 1) * B + 1, n * B)
    if sampler == "length-grouped":
        step = setup.per_device_batch_size or B * (setup.accumulative_counts or 1)
        g_min, g_max = -(-r_min // step), r_max // step  # the multiples of P inside r_min..r_max
        if g_min > g_max:
            return []
    else:
        step, g_min, g_max = 1, r_min, r_max
    ws = sorted({*INVERSE_WORLD_SIZES, *([setup.world_size] if setup.world_size else [])})
    return [DatasetRange(W, sampler, (g_min - 1) * step * W + 1, g_max * step * W) for W in ws]


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
    iteration_based: bool = False  # N is set directly (max_iters): any world size gives it
    data_epochs: float | None = None  # iteration-based: N x B x W / L, the epochs of the data N covers
    logged_iters_per_epoch: int | None = None  # what the log establishes (epoch lines, config, phase shift)
    dataset_sizes: list[DatasetRange] = field(default_factory=list)  # the inverse: sizes that give it

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


def audit(logged_n: int | None, setup: Setup, inputs: dict[str, str] | None = None,
          logged_iters_per_epoch: int | None = None) -> Audit:
    """Compare the N the log shows with the N the setup implies, and explain any difference.

    ``logged_iters_per_epoch`` is what the log itself establishes (``analysis.epoch_info``): without a dataset
    size there is no verdict, but the audit still says what the log shows and, inversely, which dataset sizes
    give it for 1, 2, 4, 8 processes (and the setup's).
    """
    inputs = inputs or {}
    arith = compute(setup)
    expected = arith.max_iters
    if (setup.sampler or "default") == "infinite" and logged_n is not None:
        return _iteration_based(logged_n, setup, arith, inputs)
    if logged_n is None or expected is None:
        if logged_n is not None and logged_iters_per_epoch and not setup.dataset_size:
            return _without_dataset_size(logged_n, setup, arith, inputs, logged_iters_per_epoch)
        missing = [k for k, v in (("dataset size", setup.dataset_size), ("world size", setup.world_size),
                                  ("batch size", setup.batch_size), ("epochs", setup.epochs)) if not v]
        why = ("the log shows no N" if logged_n is None else
               "cannot compute the expected N without " + ", ".join(missing or ["the sampler's N"]))
        fits = fitting_setups(logged_n, setup) if (logged_n and setup.dataset_size and setup.batch_size
                                                   and setup.epochs) else []
        return Audit(expected, logged_n, None, sorted({f.world_size for f in fits}), fits,
                     f"No verdict: {why}." + (_fits_sentence(fits, setup) if fits else ""), arith, inputs)
    A = setup.accumulative_counts or 1
    fits = fitting_setups(logged_n, setup)
    if expected == logged_n:
        text = (f"Consistent: {arith.formula}. The log's N = {logged_n} is what this setup gives; "
                f"that is {_ceil_div(logged_n, A)} optimizer updates.")
        return Audit(expected, logged_n, True, sorted({f.world_size for f in fits}), fits, text, arith, inputs)
    text = _explain_mismatch(logged_n, setup, arith, fits)
    return Audit(expected, logged_n, False, sorted({f.world_size for f in fits}), fits, text, arith, inputs)


def _iteration_based(logged_n: int, setup: Setup, arith: Arithmetic, inputs: dict[str, str]) -> Audit:
    """An iteration-based loop sets N directly (max_iters): any number of processes gives it. The question is
    whether the config's max_iters is the logged N, and how many epochs of the data N covers."""
    A = setup.accumulative_counts or 1
    expected = arith.max_iters
    ok = None if expected is None else expected == logged_n
    said = ("the config does not say max_iters" if expected is None else
            f"the config's max_iters = {expected} {'is' if ok else 'is not'} the log's N = {logged_n}")
    parts = [f"Iteration-based: N is set directly (max_iters), not by the dataset, the batch or the number of "
             f"processes, so any world size gives it; {said}. That is {_ceil_div(logged_n, A)} optimizer updates "
             f"(accumulation {A})."]
    B, W, L = setup.batch_size, setup.world_size, setup.dataset_size
    epochs = None
    if B and W and L:
        epochs = logged_n * B * W / L
        parts.append(f"N x B x W = {logged_n} x {B} x {W} = {logged_n * B * W} samples: {epochs:.3g} epochs of the "
                     f"{L} samples.")
    elif not L:
        parts.append("With the dataset size it would say how many epochs of the data N covers.")
    return Audit(expected, logged_n, ok, [], [], " ".join(parts), arith, inputs, iteration_based=True,
                 data_epochs=epochs)


def _without_dataset_size(logged_n: int, setup: Setup, arith: Arithmetic, inputs: dict[str, str],
                          ipe: int) -> Audit:
    """No verdict without the dataset size; what the log establishes, and the dataset sizes that give it."""
    A = setup.accumulative_counts or 1
    epochs = logged_n // ipe if logged_n % ipe == 0 else None
    sizes = dataset_sizes_for(ipe, setup)
    parts = [f"No verdict without the dataset size. The log establishes {ipe} iterations per epoch"
             + (f", {epochs} epochs" if epochs else "") + f", N = {logged_n}: {_ceil_div(logged_n, A)} optimizer "
             f"updates (accumulation {A})."]
    if sizes:
        named = setup.world_size
        parts.append("Dataset sizes that give " + f"{ipe} iterations per epoch with batch {setup.batch_size} "
                     f"({sizes[0].sampler} sampler): " + "; ".join(
                         f"{r.world_size} process{'es' if r.world_size > 1 else ''}"
                         f"{' (the setup)' if r.world_size == named else ''}: {r.lo:,}–{r.hi:,}" for r in sizes)
                     + ".")
    else:
        parts.append("With the batch size it would say which dataset sizes give it.")
    return Audit(None, logged_n, None, [], [], " ".join(parts), arith, inputs, logged_iters_per_epoch=ipe,
                 dataset_sizes=sizes)


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
                f"launcher, e.g. plain 'python train.py' instead of torchrun or 'NPROC_PER_NODE={W} xtuner train')."
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

