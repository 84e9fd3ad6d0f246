"""Wall-clock times as Kubernetes writes them (RFC 3339, UTC) and back to epoch seconds."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def now() -> float:
    return time.time()


def format_time(t: float) -> str:
    """Seconds precision, like metav1.Time."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro(t: float) -> str:
    """Microseconds precision, like metav1.MicroTime (lease renewals, taint times we compare)."""
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str | None) -> float | None:
    """Epoch seconds of an RFC 3339 time; None when absent or unreadable."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
