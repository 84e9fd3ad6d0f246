"""Per-container back-off, the kubelet's way (client-go ``flowcontrol.Backoff``).

Restarts: the first exit restarts at once and arms the back-off at ``base``; each later
exit waits ``delay`` from the moment the container finished, and the delay doubles up
to ``cap`` (kubelet: 10 s, 20 s, ... 5 min).  An entry not touched for ``reset``
seconds is forgotten, so a container that ran that long starts over at ``base``.
Image pulls and other create-time failures use the same table under other keys.

Times are wall-clock seconds (``time.time()``) because the runtime reports when a
container finished as a wall-clock timestamp; the clock is injectable for tests.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass


@dataclass(slots=True)
class BackOffPolicy:
    base_s: float = 10.0  # the first delay
    cap_s: float = 300.0  # the longest delay
    reset_s: float = 600.0  # an entry idle this long (e.g. a container that ran 10 min) is forgotten


@dataclass(slots=True)
class _Entry:
    delay: float
    updated: float


class BackOff:
    def __init__(self, policy: BackOffPolicy | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.policy = policy or BackOffPolicy()
        self.clock = clock
        self._entries: dict[Hashable, _Entry] = {}

    def _live(self, key: Hashable, at: float) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None or at - entry.updated > self.policy.reset_s:
            return None
        return entry

    def delay(self, key: Hashable) -> float:
        """The current delay of ``key`` (0 when it has none)."""
        entry = self._live(key, self.clock())
        return entry.delay if entry is not None else 0.0

    def remaining_since(self, key: Hashable, event: float) -> float:
        """Seconds left of the back-off that started at ``event`` (a container's exit);
        0 when ``key`` is free to go (restartable now)."""
        entry = self._live(key, event)
        if entry is None:
            return 0.0
        return max(0.0, event + entry.delay - self.clock())

    def remaining_since_update(self, key: Hashable) -> float:
        """Seconds left of the back-off started by the last ``next`` (image pulls)."""
        now = self.clock()
        entry = self._live(key, now)
        if entry is None:
            return 0.0
        return max(0.0, entry.updated + entry.delay - now)

    def next(self, key: Hashable) -> float:
        """Arm or lengthen the back-off of ``key``; returns the new delay."""
        now = self.clock()
        entry = self._live(key, now)
        if entry is None:
            entry = self._entries[key] = _Entry(delay=self.policy.base_s, updated=now)
        else:
            entry.delay = min(entry.delay * 2, self.policy.cap_s)
            entry.updated = now
        return entry.delay

    def reset(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def forget(self, match: Callable[[Hashable], bool]) -> None:
        for key in [k for k in self._entries if match(k)]:
            del self._entries[key]

    def gc(self) -> None:
        now = self.clock()
        for key in [k for k, e in self._entries.items() if now - e.updated > 2 * self.policy.reset_s]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


def wall_time(rfc3339: str | None) -> float | None:
    """Seconds since the epoch of an RFC 3339 time (nanoseconds allowed), or None."""
    if not rfc3339:
        return None
    text = rfc3339.strip().replace("Z", "+00:00")
    date, _, rest = text.partition(".")
    if rest:  # Python takes at most 6 fraction digits; Docker writes 9
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{date}.{digits[:6]}{zone}"
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None
