"""The time filter of a pod log read (PodLogOptions' ``sinceSeconds``/``sinceTime``).

Shared by the server, which checks the query and passes it on unchanged, and the agent,
which turns it into an instant on its own clock (as the kubelet does: ``sinceSeconds``
counts back from when the agent reads, not from when the server was asked).
Errors are ``ValueError`` naming the parameter; each caller wraps them in its own 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

BOTH_SINCE = "at most one of sinceSeconds or sinceTime may be specified"  # Kubernetes' wording
# Go's time.RFC3339 as the apiserver parses it: a fraction is allowed, a zone is required.
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.\d+)?(?:[Zz]|[+-]\d\d:\d\d)")
_DIGITS = re.compile(r"[0-9]+")  # not str.isdigit: that takes "²" and other Unicode digits


def parse_rfc3339(text: str) -> float:
    """Epoch seconds of an RFC 3339 time such as ``2026-11-28T18:00:00Z``."""
    if not _RFC3339.fullmatch(text):
        raise ValueError(f"{text!r} is not an RFC 3339 time like 2026-11-28T18:00:00Z")
    head, frac, zone = text.upper().replace("Z", "+00:00"), "", ""
    if "." in head:  # fromisoformat wants at most microseconds
        head, rest = head.split(".", 1)
        digits = rest[:-6]
        frac, zone = "." + (digits + "000000")[:6], rest[-6:]
    try:
        return datetime.fromisoformat(head + frac + zone).timestamp()
    except ValueError:  # shaped right, but e.g. month 13
        raise ValueError(f"{text!r} is not an RFC 3339 time like 2026-11-28T18:00:00Z") from None


def since_options(query: Mapping[str, str]) -> tuple[int | None, float | None]:
    """(sinceSeconds, sinceTime in epoch seconds) from a log query; absent ones are None."""
    seconds_text, time_text = query.get("sinceSeconds", ""), query.get("sinceTime", "")
    if seconds_text and time_text:
        raise ValueError(BOTH_SINCE)
    seconds = None
    if seconds_text:
        if not _DIGITS.fullmatch(seconds_text) or int(seconds_text) <= 0:
            raise ValueError(f"sinceSeconds={seconds_text!r} must be a positive integer")
        seconds = int(seconds_text)
    since_time = None
    if time_text:
        try:
            since_time = parse_rfc3339(time_text)
        except ValueError as exc:
            raise ValueError(f"sinceTime: {exc}") from None
    return seconds, since_time
