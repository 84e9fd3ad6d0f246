"""The SQLite backend: the only aiosqlite importer in orch.

Schema:
    objects(key PRIMARY KEY, rv, value)   current state, one row per object
    events(rv PRIMARY KEY, key, type, value)  bounded log for watch resume
    meta(name PRIMARY KEY, value)         'revision', 'compacted'

WAL journal, `synchronous=FULL` by default: a batch is acknowledged only after its
COMMIT returns, so nothing acknowledged can be lost to a crash. One connection, used by
one writer task; each batch is one transaction (group commit), with a fixed number of
awaits per batch, never one per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aiosqlite

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (key TEXT PRIMARY KEY, rv INTEGER NOT NULL, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS events (rv INTEGER PRIMARY KEY, key TEXT NOT NULL, type TEXT NOT NULL, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass(slots=True)
class Batch:
    """One transaction's rows."""

    upserts: list[tuple[str, int, bytes]]
    deletes: list[tuple[str]]
    events: list[tuple[int, str, str, bytes]]
    revision: int


class SqliteLog:
    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self.synchronous = synchronous.upper()
        self._db: aiosqlite.Connection | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        assert self._db is not None, "SqliteLog.open() was not called"
        return self._db

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        await self.db.execute("PRAGMA journal_mode=WAL")
        await self.db.execute(f"PRAGMA synchronous={self.synchronous}")
        await self.db.execute("PRAGMA busy_timeout=5000")
        await self.db.executescript(SCHEMA)

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def load(self) -> tuple[list[tuple[str, int, bytes]], int, int]:
        """(all objects, current revision, compacted revision)."""
        async with self.db.execute("SELECT key, rv, value FROM objects") as cur:
            rows = [(k, rv, bytes(v)) for k, rv, v in await cur.fetchall()]
        meta = await self._meta()
        async with self.db.execute("SELECT COALESCE(MAX(rv), 0) FROM events") as cur:
            (max_event,) = await cur.fetchone() or (0,)
        revision = max(meta.get("revision", 0), max_event, max((r[1] for r in rows), default=0))
        return rows, revision, meta.get("compacted", 0)

    async def _meta(self) -> dict[str, int]:
        async with self.db.execute("SELECT name, value FROM meta") as cur:
            return {name: value for name, value in await cur.fetchall()}

    async def commit(self, batch: Batch) -> None:
        """Write one batch as one transaction; returns after COMMIT (durable per `synchronous`)."""
        db = self.db
        await db.execute("BEGIN IMMEDIATE")
        try:
            if batch.upserts:
                await db.executemany(
                    "INSERT INTO objects(key, rv, value) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET rv=excluded.rv, value=excluded.value", batch.upserts)
            if batch.deletes:
                await db.executemany("DELETE FROM objects WHERE key = ?", batch.deletes)
            await db.executemany("INSERT INTO events(rv, key, type, value) VALUES (?, ?, ?, ?)", batch.events)
            await db.execute("INSERT INTO meta(name, value) VALUES ('revision', ?) "
                             "ON CONFLICT(name) DO UPDATE SET value=excluded.value", (batch.revision,))
            await db.execute("COMMIT")
        except BaseException:
            await self._rollback()
            raise

    async def _rollback(self) -> None:
        """Roll back if a transaction is open; never let a failed rollback hide the original error."""
        try:
            if self.db.in_transaction:
                await self.db.execute("ROLLBACK")
        except Exception:
            pass

    async def read_events(self, after_rv: int, limit: int) -> list[tuple[int, str, str, bytes]]:
        async with self.db.execute(
                "SELECT rv, key, type, value FROM events WHERE rv > ? ORDER BY rv LIMIT ?", (after_rv, limit)) as cur:
            return [(rv, k, t, bytes(v)) for rv, k, t, v in await cur.fetchall()]

    async def compact_step(self, *, below_rv: int, step: int) -> int:
        """Delete up to `step` events with rv < below_rv; returns the new compacted revision."""
        db = self.db
        await db.execute("BEGIN IMMEDIATE")
        try:
            async with db.execute("SELECT rv FROM events WHERE rv < ? ORDER BY rv LIMIT 1 OFFSET ?",
                                  (below_rv, step - 1)) as cur:
                row = await cur.fetchone()
            upto = row[0] if row else below_rv - 1
            await db.execute("DELETE FROM events WHERE rv <= ?", (upto,))
            await db.execute("INSERT INTO meta(name, value) VALUES ('compacted', ?) "
                             "ON CONFLICT(name) DO UPDATE SET value=MAX(value, excluded.value)", (upto,))
            await db.execute("COMMIT")
        except BaseException:
            await self._rollback()
            raise
        return upto

    async def event_count(self) -> int:
        async with self.db.execute("SELECT COUNT(*) FROM events") as cur:
            (n,) = await cur.fetchone() or (0,)
        return n
