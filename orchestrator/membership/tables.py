"""The member table and its merge rules: pure, no I/O, no clock (callers pass `now`).

`Member` is both the table entry and its wire form. The table also remembers, per
member, when its heartbeat last rose (`heard_at`) and when its status last changed
(`status_at`), in the caller's monotonic seconds; those never travel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import msgspec

Status = Literal["alive", "suspect", "dead"]
Role = Literal["server", "agent"]
ALIVE: Status = "alive"
SUSPECT: Status = "suspect"
DEAD: Status = "dead"
_RANK = {ALIVE: 0, SUSPECT: 1, DEAD: 2}


class Member(msgspec.Struct, kw_only=True, rename="camel"):
    name: str
    address: str                 # agents: "host:port" of their listener; servers: their URL
    role: Role = "agent"
    incarnation: int = 0
    heartbeat: int = 0
    status: Status = ALIVE
    capacity: str = ""           # a digest for people and schedulers: "cpu=8,memory=31Gi,gpu=2xH100"

    def copy(self) -> Member:
        return msgspec.structs.replace(self)


@dataclass(slots=True)
class _Entry:
    member: Member
    heard_at: float              # when its heartbeat last rose (or it was first seen, or refuted)
    status_at: float             # when its status last changed here


@dataclass(frozen=True, slots=True)
class Change:
    """What a merge or a timer changed, for logs: `a2 suspect -> alive (incarnation 3)`."""

    name: str
    old: Status | None           # None: newly learnt
    new: Status | None           # None: forgotten
    incarnation: int


class MemberTable:
    """One member's view. `me` is kept alive: it refutes suspicion, it never dies here."""

    def __init__(self, *, me: Member, suspect_after_s: float, forget_after_s: float | None = None,
                 now: float) -> None:
        self.me = me.copy()
        self.me.status = ALIVE
        self.suspect_after_s = suspect_after_s
        self.forget_after_s = forget_after_s if forget_after_s is not None else max(60.0, 20 * suspect_after_s)
        self._entries: dict[str, _Entry] = {me.name: _Entry(self.me, now, now)}

    # --- reading --------------------------------------------------------------------------

    def members(self) -> list[Member]:
        """Every entry (self included), as copies: what goes on the wire."""
        return [e.member.copy() for e in self._entries.values()]

    def get(self, name: str) -> Member | None:
        e = self._entries.get(name)
        return e.member.copy() if e else None

    def peers(self) -> list[Member]:
        """Who to gossip with: everyone else not dead (suspects too: they need to hear it to refute)."""
        return [e.member.copy() for n, e in self._entries.items() if n != self.me.name and e.member.status != DEAD]

    def fresh(self, name: str, *, now: float) -> bool:
        """Alive and heard of within suspect_after_s: what "alive by gossip" means."""
        e = self._entries.get(name)
        if e is None or e.member.status != ALIVE:
            return False
        return name == self.me.name or now - e.heard_at <= self.suspect_after_s

    def silent(self, *, now: float) -> list[str]:
        """Alive members (not me) not heard of for suspect_after_s: to be probed."""
        return [n for n, e in self._entries.items()
                if n != self.me.name and e.member.status == ALIVE and now - e.heard_at > self.suspect_after_s]

    # --- changing -------------------------------------------------------------------------

    def beat(self) -> None:
        """One gossip round of mine: my heartbeat counter goes up."""
        self.me.heartbeat += 1

    def update_me(self, *, address: str | None = None, capacity: str | None = None) -> None:
        if address is not None:
            self.me.address = address
        if capacity is not None:
            self.me.capacity = capacity

    def merge(self, remote: Iterable[Member], *, now: float) -> list[Change]:
        changes: list[Change] = []
        for r in remote:
            change = self._merge_me(r) if r.name == self.me.name else self._merge_one(r, now)
            if change is not None:
                changes.append(change)
        return changes

    def suspect(self, name: str, *, now: float) -> Change | None:
        """Mark an alive member suspect (after a failed probe, direct and indirect)."""
        e = self._entries.get(name)
        if e is None or name == self.me.name or e.member.status != ALIVE:
            return None
        e.member.status, e.status_at = SUSPECT, now
        return Change(name, ALIVE, SUSPECT, e.member.incarnation)

    def expire(self, *, now: float) -> list[Change]:
        """Suspects past suspect_after_s die; the dead past forget_after_s are forgotten."""
        changes: list[Change] = []
        for name, e in list(self._entries.items()):
            m = e.member
            if m.status == SUSPECT and now - e.status_at > self.suspect_after_s:
                m.status, e.status_at = DEAD, now
                changes.append(Change(name, SUSPECT, DEAD, m.incarnation))
            elif m.status == DEAD and now - e.status_at > self.forget_after_s:
                del self._entries[name]
                changes.append(Change(name, DEAD, None, m.incarnation))
        return changes

    # --- the rules ------------------------------------------------------------------------

    def _merge_me(self, r: Member) -> Change | None:
        """News about me: keep counters monotonic across my restarts; refute suspicion."""
        me = self.me
        me.heartbeat = max(me.heartbeat, r.heartbeat)
        if r.incarnation > me.incarnation:
            me.incarnation = r.incarnation
        if r.incarnation == me.incarnation and r.status != ALIVE:
            me.incarnation += 1
            return Change(me.name, r.status, ALIVE, me.incarnation)
        return None

    def _merge_one(self, r: Member, now: float) -> Change | None:
        e = self._entries.get(r.name)
        if e is None:
            self._entries[r.name] = _Entry(r.copy(), now, now)
            return Change(r.name, None, r.status, r.incarnation)
        m = e.member
        old = m.status
        if r.heartbeat > m.heartbeat:
            m.heartbeat, e.heard_at = r.heartbeat, now
        if r.incarnation > m.incarnation:
            m.incarnation, m.status = r.incarnation, r.status
            m.address, m.role, m.capacity = r.address, r.role, r.capacity
            e.heard_at = now  # a new incarnation is news from the member itself
        elif r.incarnation == m.incarnation:
            if _RANK[r.status] > _RANK[m.status]:
                m.status = r.status
            if r.heartbeat >= m.heartbeat:  # the newest word on where it is and what it has
                m.address, m.capacity = r.address, r.capacity
        if m.status != old:
            e.status_at = now
            return Change(r.name, old, m.status, m.incarnation)
        return None
