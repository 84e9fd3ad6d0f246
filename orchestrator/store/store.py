"""The revisioned object store: one writer task, group commit, an in-memory cache, watch.

Data flow of one write:
    caller -> queue -> writer task (checks CAS against cache + this batch, assigns
    revision, encodes once) -> one SQLite transaction for the whole batch -> COMMIT
    -> cache updated -> bus.publish (revision order) -> callers' futures resolved.

Invariants:
- A write's future resolves only after its transaction committed.
- Revisions are global and strictly increasing; the cache and every subscriber see
  events in revision order with no gaps.
- get/list never touch SQLite: they read the cache, which always equals the committed state.
- Stored objects are shared: callers must not mutate what they get back.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import structlog

from orchestrator.aio.metrics import Metrics
from orchestrator.model import codec
from orchestrator.model.base import Object
from orchestrator.model.errors import (AlreadyExists, ApiError, Conflict, Gone, InternalError, NotFound,
                                       ServiceUnavailable)
from orchestrator.model.registry import REGISTRY
from orchestrator.settings import StoreSettings
from orchestrator.store.base import LogBackend
from orchestrator.store.bus import Bus, Subscription
from orchestrator.store.events import ADDED, DELETED, MODIFIED, StoreEvent
from orchestrator.store.guard import DataLock, quick_check
from orchestrator.store.sqlite import Batch, SqliteLog

log = structlog.get_logger(__name__)

RING_SIZE = 20_000  # recent events kept in memory for cheap watch resume


@dataclass(slots=True)
class Entry:
    obj: Object
    raw: bytes
    rv: int


@dataclass(slots=True)
class _Op:
    verb: str  # create | update | delete | mutate | compact | stop
    key: str
    obj: Object | None
    expected_rv: int | None
    mutate: Callable[[Object], Object | None] | None = None
    future: asyncio.Future[Entry] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def _describe(key: str) -> str:
    resource, _, rest = key.partition("/")
    return f'{resource.partition(".")[0]} "{rest.rpartition("/")[2]}"'


class WatchStream:
    """A watch's events (async iterator), plus how far it has provably got.

    `quiet_revision()` is for BOOKMARKs on a quiet stream: once history is replayed and
    nothing is queued for this watcher, every event up to the store's revision has been
    handed out (commit and publish happen in one step, with no await between), so a client
    may resume from it without missing anything.
    """

    def __init__(self, store: Store, sub: Subscription) -> None:
        self._store, self._sub = store, sub
        self._events: AsyncIterator[StoreEvent] | None = None
        self.live = False

    def attach(self, events: AsyncIterator[StoreEvent]) -> None:
        self._events = events

    def __aiter__(self) -> WatchStream:
        return self

    async def __anext__(self) -> StoreEvent:
        assert self._events is not None
        return await self._events.__anext__()

    async def aclose(self) -> None:
        if self._events is not None:
            await self._events.aclose()  # type: ignore[attr-defined]

    def quiet_revision(self) -> int | None:
        """The store's revision when nothing is pending for this watcher, else None."""
        if not self.live or not self._sub.queue.empty() or self._sub.closed_reason is not None:
            return None
        return self._store.revision


class Store:
    def __init__(self, settings: StoreSettings, *, bus: Bus | None = None, metrics: Metrics | None = None,
                 backend: LogBackend | None = None) -> None:
        self.settings = settings
        self.bus = bus or Bus()
        self.log_db: LogBackend = backend or SqliteLog(settings.path, synchronous=settings.synchronous)
        self._lock = DataLock(settings.path) if backend is None else None  # guards the SQLite file
        self.revision = 0
        self.compacted = 0
        self._cache: dict[str, dict[str, Entry]] = {}
        self._ring: deque[StoreEvent] = deque(maxlen=RING_SIZE)
        self._queue: asyncio.Queue[_Op] = asyncio.Queue()
        self._closed = False
        self.ready = asyncio.Event()
        m = metrics or Metrics()
        self._commit_seconds = m.histogram("orch_store_commit_seconds", "Time to commit one batch to SQLite")
        self._batch_size = m.histogram("orch_store_batch_size", "Writes per committed batch",
                                       buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512))
        self._writes = m.counter("orch_store_writes_total", "Committed writes by verb")
        m.gauge("orch_store_revision", "Current store revision", lambda: self.revision)
        m.gauge("orch_store_objects", "Objects in the store", lambda: sum(len(v) for v in self._cache.values()))

    # ---- lifecycle -------------------------------------------------------------------------

    async def open(self) -> None:
        """Lock the file (one server per store), check it, load it. StoreLocked/StoreCorrupt."""
        if self._lock is not None:
            self._lock.acquire()
        try:
            if self._lock is not None:
                await asyncio.to_thread(quick_check, self.settings.path)
            await self.log_db.open()
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        rows, self.revision, self.compacted = await self.log_db.load()
        for key, rv, raw in rows:
            kind = REGISTRY.by_key(key)
            obj = codec.decode(raw, kind.type)
            self._cache.setdefault(key.partition("/")[0], {})[key] = Entry(obj, raw, rv)
        log.info("store opened", path=str(self.settings.path), objects=len(rows), revision=self.revision,
                 compacted=self.compacted, synchronous=self.settings.synchronous)
        self.ready.set()

    async def close(self) -> None:
        self._closed = True
        while not self._queue.empty():
            op = self._queue.get_nowait()
            if not op.future.done():
                op.future.set_exception(ServiceUnavailable("the server is shutting down"))
        self.bus.close_all("the server is shutting down")
        await self.log_db.close()
        if self._lock is not None:
            self._lock.release()

    async def stop_writer(self) -> None:
        """Ask the writer to finish what is queued and return (a clean stop, no cancellation
        in the middle of a COMMIT). New writes are refused from now on."""
        self._closed = True
        self._queue.put_nowait(_Op("stop", "", None, None))

    async def run(self) -> None:
        """The writer: owns the SQLite connection's writes. Run it in the server's TaskGroup;
        it returns after `stop_writer()`."""
        last_compact = time.monotonic()
        while True:
            ops = [await self._queue.get()]
            while len(ops) < self.settings.max_batch and not self._queue.empty():
                ops.append(self._queue.get_nowait())
            stopping = any(op.verb == "stop" for op in ops)
            compactions = [op for op in ops if op.verb == "compact"]
            ops = [op for op in ops if op.verb not in ("compact", "stop")]
            await self._commit(ops)
            for op in compactions:
                await self._compact_to(op)
            if stopping:
                return
            now = time.monotonic()
            if now - last_compact >= self.settings.compact_interval_s:
                last_compact = now
                await self._compact_step()

    # ---- reads (memory) --------------------------------------------------------------------

    def get_entry(self, key: str) -> Entry | None:
        return self._cache.get(key.partition("/")[0], {}).get(key)

    async def get(self, key: str) -> Entry:
        entry = self.get_entry(key)
        if entry is None:
            raise NotFound(f"{_describe(key)} not found")
        return entry

    def list(self, prefix: str, predicate: Callable[[Object], bool] | None = None) -> tuple[list[Entry], int]:
        """Entries under a key prefix, sorted by key, and the revision they are consistent with."""
        resource = prefix.partition("/")[0]
        bucket = self._cache.get(resource, {})
        whole = prefix == resource + "/" or prefix == resource
        keys = sorted(bucket) if whole else sorted(k for k in bucket if k.startswith(prefix))
        entries = [bucket[k] for k in keys]
        if predicate is not None:
            entries = [e for e in entries if predicate(e.obj)]
        return entries, self.revision

    def count(self, prefix: str) -> int:
        resource = prefix.partition("/")[0]
        return sum(1 for k in self._cache.get(resource, {}) if k.startswith(prefix))

    # ---- writes ----------------------------------------------------------------------------

    async def create(self, key: str, obj: Object) -> Entry:
        return await self._submit(_Op("create", key, obj, None))

    async def update(self, key: str, obj: Object, *, expected_rv: int | None = None) -> Entry:
        return await self._submit(_Op("update", key, obj, expected_rv))

    async def delete(self, key: str, *, expected_rv: int | None = None) -> Entry:
        return await self._submit(_Op("delete", key, None, expected_rv))

    async def guaranteed_update(self, key: str, mutate: Callable[[Object], Object | None]) -> Entry:
        """Apply `mutate(current) -> new` atomically in the writer (no conflict retries).

        `mutate` must be pure and quick, must not change its argument (return a copy), and may
        raise an ApiError to refuse. Returning None leaves the object unchanged.
        """
        return await self._submit(_Op("mutate", key, None, None, mutate))

    async def _submit(self, op: _Op) -> Entry:
        if self._closed:
            raise ServiceUnavailable("the server is shutting down")
        self._queue.put_nowait(op)
        return await op.future

    async def _commit(self, ops: list[_Op]) -> None:
        staged: dict[str, Entry | None] = {}
        accepted: list[tuple[_Op, StoreEvent]] = []
        rev = self.revision
        for op in ops:
            if op.future.done():  # caller gave up (cancelled)
                continue
            current = staged[op.key] if op.key in staged else self.get_entry(op.key)
            try:
                event = self._plan(op, current, rev + 1)
            except ApiError as err:
                op.future.set_exception(err)
                continue
            except Exception as exc:  # a bug in a mutate function must not kill the writer
                log.exception("store write planning failed", key=op.key, verb=op.verb)
                op.future.set_exception(InternalError(f"the write of {op.key} failed: {exc}"))
                continue
            if event is None:  # a no-op mutation
                assert current is not None
                op.future.set_result(current)
                continue
            rev += 1
            staged[op.key] = None if event.type == DELETED else Entry(event.obj, event.raw, rev)
            accepted.append((op, event))
        if not accepted:
            return
        batch = Batch(upserts=[], deletes=[], events=[], revision=rev)
        for _, ev in accepted:
            if ev.type == DELETED:
                batch.deletes.append((ev.key,))
            else:
                batch.upserts.append((ev.key, ev.rv, ev.raw))
            batch.events.append((ev.rv, ev.key, ev.type, ev.raw))
        started = time.perf_counter()
        try:
            await self.log_db.commit(batch)
        except Exception as exc:  # disk full, I/O error: fail the batch, keep serving
            log.error("store commit failed", error=str(exc), writes=len(accepted))
            for op, _ in accepted:
                if not op.future.done():
                    op.future.set_exception(ServiceUnavailable(f"the store could not commit: {exc}"))
            return
        self._commit_seconds.observe(time.perf_counter() - started)
        self._batch_size.observe(len(accepted))
        self.revision = rev
        events = [ev for _, ev in accepted]
        for ev in events:
            bucket = self._cache.setdefault(ev.key.partition("/")[0], {})
            if ev.type == DELETED:
                bucket.pop(ev.key, None)
            else:
                bucket[ev.key] = Entry(ev.obj, ev.raw, ev.rv)
            self._writes.inc(verb=ev.type)
            log.debug("committed", key=ev.key, revision=ev.rv, change=ev.type)
        self._ring.extend(events)
        self.bus.publish(events)
        for op, ev in accepted:
            if not op.future.done():
                op.future.set_result(Entry(ev.obj, ev.raw, ev.rv))

    def _plan(self, op: _Op, current: Entry | None, rv: int) -> StoreEvent | None:
        if op.verb == "create":
            if current is not None:
                raise AlreadyExists(f"{_describe(op.key)} already exists")
            assert op.obj is not None
            return self._event(ADDED, op.key, op.obj, rv, None)
        if current is None:
            raise NotFound(f"{_describe(op.key)} not found")
        if op.expected_rv is not None and op.expected_rv != current.rv:
            raise Conflict(f"Operation cannot be fulfilled on {_describe(op.key)}: the object has been modified; "
                           "please apply your changes to the latest version and try again")
        if op.verb == "delete":
            obj = codec.decode(current.raw, type(current.obj))  # a copy carrying the deletion revision
            return self._event(DELETED, op.key, obj, rv, current.obj)
        if op.verb == "mutate":
            assert op.mutate is not None
            new = op.mutate(current.obj)
            if new is None:
                return None
            return self._event(MODIFIED, op.key, new, rv, current.obj)
        assert op.obj is not None
        return self._event(MODIFIED, op.key, op.obj, rv, current.obj)

    @staticmethod
    def _event(type_: str, key: str, obj: Object, rv: int, prev: Object | None) -> StoreEvent:
        obj.metadata.resource_version = str(rv)
        return StoreEvent(type=type_, key=key, rv=rv, obj=obj, raw=codec.encode(obj), prev=prev)

    # ---- watch -----------------------------------------------------------------------------

    def watch(self, prefix: str, since_rev: int | None = None) -> WatchStream:
        """Events under `prefix` after `since_rev` (None: from now), in order, exactly once.

        Raises Gone (410) when since_rev is older than the compacted revision. The iterator
        raises TooManyRequests when it fell behind; resume from the last revision seen.
        """
        if since_rev is not None and since_rev < self.compacted:
            raise Gone(f"too old resource version: {since_rev} ({self.compacted})")
        sub = self.bus.subscribe(prefix)  # subscribe before reading history: no gap
        stream = WatchStream(self, sub)
        stream.attach(self._watch(sub, prefix, since_rev, self.revision, stream))
        return stream

    async def _watch(self, sub: Subscription, prefix: str, since_rev: int | None,
                     now_rev: int, stream: WatchStream) -> AsyncIterator[StoreEvent]:
        try:
            if since_rev is not None and since_rev < now_rev:
                async for ev in self._history(prefix, since_rev, now_rev):
                    yield ev
            stream.live = True
            while True:
                ev = await sub.get()
                if ev.rv > now_rev:
                    yield ev
        finally:
            sub.close()

    async def _history(self, prefix: str, after: int, upto: int) -> AsyncIterator[StoreEvent]:
        if self._ring and self._ring[0].rv <= after + 1:
            for ev in list(self._ring):
                if after < ev.rv <= upto and ev.key.startswith(prefix):
                    yield ev
            return
        cursor = after
        while cursor < upto:
            rows = await self.log_db.read_events(cursor, 1000)
            if not rows:
                return
            for rv, key, type_, raw in rows:
                cursor = rv
                if rv > upto:
                    return
                if key.startswith(prefix):
                    obj = codec.decode(raw, REGISTRY.by_key(key).type)
                    yield StoreEvent(type=type_, key=key, rv=rv, obj=obj, raw=raw)

    # ---- compaction ------------------------------------------------------------------------

    async def _compact_to(self, op: _Op) -> None:
        assert op.expected_rv is not None
        try:
            while self.compacted < op.expected_rv:
                done = await self.log_db.compact_step(below_rv=op.expected_rv + 1, step=self.settings.compact_step)
                if done <= self.compacted:
                    break
                self.compacted = done
        except Exception as exc:
            op.future.set_exception(ServiceUnavailable(f"compaction failed: {exc}"))
            return
        entry = Entry(Object(), b"", self.compacted)
        op.future.set_result(entry)

    async def _compact_step(self) -> None:
        below = self.revision - self.settings.event_log_retain
        if below <= self.compacted + 1:
            return
        try:
            self.compacted = await self.log_db.compact_step(below_rv=below, step=self.settings.compact_step)
        except Exception as exc:
            log.warning("compaction step failed", error=str(exc))

    async def compact(self, upto_rev: int) -> None:
        """Compact the event log up to a revision (tests, admin), in steps run by the writer."""
        await self._submit(_Op("compact", "", None, upto_rev))
