"""The applier: commit a plan's bindings, each with compare-and-swap, many at once.

Each assignment is already *assumed* in the snapshot (the planner counted it), so the
next batch never hands its node's resources or GPU devices to another pod. Outcomes:
- bound: the queue is done with the pod; the informer's event confirms the assumption;
- Conflict (the pod changed, or is bound or being deleted): the server wrote nothing, so
  the assumption is forgotten and the pod waits for its next version;
- NotFound: the pod is gone; forget it;
- anything else (unreachable, timeout, 5xx): the outcome is unknown. The pod is read
  back: bound -> done; unbound -> forget and retry after a back-off; still unknown ->
  keep the assumption (over-counting is safe, double-booking a device is not) and retry.

At most `in_flight` bindings run at once (`submit` waits for room: back-pressure on the
planning loop).
"""

from __future__ import annotations

import asyncio
from typing import NoReturn

import structlog

from orchestrator.aio.metrics import Metrics
from orchestrator.model.api import ObjectAPI
from orchestrator.model.errors import ApiError, Conflict, NotFound
from orchestrator.model.gpus import gpu_devices_annotation
from orchestrator.scheduler.binding import Binder
from orchestrator.scheduler.eventing import EventSink
from orchestrator.scheduler.planning import Assignment
from orchestrator.scheduler.queue import SchedulingQueue
from orchestrator.scheduler.snapshot import Snapshot

log = structlog.get_logger(__name__)
BIND_TIMEOUT_S = 30.0


class Applier:
    def __init__(self, *, api: ObjectAPI, binder: Binder, snapshot: Snapshot, queue: SchedulingQueue,
                 events: EventSink, metrics: Metrics, in_flight: int = 64) -> None:
        self.api, self.binder, self.snapshot, self.queue, self.events = api, binder, snapshot, queue, events
        self.in_flight = in_flight
        self._todo: asyncio.Queue[Assignment] = asyncio.Queue(maxsize=in_flight)
        self._results = metrics.counter("orch_scheduler_bindings_total", "Bindings by result")
        self._latency = metrics.histogram("orch_scheduler_binding_seconds", "Time to commit one binding")
        self.bound = 0

    async def submit(self, assignment: Assignment) -> None:
        await self._todo.put(assignment)

    async def run(self) -> NoReturn:
        async with asyncio.TaskGroup() as tg:
            for i in range(self.in_flight):
                tg.create_task(self._work(), name=f"scheduler-bind-{i}")
        raise AssertionError("unreachable")  # the workers never return

    async def _work(self) -> NoReturn:
        loop = asyncio.get_running_loop()
        while True:
            a = await self._todo.get()
            start = loop.time()
            result = await self.apply(a)
            self._results.inc(result=result)
            self._latency.observe(loop.time() - start)

    async def apply(self, a: Assignment) -> str:
        """Commit one assignment; answers the result label (bound, conflict, gone, error)."""
        pod = a.pod
        try:
            async with asyncio.timeout(BIND_TIMEOUT_S):
                await self.binder(namespace=pod.namespace, name=pod.name, node_name=a.node,
                                  resource_version=pod.resource_version,
                                  annotations=gpu_devices_annotation(a.devices) if a.devices else {})
        except Conflict as exc:
            log.debug("binding conflict", pod=pod.key, node=a.node, reason=exc.message)
            self.snapshot.forget(pod.key)
            self.queue.lost_race(pod.key, pod.resource_version)
            return "conflict"
        except NotFound:
            self.snapshot.forget(pod.key)
            self.queue.remove(pod.key)
            self.events.forget(pod.key)
            return "gone"
        except (ApiError, TimeoutError, OSError) as exc:
            log.info("binding failed", pod=pod.key, node=a.node, error=str(exc) or repr(exc))
            await self._settle_unknown(a)
            return "error"
        self.bound += 1
        self.queue.done(pod.key)
        self.events.scheduled(pod, a.node)
        return "bound"

    async def _settle_unknown(self, a: Assignment) -> None:
        pod = a.pod
        try:
            async with asyncio.timeout(BIND_TIMEOUT_S):
                current = await self.api.get("Pod", pod.name, namespace=pod.namespace)
        except NotFound:
            self.snapshot.forget(pod.key)
            self.queue.remove(pod.key)
            return
        except (ApiError, TimeoutError, OSError):
            self.queue.retry_later(pod.key)  # still assumed: counted twice at worst, never lost
            return
        if current.spec.node_name:
            self.queue.done(pod.key)  # it did bind; the informer tells the snapshot where
            return
        self.snapshot.forget(pod.key)
        self.queue.retry_later(pod.key)
