"""Fan-out of committed events to subscribers, in revision order, never blocking the writer.

Each subscriber has a bounded queue. `publish` never awaits: a subscriber whose queue is
full is cut off with a reason and the last revision it received, so it can resume from
there (never silently skipped). Subscribers are indexed by resource (the first key
segment) so a pod event does not visit node watchers.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable

import structlog

from orchestrator.model.errors import TooManyRequests
from orchestrator.store.events import StoreEvent

log = structlog.get_logger(__name__)

_CLOSED = object()


class Subscription:
    """One subscriber's ordered stream of events under a key prefix."""

    def __init__(self, bus: "Bus", prefix: str, maxsize: int) -> None:
        self.bus = bus
        self.prefix = prefix
        self.resource = prefix.partition("/")[0]
        self.queue: asyncio.Queue[StoreEvent | object] = asyncio.Queue(maxsize)
        self.last_rv = 0
        self.closed_reason: str | None = None

    def offer(self, event: StoreEvent) -> None:
        if self.closed_reason is not None or not event.key.startswith(self.prefix):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.bus.dropped += 1
            self._close(f"watcher fell behind by more than {self.queue.maxsize} events")

    def _close(self, reason: str) -> None:
        self.closed_reason = reason
        self.bus._remove(self)
        # Make room for the sentinel so a blocked reader wakes up.
        while self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(_CLOSED)

    def close(self) -> None:
        if self.closed_reason is None:
            self._close("closed")

    def depth(self) -> int:
        return self.queue.qsize()

    async def get(self) -> StoreEvent:
        item = await self.queue.get()
        if item is _CLOSED:
            raise TooManyRequests(f"{self.closed_reason}; resume from resourceVersion {self.last_rv}")
        assert isinstance(item, StoreEvent)
        self.last_rv = item.rv
        return item

    def get_nowait(self) -> StoreEvent | None:
        """The next queued event, or None when the queue is empty."""
        if self.queue.empty():
            return None
        item = self.queue.get_nowait()
        if item is _CLOSED:
            raise TooManyRequests(f"{self.closed_reason}; resume from resourceVersion {self.last_rv}")
        assert isinstance(item, StoreEvent)
        self.last_rv = item.rv
        return item

    def __aiter__(self) -> AsyncIterator[StoreEvent]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[StoreEvent]:
        while True:
            yield await self.get()


class Bus:
    def __init__(self, *, queue_size: int = 10_000) -> None:
        self.queue_size = queue_size
        self._by_resource: dict[str, set[Subscription]] = defaultdict(set)
        self._everything: set[Subscription] = set()
        self.published = 0
        self.dropped = 0

    def subscribe(self, prefix: str = "", *, maxsize: int | None = None) -> Subscription:
        sub = Subscription(self, prefix, maxsize or self.queue_size)
        if sub.resource:
            self._by_resource[sub.resource].add(sub)
        else:
            self._everything.add(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        if sub.resource:
            self._by_resource[sub.resource].discard(sub)
        else:
            self._everything.discard(sub)

    def publish(self, events: Iterable[StoreEvent]) -> None:
        """Called by the store writer after a commit, with events in revision order."""
        for event in events:
            self.published += 1
            resource = event.key.partition("/")[0]
            for sub in tuple(self._by_resource.get(resource, ())):
                sub.offer(event)
            for sub in tuple(self._everything):
                sub.offer(event)

    @property
    def subscribers(self) -> int:
        return len(self._everything) + sum(len(s) for s in self._by_resource.values())

    def close_all(self, reason: str) -> None:
        for subs in list(self._by_resource.values()) + [self._everything]:
            for sub in tuple(subs):
                if sub.closed_reason is None:
                    sub._close(reason)
