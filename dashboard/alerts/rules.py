"""Alert rules: the small rule grammar (parsed, never evaluated as Python) and what each rule sees in a run.

A rule is one line of text:

- ``crashed``   a traceback or ERROR after the last record (the message carries the error line);
- ``stalled``   no new record for longer than the stall threshold, with hysteresis (``Stall``);
- ``nonfinite`` a loss or grad_norm turned NaN/inf (``nan`` is the same rule); the message names the first iteration;
- ``finished``  the run finished (the message carries the wall time and the final/best validation metrics);
- ``METRIC OP NUMBER [after iter N]``: the latest value of a train field (``loss``, ``grad_norm``, ``lr``, ...)
  or, when no train field has that name, of a validation metric (``accuracy/top1``); ``OP`` is one of
  ``> >= < <= == !=``; a name with spaces or parentheses is written in double quotes (``"coco/AP (M)" < 0.1``);
  ``after iter N`` waits until the run reached iteration N. Example: ``loss > 5 after iter 1000``;
- ``eta OP DURATION``: the ETA of a running run, e.g. ``eta > 12h`` (units ``s m h d``, combinable: ``1h30m``);
- ``finish later than HH:MM`` (the next such time of the log's clock after the run's last line) or
  ``finish later than YYYY-MM-DD HH:MM``: the finish estimate of a running run.

Every rule alerts once per run (``stalled``: once per stall, i.e. per iteration the run stalled at).
Anything else is a ``RuleError`` whose message says what was expected.
"""

from __future__ import annotations

import datetime as _dt
import math
import operator
import re
from dataclasses import dataclass

from dashboard.analysis.summary import RunSummary
from dashboard.views.formatting import fmt_clock, fmt_duration, fmt_num

BUILTINS = ("crashed", "stalled", "nonfinite", "finished")
ALIASES = {"nan": "nonfinite", "crash": "crashed", "stall": "stalled", "finish": "finished"}
DEFAULT_RULES = BUILTINS
MAX_RULE_CHARS = 200

OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq,
       "!=": operator.ne}
_NAME = r'(?P<name>"[^"\n]{1,120}"|[A-Za-z_][\w./\-]{0,119})'
_OP = r"(?P<op>>=|<=|==|!=|>|<)"
_NUM = r"(?P<num>[-+]?(?:\d{1,30}(?:\.\d{0,30})?|\.\d{1,30})(?:[eE][-+]?\d{1,3})?)"
_METRIC = re.compile(rf"{_NAME}\s*{_OP}\s*{_NUM}(?:\s+after\s+(?:iter|iteration)\s+(?P<after>\d{{1,18}}))?")
_DURATION = re.compile(r"(?:(?P<d>\d{1,6})d)?(?:(?P<h>\d{1,6})h)?(?:(?P<m>\d{1,6})m)?(?:(?P<s>\d{1,6})s)?")
_ETA = re.compile(rf"eta\s*{_OP}\s*(?P<dur>[\dhdms]{{1,30}})")
_FINISH = re.compile(r"finish\s+later\s+than\s+(?:(?P<date>\d{4}-\d{2}-\d{2})\s+)?(?P<hh>\d{1,2}):(?P<mm>\d{2})")


class RuleError(ValueError):
    """A rule that does not follow the grammar (the message is one line, for a person)."""


@dataclass(frozen=True)
class Rule:
    """One parsed rule. ``kind``: a builtin name, ``metric``, ``eta`` or ``finish``; ``text`` its canonical
    spelling (the key of its alerts)."""

    kind: str
    text: str
    name: str | None = None
    op: str | None = None
    value: float | None = None
    after: int | None = None
    deadline: tuple[str | None, int, int] | None = None  # (date or None, hour, minute)


def parse_duration(text: str) -> float | None:
    m = _DURATION.fullmatch(text)
    if not m or not text or not any(m.group(k) for k in "dhms"):
        return None
    return sum(int(m.group(k) or 0) * mult for k, mult in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)))


def parse_rule(text: str) -> Rule:
    """The rule ``text`` says (see the module docstring), or ``RuleError``."""
    if not isinstance(text, str):
        raise RuleError(f"a rule must be text, not {type(text).__name__}")
    raw = " ".join(text.split())
    if not raw:
        raise RuleError("an empty rule")
    if len(raw) > MAX_RULE_CHARS:
        raise RuleError(f"a rule longer than {MAX_RULE_CHARS} characters")
    word = raw.lower()
    word = ALIASES.get(word, word)
    if word in BUILTINS:
        return Rule(word, word)
    m = _FINISH.fullmatch(raw)
    if m:
        hh, mm, date = int(m.group("hh")), int(m.group("mm")), m.group("date")
        if hh > 23 or mm > 59:
            raise RuleError(f"bad time of day in rule {raw!r}: {hh}:{mm:02d}")
        if date is not None:
            try:
                _dt.date.fromisoformat(date)
            except ValueError:
                raise RuleError(f"bad date in rule {raw!r}: {date}") from None
        when = f"{date + ' ' if date else ''}{hh:02d}:{mm:02d}"
        return Rule("finish", f"finish later than {when}", deadline=(date, hh, mm))
    m = _ETA.fullmatch(raw)
    if m:
        seconds = parse_duration(m.group("dur"))
        if seconds is None:
            raise RuleError(f"bad duration in rule {raw!r}: {m.group('dur')!r} (write e.g. 90m, 12h, 1d6h)")
        return Rule("eta", f"eta {m.group('op')} {m.group('dur')}", op=m.group("op"), value=float(seconds))
    m = _METRIC.fullmatch(raw)
    if m:
        name = m.group("name").strip('"')
        value = float(m.group("num"))
        after = int(m.group("after")) if m.group("after") else None
        shown = f'"{name}"' if not re.fullmatch(r"[A-Za-z_][\w./\-]*", name) else name
        text_ = f"{shown} {m.group('op')} {m.group('num')}" + (f" after iter {after}" if after is not None else "")
        return Rule("metric", text_, name=name, op=m.group("op"), value=value, after=after)
    raise RuleError(
        f"rule {raw[:80]!r} is not understood: write one of {', '.join(BUILTINS)}, "
        "'METRIC OP NUMBER [after iter N]' (OP: > >= < <= == !=), 'eta > 12h' or 'finish later than 08:00'")


# -------------------------------------------------------------------------------------- what a rule sees


def _ts(iso_text: str | None) -> float | None:
    if not iso_text:
        return None
    try:
        return _dt.datetime.fromisoformat(iso_text).replace(tzinfo=_dt.timezone.utc).timestamp()
    except ValueError:
        return None


def deadline_after(rule: Rule, now_log: float) -> float:
    """The deadline of a ``finish later than`` rule, in the log clock's seconds: the given date and time, or the
    first HH:MM at or after ``now_log`` (the run's last line)."""
    date, hh, mm = rule.deadline  # type: ignore[misc]
    if date is not None:
        d = _dt.date.fromisoformat(date)
        return _dt.datetime(d.year, d.month, d.day, hh, mm, tzinfo=_dt.timezone.utc).timestamp()
    now = _dt.datetime.fromtimestamp(now_log, _dt.timezone.utc)
    at = now.replace(hour=hh, minute=mm, second=0, microsecond=0)
    if at < now:
        at += _dt.timedelta(days=1)
    return at.timestamp()


def check(rule: Rule, summary: RunSummary, status: str) -> str | None:
    """Why a threshold rule (``metric``, ``eta``, ``finish``) holds for this run now, or None."""
    if rule.kind == "metric":
        if rule.after is not None and (summary.last_iter is None or summary.last_iter < rule.after):
            return None
        if rule.name in (summary.latest or {}):
            v, where = summary.latest[rule.name], f"at iteration {summary.last_iter}"
        elif rule.name in (summary.final_metrics or {}):
            v, where = summary.final_metrics[rule.name], "at the last validation"
        else:
            return None
        if not isinstance(v, (int, float)) or not math.isfinite(v) or not OPS[rule.op](v, rule.value):
            return None
        return f"{rule.name} = {fmt_num(v, 4)} {where} ({rule.text})"
    if status != "running":  # only a running run has an ETA and a finish time (run_model.shows_eta)
        return None
    if rule.kind == "eta":
        eta = summary.eta_seconds
        if eta is None or not math.isfinite(eta) or not OPS[rule.op](eta, rule.value):
            return None
        return f"ETA {fmt_duration(eta)} ({rule.text})"
    if rule.kind == "finish":
        finish = summary.finish_timestamp if summary.finish_timestamp is not None else _ts(summary.finish_at)
        last = summary.last_timestamp
        if finish is None or last is None:
            return None
        deadline = deadline_after(rule, last)
        if finish <= deadline:
            return None
        shown = _dt.datetime.fromtimestamp(deadline, _dt.timezone.utc).replace(tzinfo=None).isoformat()
        return f"finish expected {fmt_clock(summary.finish_at)}, later than {fmt_clock(shown)} ({rule.text})"
    return None
