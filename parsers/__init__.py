"""MMDash log parsers: bytes of an MMEngine / mmcv training log in, typed runs and records out.

Pure Python; no Streamlit. Start with ``parse_path`` / ``parse_bytes`` for whole files, or
``LogParser`` to feed a growing log chunk by chunk.
"""

from .lines import SizeLimitExceeded
from .records import EvalRecord, Event, HeaderFacts, ParsedLog, Run, TrainRecord, TrainTable
from .stream import LogParser, parse_bytes, parse_path, reference_of, reference_time_for
from .timestamps import Reference

__all__ = [
    "EvalRecord", "Event", "HeaderFacts", "LogParser", "ParsedLog", "Reference", "Run", "SizeLimitExceeded",
    "TrainRecord", "TrainTable", "parse_bytes", "parse_path", "reference_of", "reference_time_for",
]
