"""The scheduling queue: which pending pods to try next, and which wait for a change.

Every pending pod is in exactly one place:
- active: a heap by priority (spec.priority, higher first), then creation time;
- in flight: popped for a batch, being planned or bound;
- unschedulable: no node fits; it waits for something that could change that (a node
  added or changed, a pod deleted or finished: `move_all`), or at most `flush_after_s`
  as a safety net. Nothing polls: no change, no retry;
- waiting: a binding lost a compare-and-swap; the pod comes back with its next event
  (the newer version), or after `WAIT_FOR_EVENT_S` should that event never come;
- backing off: failed for a transient reason (or was moved while its last try was
  running), back to active when its timer fires (1s doubling to 10s, as kube does).

A pod that fails in cycle c while a move happened during c goes to backing off, not to
unschedulable: the change it missed might be the one that makes it fit (kube's
moveRequestCycle). Timers are owned by the queue and cancelled by `close`.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time

from orchestrator.scheduler.pods import PodInfo

INITIAL_BACKOFF_S = 1.0
MAX_BACKOFF_S = 10.0
WAIT_FOR_EVENT_S = 5.0


class SchedulingQueue:
    def __init__(self, *, flush_after_s: float = 60.0, initial_backoff_s: float = INITIAL_BACKOFF_S,
                 max_backoff_s: float = MAX_BACKOFF_S) -> None:
        self._heap: list[tuple[int, str, int, str]] = []
        self._active: dict[str, tuple[PodInfo, int]] = {}  # key -> (latest info, heap seq)
        self._in_flight: dict[str, PodInfo] = {}
        self._unschedulable: dict[str, tuple[PodInfo, float]] = {}  # key -> (info, since, monotonic)
        self._waiting: dict[str, PodInfo] = {}  # waiting for an event or a timer
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._attempts: dict[str, int] = {}
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self.flush_after_s = flush_after_s
        self.initial_backoff_s, self.max_backoff_s = initial_backoff_s, max_backoff_s
        self.cycle = 0
        self._move_cycle = -1

    # ---- sizes ---------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._active) + len(self._in_flight) + len(self._unschedulable) + len(self._waiting)

    @property
    def active(self) -> int:
        return len(self._active)

    @property
    def unschedulable(self) -> int:
        return len(self._unschedulable)

    def is_unschedulable(self, key: str) -> bool:
        return key in self._unschedulable

    def is_in_flight(self, key: str) -> bool:
        return key in self._in_flight

    # ---- from informer events ------------------------------------------------------------

    def add(self, info: PodInfo) -> None:
        """A pending pod appeared or changed."""
        key = info.key
        if key in self._in_flight:
            self._in_flight[key] = info  # its outcome decides where it goes next
        elif key in self._waiting:
            self._cancel_timer(key)
            del self._waiting[key]
            self._push(info)
        elif key in self._unschedulable:
            old, since = self._unschedulable[key]
            if old.fit_key == info.fit_key:
                self._unschedulable[key] = (info, since)  # nothing that matters to filters changed
            else:
                del self._unschedulable[key]
                self._push(info)
        elif key in self._active:
            self._active[key] = (info, self._active[key][1])
        else:
            self._push(info)

    def remove(self, key: str) -> None:
        """The pod is bound, finished or gone: forget it everywhere."""
        self._active.pop(key, None)  # its heap entry is skipped when popped
        self._in_flight.pop(key, None)
        self._unschedulable.pop(key, None)
        self._waiting.pop(key, None)
        self._attempts.pop(key, None)
        self._cancel_timer(key)

    def move_all(self) -> None:
        """Something changed that may let unschedulable pods fit: give them another try."""
        self._move_cycle = self.cycle
        now = time.monotonic()
        for key, (info, since) in list(self._unschedulable.items()):
            del self._unschedulable[key]
            self._after(info, self._backoff(key) - (now - since))

    def flush_stale(self) -> int:
        """Retry pods unschedulable for longer than flush_after_s (a safety net, not a loop)."""
        now = time.monotonic()
        stale = [k for k, (_, since) in self._unschedulable.items() if now - since >= self.flush_after_s]
        for key in stale:
            info, _ = self._unschedulable.pop(key)
            self._push(info)
        return len(stale)

    # ---- the scheduling loop ---------------------------------------------------------------

    async def pop_batch(self, max_size: int) -> tuple[list[PodInfo], int]:
        """Wait for pending pods; up to max_size of them, highest priority first, and the cycle."""
        while not self._active:
            self._wakeup.clear()
            await self._wakeup.wait()
        batch: list[PodInfo] = []
        while self._heap and len(batch) < max_size:
            *_, seq, key = heapq.heappop(self._heap)
            entry = self._active.get(key)
            if entry is None or entry[1] != seq:
                continue  # removed or re-pushed since
            del self._active[key]
            self._in_flight[key] = entry[0]
            batch.append(entry[0])
        self.cycle += 1
        return batch, self.cycle

    def done(self, key: str) -> None:
        """Bound: the informer's event for the bound pod will `remove` it too."""
        self._in_flight.pop(key, None)
        self._attempts.pop(key, None)

    def failed(self, key: str, cycle: int) -> None:
        """No node fits: wait for a change (or back off when one happened during the try)."""
        info = self._in_flight.pop(key, None)
        if info is None:
            return  # bound or deleted meanwhile
        self._attempts[key] = self._attempts.get(key, 0) + 1
        if self._move_cycle >= cycle:
            self._after(info, self._backoff(key))
        else:
            self._unschedulable[key] = (info, time.monotonic())

    def lost_race(self, key: str, tried_rv: str) -> None:
        """A binding hit a conflict: try again with the pod's next version."""
        info = self._in_flight.pop(key, None)
        if info is None:
            return
        if info.resource_version != tried_rv:
            self._push(info)  # the newer version is already here
        else:
            self._waiting[key] = info
            self._timers[key] = asyncio.get_running_loop().call_later(WAIT_FOR_EVENT_S, self._fire, key)

    def retry_later(self, key: str) -> None:
        """A transient error (server unreachable, timeout): back off, then try again."""
        info = self._in_flight.pop(key, None)
        if info is None:
            return
        self._attempts[key] = self._attempts.get(key, 0) + 1
        self._after(info, self._backoff(key))

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    # ---- internals -----------------------------------------------------------------------

    def _backoff(self, key: str) -> float:
        attempts = self._attempts.get(key, 0)
        return 0.0 if attempts == 0 else min(self.max_backoff_s, self.initial_backoff_s * 2 ** (attempts - 1))

    def _push(self, info: PodInfo) -> None:
        seq = next(self._seq)
        self._active[info.key] = (info, seq)
        heapq.heappush(self._heap, (-info.priority, info.created, seq, info.key))
        self._wakeup.set()

    def _after(self, info: PodInfo, delay: float) -> None:
        if delay <= 0:
            self._push(info)
            return
        self._waiting[info.key] = info
        self._cancel_timer(info.key)
        self._timers[info.key] = asyncio.get_running_loop().call_later(delay, self._fire, info.key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        info = self._waiting.pop(key, None)
        if info is not None:
            self._push(info)

    def _cancel_timer(self, key: str) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
