"""Where uploads go and how big they may be: ``MMDASH_*`` environment variables, checked, with a note for each
value that could not be used."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dashboard.uploads.store import DEFAULT_MAX_AGE_DAYS, DEFAULT_MAX_TOTAL_BYTES, UploadStore, default_store_dir

MB = 1024 * 1024
ENV_MAX_UPLOAD_MB = "MMDASH_MAX_UPLOAD_MB"
ENV_MAX_TOTAL_MB = "MMDASH_UPLOAD_MAX_TOTAL_MB"
ENV_MAX_AGE_DAYS = "MMDASH_UPLOAD_MAX_AGE_DAYS"
DEFAULT_MAX_UPLOAD_MB = 500


@dataclass(frozen=True)
class UploadSettings:
    """Where uploads go and how big they may be (``MMDASH_*`` environment variables)."""

    root: Path
    max_upload_mb: int
    max_total_mb: int
    max_age_days: float
    notes: tuple[str, ...] = ()

    @property
    def max_bytes(self) -> int:
        return self.max_upload_mb * MB

    def store(self) -> UploadStore:
        return UploadStore(self.root, max_bytes=self.max_bytes, max_total_bytes=self.max_total_mb * MB,
                           max_age_days=self.max_age_days)


def _env_number(environ: Mapping[str, str], key: str, default: float, lo: float, notes: list[str],
                integer: bool = True) -> float:
    raw = environ.get(key)
    if raw is None or not raw.strip():
        return default
    try:
        v = int(raw) if integer else float(raw)
    except ValueError:
        v = None
    if v is None or not math.isfinite(v) or v < lo:
        notes.append(f"{key}={raw[:40]!r} is not a number of at least {lo:g}: using {default:g}")
        return default
    return v


def upload_settings(environ: Mapping[str, str] | None = None, server_max_mb: int | None = None) -> UploadSettings:
    """Settings from the environment.

    ``MMDASH_MAX_UPLOAD_MB`` (default 500) is the per-file limit; the file uploader cannot take more
    than Streamlit's ``server.maxUploadSize`` (``server_max_mb``), so the smaller of the two is used
    and a note says so when they differ. ``MMDASH_UPLOAD_DIR`` moves the store;
    ``MMDASH_UPLOAD_MAX_TOTAL_MB`` (default 5120) and ``MMDASH_UPLOAD_MAX_AGE_DAYS`` (default 90)
    are the retention limits.
    """
    env = os.environ if environ is None else environ
    notes: list[str] = []
    limit = int(_env_number(env, ENV_MAX_UPLOAD_MB, DEFAULT_MAX_UPLOAD_MB, 1, notes))
    if server_max_mb is not None and server_max_mb >= 1 and server_max_mb != limit:
        notes.append(f"server.maxUploadSize is {server_max_mb} MB and {ENV_MAX_UPLOAD_MB} is {limit} MB: "
                     f"the smaller, {min(limit, server_max_mb)} MB, is used. Set both to the same value.")
        limit = min(limit, server_max_mb)
    total = int(_env_number(env, ENV_MAX_TOTAL_MB, DEFAULT_MAX_TOTAL_BYTES // MB, 1, notes))
    age = float(_env_number(env, ENV_MAX_AGE_DAYS, DEFAULT_MAX_AGE_DAYS, 0.001, notes, integer=False))
    root = Path(env["MMDASH_UPLOAD_DIR"]) if env.get("MMDASH_UPLOAD_DIR") else default_store_dir()
    return UploadSettings(root, limit, total, age, tuple(notes))
