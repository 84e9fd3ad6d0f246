"""`run_scheduler(api, ...)`: informers -> snapshot + queue -> plan a batch -> applier.

Works over any ObjectAPI: in `orch server` on the in-process bus (`state.api`), out of
process through the HTTP client. Tasks, all owned by one TaskGroup: the Node and Pod
informers, the applier's binding workers, the event workers, the unschedulable flush,
and the loop itself:

    while True:
        batch = await queue.pop_batch()          # waits; no polling
        plan = planner.schedule(snapshot, batch) # pure, in memory, assumes as it goes
        failures -> queue (unschedulable) + one FailedScheduling event per reason
        assignments -> applier (bounded: waits when `binds_in_flight` are running)

Informer handlers run inline and are cheap: they update the snapshot and the queue, and
a change that can free room (a node added or changed, a pod gone or finished) moves the
unschedulable pods back to active.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, NoReturn

import structlog

from orchestrator.aio.metrics import Metrics
from orchestrator.client.events import EventRecorder
from orchestrator.client.informers import Handlers, Informer
from orchestrator.model.api import ObjectAPI
from orchestrator.scheduler.applier import Applier
from orchestrator.scheduler.binding import Binder, binder_for
from orchestrator.scheduler.eventing import EventSink
from orchestrator.scheduler.planning import Planner
from orchestrator.scheduler.pods import is_pending, pod_info, pod_key
from orchestrator.scheduler.queue import SchedulingQueue
from orchestrator.scheduler.snapshot import Snapshot

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class SchedulerSettings:
    batch_size: int = 1_000                # pods planned per cycle at most
    binds_in_flight: int = 64              # bindings committed concurrently
    percentage_of_nodes_to_score: int = 0  # 0: kube-scheduler's adaptive 50% - nodes/125 (at least 100 nodes)
    event_backlog: int = 10_000            # scheduling events waiting to be written; more are dropped
    event_workers: int = 4
    unschedulable_flush_s: float = 60.0    # an unschedulable pod is retried at least this often
    initial_backoff_s: float = 1.0         # a retried pod waits this long, doubling per try ...
    max_backoff_s: float = 10.0            # ... up to this


class Scheduler:
    """The parts wired together; `run` owns their tasks. Tests reach in through the attributes."""

    def __init__(self, api: ObjectAPI, *, metrics: Metrics, recorder: EventRecorder | None,
                 settings: SchedulerSettings | None = None, binder: Binder | None = None) -> None:
        self.settings = s = settings or SchedulerSettings()
        self.api = api
        self.snapshot = Snapshot()
        self.queue = SchedulingQueue(flush_after_s=s.unschedulable_flush_s, initial_backoff_s=s.initial_backoff_s,
                                     max_backoff_s=s.max_backoff_s)
        self.planner = Planner(percentage_of_nodes_to_score=s.percentage_of_nodes_to_score)
        self.events = EventSink(recorder, metrics=metrics, backlog=s.event_backlog, workers=s.event_workers)
        self.applier = Applier(api=api, binder=binder or binder_for(api), snapshot=self.snapshot, queue=self.queue,
                               events=self.events, metrics=metrics, in_flight=s.binds_in_flight)
        self.nodes = Informer(api, "Node")
        self.pods = Informer(api, "Pod")
        self.nodes.add_handlers(Handlers(on_add=self._node_changed, on_update=lambda _, n: self._node_changed(n),
                                         on_delete=self._node_deleted))
        self.pods.add_handlers(Handlers(on_add=self._pod_changed, on_update=lambda _, p: self._pod_changed(p),
                                        on_delete=self._pod_deleted))
        self._attempts = metrics.counter("orch_scheduler_schedule_attempts_total", "Pods planned, by result")
        self._batch_seconds = metrics.histogram("orch_scheduler_plan_seconds", "Time to plan one batch")
        metrics.gauge("orch_scheduler_pending_pods", "Pods waiting to be scheduled", lambda: len(self.queue))
        metrics.gauge("orch_scheduler_unschedulable_pods", "Pods no node fits",
                      lambda: self.queue.unschedulable)

    # ---- informer handlers (inline, quick) -------------------------------------------------

    def _node_changed(self, node: Any) -> None:
        if self.snapshot.set_node(node):
            self.queue.move_all()

    def _node_deleted(self, node: Any) -> None:
        self.snapshot.remove_node(node.metadata.name)

    def _pod_changed(self, pod: Any) -> None:
        freed = self.snapshot.update_pod(pod)
        if is_pending(pod):
            self.queue.add(pod_info(pod))
        else:
            self.queue.remove(pod_key(pod))
            self.events.forget(pod_key(pod))
        if freed:
            self.queue.move_all()

    def _pod_deleted(self, pod: Any) -> None:
        key = pod_key(pod)
        self.queue.remove(key)
        self.events.forget(key)
        if self.snapshot.delete_pod(pod):
            self.queue.move_all()

    # ---- tasks ---------------------------------------------------------------------------

    async def run(self) -> NoReturn:
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.nodes.run(), name="scheduler-node-informer")
                tg.create_task(self.pods.run(), name="scheduler-pod-informer")
                tg.create_task(self.applier.run(), name="scheduler-applier")
                tg.create_task(self.events.run(), name="scheduler-events")
                tg.create_task(self._flush_forever(), name="scheduler-flush")
                tg.create_task(self._schedule_forever(), name="scheduler-loop")
        finally:
            self.queue.close()
        raise AssertionError("unreachable")  # every task above runs forever

    async def _schedule_forever(self) -> NoReturn:
        await self.nodes.synced.wait()
        await self.pods.synced.wait()
        log.info("scheduler started", nodes=len(self.snapshot), pending=len(self.queue))
        loop = asyncio.get_running_loop()
        while True:
            batch, cycle = await self.queue.pop_batch(self.settings.batch_size)
            start = loop.time()
            plan = self.planner.schedule(self.snapshot, batch)
            self._batch_seconds.observe(loop.time() - start)
            for f in plan.failures:
                self.queue.failed(f.pod.key, cycle)
                self.events.failed(f.pod, f.message)
            if plan.failures:
                self._attempts.inc(len(plan.failures), result="unschedulable")
                log.debug("pods unschedulable", count=len(plan.failures), first=plan.failures[0].message)
            if plan.assignments:
                self._attempts.inc(len(plan.assignments), result="scheduled")
            for a in plan.assignments:
                await self.applier.submit(a)

    async def _flush_forever(self) -> NoReturn:
        period = max(1.0, self.settings.unschedulable_flush_s / 2)
        while True:
            await asyncio.sleep(period)
            self.queue.flush_stale()


async def run_scheduler(api: ObjectAPI, *, metrics: Metrics, recorder: EventRecorder | None,
                        settings: SchedulerSettings | None = None, binder: Binder | None = None) -> NoReturn:
    """Schedule pending pods forever (cancel to stop)."""
    await Scheduler(api, metrics=metrics, recorder=recorder, settings=settings, binder=binder).run()
