"""The controller runtime: informers -> work queue of keys -> reconcile(key).

A controller says which informers it reads and how their events map to keys of its
root kind; the runner owns the informers' and workers' tasks (one TaskGroup), never
hands one key to two workers, retries errors with per-key back-off, honours
`requeue_after`, and resyncs every key periodically (level-triggered: a missed event
is repaired at the next resync).

A controller may also give a `Watch` a `relevant(old, new)` filter (updates it returns False
for enqueue nothing) and define `resync_keys()` when its keys are not its primary
informer's object keys. After writing, a reconcile calls `wait_observed(informer, rv)`
so its next pass sees its own writes (client-go's "expectations", by revision: orch has
one global revision).

Results of reconcile:
    Result()                   done; forget the key's failures
    Result(requeue_after=s)    check again in s seconds
    raise TerminalError        stop retrying this key until something changes
    raise anything else        retry with back-off
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

import structlog

from orchestrator.aio.metrics import Metrics
from orchestrator.aio.workqueue import QueueClosed, WorkQueue
from orchestrator.client.informers import Handlers, Informer, object_key
from orchestrator.model.errors import Conflict

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Result:
    requeue_after: float | None = None


class TerminalError(Exception):
    """Reconcile cannot succeed until the object changes: do not retry."""


@dataclass(slots=True)
class Watch:
    """An informer and how its objects map to the controller's keys."""

    informer: Informer
    keys: Callable[[Any], Iterable[str]]
    relevant: Callable[[Any, Any], bool] | None = None


class Controller(Protocol):
    name: str
    workers: int
    resync_s: float

    def watches(self) -> list[Watch]: ...

    def primary(self) -> Informer: ...

    async def reconcile(self, key: str) -> Result | None: ...


@dataclass
class ControllerMetrics:
    metrics: Metrics
    reconciles: Any = field(init=False)
    errors: Any = field(init=False)
    latency: Any = field(init=False)

    def __post_init__(self) -> None:
        self.reconciles = self.metrics.counter("orch_controller_reconciles_total", "Reconciles by controller")
        self.errors = self.metrics.counter("orch_controller_errors_total", "Reconcile errors by controller")
        self.latency = self.metrics.histogram("orch_controller_reconcile_seconds", "Reconcile latency by controller")


def _enqueue_all(queue: WorkQueue[str], watch: Watch) -> Handlers:
    keys, relevant = watch.keys, watch.relevant

    def add(obj: Any) -> None:
        for k in keys(obj):
            queue.add(k)

    def update(old: Any, new: Any) -> None:
        if relevant is None or relevant(old, new):
            add(old)
            add(new)

    return Handlers(on_add=add, on_update=update, on_delete=add)


def revision_of(obj: Any) -> int:
    """The resourceVersion of an object a write returned, as an int (0 when there is none)."""
    try:
        return int(obj.metadata.resource_version or 0)
    except (AttributeError, ValueError):
        return 0


async def wait_observed(informer: Informer, revision: int, *, timeout: float = 10.0) -> bool:
    """Wait until `informer` has applied every event up to `revision` (True), or time out."""
    if revision <= 0:
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.001
    while True:
        try:
            seen = int(informer.resource_version or 0)
        except ValueError:
            seen = 0
        if seen >= revision:
            return True
        if loop.time() >= deadline:
            log.info("cache did not catch up", kind=informer.kind.kind, want=revision, seen=seen)
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.02)


async def run_controller(ctrl: Controller, *, metrics: Metrics | None = None,
                         started: Callable[[], None] | None = None) -> NoReturn:
    """Run a controller until cancelled. Informers shared with other controllers must be
    started by their owner; informers not yet running are started here."""
    queue: WorkQueue[str] = WorkQueue(name=ctrl.name)
    registry = metrics or Metrics()
    m = ControllerMetrics(registry)
    registry.gauge(f"orch_controller_queue_depth_{ctrl.name.replace('-', '_')}",
                   f"Keys waiting in the {ctrl.name} controller's queue", lambda: len(queue))
    watches = ctrl.watches()
    for w in watches:
        w.informer.add_handlers(_enqueue_all(queue, w))
    try:
        async with asyncio.TaskGroup() as tg:
            for w in watches:
                await w.informer.synced.wait()
            for i in range(ctrl.workers):
                tg.create_task(_worker(ctrl, queue, m), name=f"{ctrl.name}-worker-{i}")
            tg.create_task(_resync(ctrl, queue), name=f"{ctrl.name}-resync")
            if started:
                started()
    finally:
        queue.close()
    raise AssertionError("unreachable")  # the TaskGroup's tasks never return


async def _resync(ctrl: Controller, queue: WorkQueue[str]) -> NoReturn:
    custom: Callable[[], Iterable[str]] | None = getattr(ctrl, "resync_keys", None)
    while True:
        keys = custom() if custom is not None else (object_key(obj) for obj in ctrl.primary().list())
        for key in keys:
            queue.add(key)
        await asyncio.sleep(ctrl.resync_s)


async def _worker(ctrl: Controller, queue: WorkQueue[str], m: ControllerMetrics) -> NoReturn:
    while True:
        try:
            key = await queue.get()
        except QueueClosed:
            await asyncio.Event().wait()
            raise
        started = time.perf_counter()
        try:
            result = await ctrl.reconcile(key)
        except asyncio.CancelledError:
            raise
        except TerminalError as exc:
            log.warning("reconcile gave up", controller=ctrl.name, key=key, error=str(exc))
            queue.forget(key)
            m.errors.inc(controller=ctrl.name)
        except Conflict:
            queue.add_rate_limited(key)  # someone else wrote first: re-read and try again soon
        except Exception as exc:
            delay = queue.add_rate_limited(key)
            m.errors.inc(controller=ctrl.name)
            log.info("reconcile failed; will retry", controller=ctrl.name, key=key, error=str(exc) or repr(exc),
                     retry_in_s=round(delay, 3))
        else:
            queue.forget(key)
            if result is not None and result.requeue_after is not None:
                queue.add_after(key, result.requeue_after)
        finally:
            queue.done(key)
            m.reconciles.inc(controller=ctrl.name)
            m.latency.observe(time.perf_counter() - started, controller=ctrl.name)
