"""Alert configuration: channels (Apprise URLs), rules, scope, the public base URL, stall and retry settings.

Sources, merged in this order (channels and rules add up; single values: the later wins):

1. the TOML file named by ``MMDASH_ALERTS_FILE`` (or ``watch --config FILE``), read with ``tomllib``;
2. ``MMDASH_NOTIFY``: Apprise URLs separated by spaces, commas or newlines; ``MMDASH_PUBLIC_URL``;
   ``MMDASH_ALERT_RULES`` (rules separated by ``;``);
3. ``watch --notify URL`` (repeatable), ``--rule RULE``, ``--public-url URL``.

TOML keys (every key optional; an unknown key is an error, so a typo does not silently turn a rule off)::

    notify = ["json://alerts.example.org/hook", "ntfy://ntfy.sh/my-topic"]
    public_url = "https://mmdash.example.org"
    rules = ["crashed", "stalled", "nonfinite", "finished", "loss > 5 after iter 1000"]
    roots = ["work_dirs"]          # only runs under these log roots (labels, as on the Runs page)
    runs = "llm|sft"               # only runs whose name matches (RE2, as the Runs page filter)
    [[rule]]                       # a rule with a scope of its own (inside the file's scope)
    when = "finish later than 08:00"
    runs = "nightly"
    [stall]
    factor = 5                     # stalled: no record for max(factor x median gap, floor_seconds) ...
    floor_seconds = 120
    hysteresis = 1.5               # ... x hysteresis (a slow validation does not page anyone)
    [retry]
    attempts = 5                   # tries per alert and channel before it is given up, with a note
    first_delay_seconds = 2        # then 4, 8, 16 ... (at most max_delay_seconds)
    max_delay_seconds = 300

No rules given: the four built-in rules. Channels are secrets: ``Channel.url`` is only handed to Apprise; anything
a person reads shows ``Channel.shown`` (``redact``: the scheme and host, never a user, password, path or token).
"""

from __future__ import annotations

import ipaddress
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import tomllib

from dashboard.alerts.rules import DEFAULT_RULES, Rule, RuleError, parse_rule
from dashboard.analysis.health import STALL_FACTOR, STALL_FLOOR
from dashboard.views.text import one_line

if TYPE_CHECKING:
    from dashboard.views.runs_table import NameFilter

ENV_NOTIFY = "MMDASH_NOTIFY"
ENV_FILE = "MMDASH_ALERTS_FILE"
ENV_PUBLIC_URL = "MMDASH_PUBLIC_URL"
ENV_RULES = "MMDASH_ALERT_RULES"
ENV_DATA_DIR = "MMDASH_DATA_DIR"
STATE_FILE = "alerts-state.json"
HYSTERESIS = 1.5
RETRY_ATTEMPTS = 5
RETRY_FIRST = 2.0
RETRY_MAX = 300.0
CHECK_INTERVAL = 5.0  # seconds between looks at the runs that may stall
_TOP_KEYS = {"notify", "public_url", "rules", "rule", "roots", "runs", "stall", "retry"}


class ConfigError(ValueError):
    """Alert configuration that cannot be used; ``str()`` is one line for a person, never a secret."""


def redact(url: str) -> str:
    """``scheme://host[:port]`` of an Apprise URL: nothing after the host, no user or password. A "host" that
    does not look like a host name (``slack://TokenA/...``, ``tgram://bottoken/``) is a token: ``scheme://…``."""
    scheme, _, rest = url.partition("://")
    scheme = re.sub(r"[^A-Za-z0-9+.\-]", "", scheme)[:20] or "?"
    try:
        parts = urlsplit(f"x://{rest}")
        host, port = parts.hostname or "", parts.port
    except ValueError:
        return f"{scheme}://…"
    looks_like_host = host == "localhost" or "." in host and re.fullmatch(r"[a-z0-9.\-]+", host) is not None
    try:
        ipaddress.ip_address(host)
        looks_like_host = True
    except ValueError:
        pass
    if not looks_like_host:
        return f"{scheme}://…"
    return f"{scheme}://{host}" + (f":{port}" if port else "")


@dataclass(frozen=True)
class Channel:
    url: str = field(repr=False)  # a secret: only Apprise sees it
    shown: str

    def __str__(self) -> str:
        return self.shown


@dataclass(frozen=True)
class ScopedRule:
    rule: Rule
    roots: tuple[str, ...] = ()  # empty: every root
    runs: NameFilter | None = None

    @property
    def text(self) -> str:
        scope = []
        if self.roots:
            scope.append("roots " + ", ".join(self.roots))
        if self.runs is not None:
            scope.append(f"runs matching {self.runs.pattern!r}")
        return self.rule.text + (f" ({'; '.join(scope)})" if scope else "")

    def applies(self, root_label: str, name: str) -> bool:
        return ((not self.roots or root_label in self.roots)
                and (self.runs is None or self.runs.search(name)))


@dataclass(frozen=True)
class AlertConfig:
    channels: tuple[Channel, ...]
    rules: tuple[ScopedRule, ...]
    public_url: str | None = None
    roots: tuple[str, ...] = ()  # the scope of every rule
    runs: NameFilter | None = None
    stall_factor: float = STALL_FACTOR
    stall_floor: float = STALL_FLOOR
    hysteresis: float = HYSTERESIS
    retry_attempts: int = RETRY_ATTEMPTS
    retry_first: float = RETRY_FIRST
    retry_max: float = RETRY_MAX
    state_path: Path | None = None
    source: str = ""  # where it came from, for the Runs page ("MMDASH_NOTIFY", a file name, "--notify")

    def in_scope(self, root_label: str, name: str) -> bool:
        return (not self.roots or root_label in self.roots) and (self.runs is None or self.runs.search(name))

    def describe(self) -> list[str]:
        """What is configured, for the Runs page and ``watch``'s start line: no secrets."""
        scope = []
        if self.roots:
            scope.append("roots " + ", ".join(self.roots))
        if self.runs is not None:
            scope.append(f"runs matching {self.runs.pattern!r}")
        return [
            f"channels: {', '.join(c.shown for c in self.channels)}",
            f"rules: {'; '.join(r.text for r in self.rules)}",
            f"scope: {'; '.join(scope) or 'every run under the log roots'}",
            f"stalled after max({self.stall_factor:g} x median gap, {self.stall_floor:g} s) x {self.hysteresis:g}",
            f"link base: {self.public_url or 'none (set MMDASH_PUBLIC_URL)'}",
            f"configured by: {self.source}",
        ]


def split_urls(text: str) -> list[str]:
    return [u for u in re.split(r"[\s,]+", text or "") if u]


def check_channel(url: str) -> Channel:
    """A ``Channel`` for an Apprise URL Apprise can use, else ``ConfigError`` (naming the scheme, never the URL)."""
    import apprise
    from apprise.manager_plugins import NotificationManager

    shown = redact(url)
    if "://" not in url:
        raise ConfigError(f"notification URL {shown} has no scheme (write e.g. json://host/path, ntfy://topic)")
    scheme = url.split("://", 1)[0].lower()
    if scheme not in NotificationManager():
        raise ConfigError(f"notification URL {shown}: unknown scheme {one_line(scheme, 20)!r} "
                          "(see Apprise's list of services)")
    if apprise.Apprise.instantiate(url) is None:
        raise ConfigError(f"notification URL {shown}: Apprise cannot use it (a part of the URL is missing or wrong)")
    return Channel(url, shown)


def _scope(value: object, where: str) -> tuple[tuple[str, ...], NameFilter | None]:
    if not isinstance(value, Mapping):
        return (), None
    roots = value.get("roots", [])
    if isinstance(roots, str):
        roots = [roots]
    if not isinstance(roots, list) or not all(isinstance(r, str) for r in roots):
        raise ConfigError(f"{where}: roots must be a list of log root labels")
    runs = value.get("runs")
    pattern = None
    if runs is not None:
        if not isinstance(runs, str):
            raise ConfigError(f"{where}: runs must be a regular expression (text)")
        from dashboard.views.runs_table import compile_filter  # pandas: not for ``python -m dashboard report``

        pattern, notice = compile_filter(runs)
        if pattern is None and runs:
            raise ConfigError(f"{where}: {notice}")
    return tuple(roots), pattern


def _number(table: Mapping, key: str, default: float, lo: float, where: str) -> float:
    v = table.get(key, default)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < lo:
        raise ConfigError(f"{where}.{key} must be a number of at least {lo:g}, not {one_line(repr(v), 40)}")
    return float(v)


def read_toml(path: str | os.PathLike) -> dict:
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"alerts file {os.fspath(path)} cannot be read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"alerts file {os.fspath(path)} is not valid TOML: {one_line(str(e), 160)}") from None


def _rule(text: object, where: str) -> Rule:
    try:
        return parse_rule(text)  # type: ignore[arg-type]
    except RuleError as e:
        raise ConfigError(f"{where}: {e}") from None


def default_state_path(environ: Mapping[str, str]) -> Path:
    given = (environ.get(ENV_DATA_DIR) or "").strip()
    if given:
        return Path(os.path.expanduser(given)) / STATE_FILE
    from platformdirs import user_data_dir

    return Path(user_data_dir("mmdash", appauthor=False)) / STATE_FILE


def load_config(environ: Mapping[str, str] | None = None, *, notify: Sequence[str] = (), rules: Sequence[str] = (),
                config_file: str | None = None, public_url: str | None = None,
                state_path: str | os.PathLike | None = None) -> AlertConfig | None:
    """The alert configuration (see the module docstring); None when no channel is configured (alerts off).
    ``ConfigError`` for anything that cannot be used."""
    env = os.environ if environ is None else environ
    urls: list[str] = []
    texts: list[tuple[object, str, tuple[str, ...], NameFilter | None]] = []
    sources: list[str] = []
    data: dict = {}
    path = config_file or (env.get(ENV_FILE) or "").strip() or None
    if path:
        data = read_toml(path)
        where = os.path.basename(path)
        sources.append(where)
        unknown = sorted(set(data) - _TOP_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_TOP_KEYS))})")
        n = data.get("notify", [])
        if isinstance(n, str):
            n = [n]
        if not isinstance(n, list) or not all(isinstance(u, str) for u in n):
            raise ConfigError(f"{where}: notify must be a list of Apprise URLs")
        urls.extend(n)
        r = data.get("rules", [])
        if not isinstance(r, list):
            raise ConfigError(f"{where}: rules must be a list of rules (text)")
        texts.extend((t, f"{where}: rules", (), None) for t in r)
        tables = data.get("rule", [])
        if not isinstance(tables, list):
            raise ConfigError(f"{where}: [[rule]] must be an array of tables")
        for i, t in enumerate(tables):
            w = f"{where}: [[rule]] {i + 1}"
            if not isinstance(t, Mapping) or "when" not in t:
                raise ConfigError(f"{w} needs when = \"RULE\"")
            extra = sorted(set(t) - {"when", "roots", "runs"})
            if extra:
                raise ConfigError(f"{w}: unknown key {extra[0]!r} (known: when, roots, runs)")
            roots, runs = _scope(t, w)
            texts.append((t["when"], w, roots, runs))
    env_urls = split_urls(env.get(ENV_NOTIFY, ""))
    if env_urls:
        urls.extend(env_urls)
        sources.append(ENV_NOTIFY)
    env_rules = [t for t in (env.get(ENV_RULES) or "").split(";") if t.strip()]
    texts.extend((t, ENV_RULES, (), None) for t in env_rules)
    if notify:
        urls.extend(notify)
        sources.append("--notify")
    texts.extend((t, "--rule", (), None) for t in rules)
    if not urls:
        if texts or path:
            raise ConfigError("alert rules are configured but no channel: set MMDASH_NOTIFY or notify = [...] "
                              "(Apprise URLs)")
        return None
    channels: list[Channel] = []
    for u in urls:
        c = check_channel(u)
        if c.url not in {x.url for x in channels}:
            channels.append(c)
    parsed = [ScopedRule(_rule(t, w), roots, runs) for t, w, roots, runs in texts]
    if not parsed:
        parsed = [ScopedRule(parse_rule(t)) for t in DEFAULT_RULES]
    where = os.path.basename(path) if path else "alerts"
    roots, runs = _scope(data, where)
    stall = data.get("stall", {})
    retry = data.get("retry", {})
    if not isinstance(stall, Mapping) or not isinstance(retry, Mapping):
        raise ConfigError(f"{where}: [stall] and [retry] must be tables")
    for table, name, known in ((stall, "stall", {"factor", "floor_seconds", "hysteresis"}),
                               (retry, "retry", {"attempts", "first_delay_seconds", "max_delay_seconds"})):
        extra = sorted(set(table) - known)
        if extra:
            raise ConfigError(f"{where}: [{name}] unknown key {extra[0]!r} (known: {', '.join(sorted(known))})")
    base = public_url or (env.get(ENV_PUBLIC_URL) or "").strip() or data.get("public_url") or None
    if base is not None and (not isinstance(base, str) or not re.match(r"https?://[^\s/]+", base)):
        raise ConfigError(f"public URL {one_line(str(base), 60)!r} must start with http:// or https://")
    return AlertConfig(
        channels=tuple(channels), rules=tuple(_dedupe(parsed)), public_url=base.rstrip("/") if base else None,
        roots=roots, runs=runs,
        stall_factor=_number(stall, "factor", STALL_FACTOR, 0.0, "stall"),
        stall_floor=_number(stall, "floor_seconds", STALL_FLOOR, 0.0, "stall"),
        hysteresis=_number(stall, "hysteresis", HYSTERESIS, 1.0, "stall"),
        retry_attempts=int(_number(retry, "attempts", RETRY_ATTEMPTS, 1, "retry")),
        retry_first=_number(retry, "first_delay_seconds", RETRY_FIRST, 0.0, "retry"),
        retry_max=_number(retry, "max_delay_seconds", RETRY_MAX, 0.0, "retry"),
        state_path=Path(state_path) if state_path else default_state_path(env),
        source=", ".join(sources),
    )


def _dedupe(rules: Iterable[ScopedRule]) -> list[ScopedRule]:
    out: list[ScopedRule] = []
    for r in rules:
        if r.text not in {x.text for x in out}:
            out.append(r)
    return out
