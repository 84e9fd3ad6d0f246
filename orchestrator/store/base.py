"""The durable log behind the Store, as a Protocol: SQLite today, etcd later.

`Store` (store.py) owns revisions, compare-and-swap, the in-memory cache, group commit and
watch fan-out; a backend only makes batches durable and reads them back. Nothing above
the store package sees a backend: code talks to `Store`, `Objects` or `LocalAPI`.
"""

from __future__ import annotations

from typing import Protocol

from orchestrator.store.sqlite import Batch


class LogBackend(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def load(self) -> tuple[list[tuple[str, int, bytes]], int, int]:
        """(every object as (key, revision, value), current revision, compacted revision)."""
        ...

    async def commit(self, batch: Batch) -> None:
        """Make one batch durable as one transaction; return only once it is."""
        ...

    async def read_events(self, after_rv: int, limit: int) -> list[tuple[int, str, str, bytes]]:
        """Logged events (revision, key, type, value) after a revision, oldest first."""
        ...

    async def compact_step(self, *, below_rv: int, step: int) -> int:
        """Forget up to `step` events below a revision; answers the new compacted revision."""
        ...
