"""A work queue of keys with client-go's guarantees, for asyncio.

- Keys, never events: adding a key already waiting is a no-op (repeats collapse).
- A key is never handed to two workers at once: a key added while being processed is
  marked dirty and handed out again after `done(key)`.
- `add_after` delays, `add_rate_limited` delays by per-key exponential back-off (reset
  with `forget`), for errors; timers are owned by the queue and cancelled by `close`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, Hashable, TypeVar

from orchestrator.aio.backoff import backoff_delay

K = TypeVar("K", bound=Hashable)


class QueueClosed(Exception):
    pass


class WorkQueue(Generic[K]):
    def __init__(self, *, name: str = "", base_delay: float = 0.01, max_delay: float = 30.0) -> None:
        self.name = name
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._failures: dict[K, int] = {}
        self._timers: dict[K, asyncio.TimerHandle] = {}
        self._wakeup = asyncio.Event()
        self._closed = False
        self.base_delay, self.max_delay = base_delay, max_delay
        self.adds = 0

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: K) -> None:
        if self._closed or key in self._dirty:
            return
        self.adds += 1
        self._dirty.add(key)
        if key in self._processing:
            return  # handed out again by done()
        self._queue.append(key)
        self._wakeup.set()

    def add_after(self, key: K, delay: float) -> None:
        if self._closed:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        old = self._timers.get(key)
        if old is not None:
            if old.when() <= loop.time() + delay:
                return  # an earlier wake-up is already scheduled
            old.cancel()
        self._timers[key] = loop.call_later(delay, self._fire, key)

    def _fire(self, key: K) -> None:
        self._timers.pop(key, None)
        self.add(key)

    def add_rate_limited(self, key: K) -> float:
        attempt = self._failures.get(key, 0)
        self._failures[key] = attempt + 1
        delay = backoff_delay(attempt, base=self.base_delay, cap=self.max_delay)
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        self._failures.pop(key, None)

    def failures(self, key: K) -> int:
        return self._failures.get(key, 0)

    async def get(self) -> K:
        while not self._queue:
            if self._closed:
                raise QueueClosed(self.name)
            self._wakeup.clear()
            await self._wakeup.wait()
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: K) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wakeup.set()

    def close(self) -> None:
        self._closed = True
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._wakeup.set()
