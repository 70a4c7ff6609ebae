"""Who may see the dashboard: the allowed e-mail addresses and domains, and whether the server can be reached from
other machines. No Streamlit here (``dashboard.ui.common.require_sign_in`` is the gate that uses it).

- ``MMDASH_ALLOWED_EMAILS``: e-mail addresses and domains separated by commas or spaces (``alice@lab.example,
  @team.example, other.example``); a word with nothing before its ``@`` or without an ``@`` is a domain (its
  subdomains are not included). Unset or empty: anyone the sign-in provider signs in.
- A signed-in user is let in when the provider gave an e-mail that the list allows and did not say it is unverified
  (``email_verified`` false). Comparison ignores case.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

ALLOWED_ENV = "MMDASH_ALLOWED_EMAILS"
_SPLIT = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class AllowList:
    emails: frozenset[str]
    domains: frozenset[str]

    def describe(self) -> str:
        return ", ".join([*sorted(self.emails), *(f"@{d}" for d in sorted(self.domains))])


def allow_list(environ: Mapping[str, str]) -> AllowList | None:
    """The allowed addresses and domains from ``MMDASH_ALLOWED_EMAILS``; None when anyone signed in may enter."""
    words = [w.strip().lower() for w in _SPLIT.split(environ.get(ALLOWED_ENV, "")) if w.strip()]
    if not words:
        return None
    emails = frozenset(w for w in words if "@" in w and not w.startswith("@"))
    domains = frozenset(w.lstrip("@") for w in words if w.startswith("@") or "@" not in w)
    return AllowList(emails, domains)


def refusal(rules: AllowList | None, email: object, email_verified: object) -> str | None:
    """Why a signed-in user with ``email`` may not enter (our words), or None when they may."""
    if rules is None:
        return None
    if not isinstance(email, str) or "@" not in email:
        return "the sign-in provider gave no e-mail address, and this server lets in only listed addresses"
    if email_verified is False:
        return "the sign-in provider says this e-mail address is not verified"
    address = email.strip().lower()
    if address in rules.emails or address.rpartition("@")[2] in rules.domains:
        return None
    return "this e-mail address is not on the server's list of allowed addresses and domains"


def listens_beyond_localhost(address: str | None) -> bool:
    """Whether a server bound to ``address`` (Streamlit's ``server.address``) can be reached from other machines:
    unset or empty means every interface, as Streamlit does."""
    a = (address or "").strip().strip("[]").lower()
    if not a:
        return True
    if a == "localhost":
        return False
    try:
        return not ipaddress.ip_address(a).is_loopback
    except ValueError:
        return True  # a host name: whatever interface it names
