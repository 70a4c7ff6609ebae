"""Run analysis: progress, ETA, throughput, epochs, iteration audit, health. No Streamlit here."""

from .audit import Audit, Setup, audit, compute, fitting_setups, sampler_kind, what_if
from .combine import combine
from .epochs import EpochInfo, epoch_info
from .eta import Eta, estimate
from .health import Health, first_nonfinite, health, loss_spikes
from .summary import Overrides, RunSummary, setup_for, summarize
from .timing import TimeStats, time_stats

__all__ = [
    "Audit", "EpochInfo", "Eta", "Health", "Overrides", "RunSummary", "Setup", "TimeStats", "audit", "combine",
    "compute", "epoch_info", "estimate", "first_nonfinite", "fitting_setups", "health", "loss_spikes",
    "sampler_kind", "setup_for", "summarize", "time_stats", "what_if",
]
