"""JSON output of the command lines: the one rule for numbers JSON cannot hold.

A float that is not finite is written as a string: NaN as ``"nan"``, infinities as ``"inf"`` and
``"-inf"`` (what the log itself prints). A missing value is ``null``: the two never mix, so a loss the
log wrote as ``nan`` is not mistaken for one it did not write. Used by ``python -m parsers``,
``python -m dashboard tail --json`` and ``python -m dashboard report --json``.
"""

from __future__ import annotations

import json
import math
from typing import Any


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (in dicts, lists and tuples too) replaced by its string."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "nan" if value != value else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def json_line(value: Any) -> str:
    """``value`` as one line of JSON (no newline at the end), non-finite floats as strings."""
    return json.dumps(json_safe(value), allow_nan=False)
