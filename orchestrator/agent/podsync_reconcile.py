"""One pod's sync: read its containers, carry out the plan, hand over the new status.

Called by pod sync's workers, never twice at once for one pod (the work queue's
promise).  Three cases:

- the pod is not (or no longer) bound here: stop and remove its containers;
- it is being deleted: stop its containers within ``deletionGracePeriodSeconds``,
  remove them, then DELETE the pod with ``gracePeriodSeconds=0`` so the object goes
  away only once nothing of it runs;
- otherwise: ``plan_pod`` says what to do; the status computed afterwards goes to the
  status writer only when it differs from the last one handed over.

``Outcome.requeue_after`` asks for another sync later (a back-off ending).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
import structlog

from orchestrator.agent.podsync_backoff import BackOff, wall_time
from orchestrator.agent.podsync_create import Creator, PodMemory, Waiting, call
from orchestrator.agent.podsync_events import EventSink
from orchestrator.agent.podsync_plan import Step, by_container, plan_pod, stale
from orchestrator.agent.probes_workers import Prober
from orchestrator.agent.containers import LABEL_NODE
from orchestrator.agent.status import TERMINAL, ContainerView, lost_status, pod_status
from orchestrator.agent.status_writer import StatusWriter
from orchestrator.model.api import ObjectAPI
from orchestrator.model.containers import Container
from orchestrator.model.errors import NotFound
from orchestrator.model.pods import Pod
from orchestrator.runtime import ContainerNotFound, ContainerRuntime, RuntimeError_, RuntimeUnavailable
from orchestrator.runtime.base import ContainerInfo

if TYPE_CHECKING:
    from orchestrator.agent.podsync import PodSyncSettings

log = structlog.get_logger(__name__)
DEFAULT_GRACE_S = 30


@dataclass(slots=True)
class Outcome:
    requeue_after: float | None = None


def deadline_left(pod: Pod) -> float | None:
    """Seconds until the pod's activeDeadlineSeconds runs out (None: no deadline, or not started)."""
    limit = pod.spec.active_deadline_seconds
    started = wall_time(pod.status.start_time)
    if limit is None or started is None:
        return None
    return started + limit - time.time()


def _deadline_exceeded(pod: Pod) -> Pod:
    status = msgspec.structs.replace(pod.status, phase="Failed", reason="DeadlineExceeded",
                                     message="Pod was active on the node longer than the specified deadline")
    return msgspec.structs.replace(pod, status=status)


def _soonest(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


class Reconciler:
    def __init__(self, *, api: ObjectAPI, runtime: ContainerRuntime, prober: Prober, events: EventSink,
                 writer: StatusWriter, settings: PodSyncSettings, host_ip: str, node_name: str) -> None:
        self.api, self.runtime, self.prober, self.events = api, runtime, prober, events
        self.writer, self.settings, self.host_ip, self.node_name = writer, settings, host_ip, node_name
        self.restarts = BackOff(settings.restart_backoff)
        self.creator = Creator(api=api, runtime=runtime, events=events, settings=settings,
                               backoff=BackOff(settings.create_backoff), node_name=node_name)

    async def _list(self, uid: str) -> list[ContainerInfo]:
        return await call(self.runtime.list(pod_uid=uid), timeout=self.settings.call_timeout_s, what="list")

    async def sync(self, uid: str, mem: PodMemory | None) -> Outcome:
        infos = await self._list(uid)
        if mem is None:
            infos = [i for i in infos if i.labels.get(LABEL_NODE) == self.node_name]  # another node's: not ours
            if infos:
                log.info("removing containers of a pod not bound here", pod_uid=uid, containers=len(infos))
                await self._stop_all(None, infos, grace=self.settings.orphan_grace_s)
            self.forget(uid)
            return Outcome()
        if mem.pod.metadata.deletion_timestamp:
            await self._terminate(mem.pod, infos)
            return Outcome()
        return await self._sync(mem, infos)

    def forget(self, uid: str) -> None:
        self.prober.forget(uid)
        self.writer.forget(uid)
        self.restarts.forget(lambda key: isinstance(key, tuple) and key[0] == uid)
        self.creator.backoff.forget(lambda key: isinstance(key, tuple) and key[0] == uid)

    async def _terminate(self, pod: Pod, infos: list[ContainerInfo]) -> None:
        meta = pod.metadata
        grace = meta.deletion_grace_period_seconds
        if grace is None:
            grace = pod.spec.termination_grace_period_seconds
        await self._stop_all(pod, infos, grace=float(DEFAULT_GRACE_S if grace is None else grace))
        try:
            async with asyncio.timeout(self.settings.call_timeout_s):
                await self.api.delete("pods", meta.name, namespace=meta.namespace, grace_period_seconds=0)
        except NotFound:
            pass
        log.info("pod deleted after its containers stopped", pod=f"{meta.namespace}/{meta.name}", uid=meta.uid)
        self.forget(meta.uid)

    async def _stop_all(self, pod: Pod | None, infos: list[ContainerInfo], *, grace: float) -> None:
        for info in infos:
            self.prober.stop(info.pod_uid, info.container_name)
            if pod is not None and info.state == "running":
                self.events.emit(pod, reason="Killing", message=f"Stopping container {info.container_name}")
        await asyncio.gather(*(self._stop(i.id, grace) for i in infos if i.state == "running"))
        await asyncio.gather(*(self._remove(i.id) for i in infos))

    async def _stop(self, cid: str, grace: float) -> None:
        try:
            await call(self.runtime.stop(cid, grace), timeout=grace + self.settings.call_timeout_s, what="stop")
        except ContainerNotFound:
            pass

    async def _remove(self, cid: str) -> None:
        try:
            await call(self.runtime.remove(cid), timeout=self.settings.call_timeout_s, what="remove")
        except ContainerNotFound:
            pass

    # --- the usual case -------------------------------------------------------------------

    async def _sync(self, mem: PodMemory, infos: list[ContainerInfo]) -> Outcome:
        uid = mem.pod.metadata.uid
        pod = self._as_last_sent(mem)
        left = deadline_left(pod)
        if left is not None and left <= 0 and pod.status.phase not in TERMINAL:
            pod = _deadline_exceeded(pod)
        plan = plan_pod(pod, infos, unhealthy=lambda name, cid: self.prober.unhealthy(uid, name, cid))
        changed = bool(plan.remove)
        await asyncio.gather(*(self._remove(cid) for cid in plan.remove))
        waiting: dict[str, Waiting] = {}
        requeue: float | None = None
        for step in plan.steps:
            shown, again, acted = await self._step(pod, mem, step)
            if shown is not None:
                waiting[step.container.name] = shown
            requeue = _soonest(requeue, again)
            changed = changed or acted
        if changed:
            infos = await self._list(uid)
            if extra := stale(pod, infos):  # a new attempt made an older one stale
                await asyncio.gather(*(self._remove(cid) for cid in extra))
                infos = [i for i in infos if i.id not in extra]
        self._submit_status(pod, mem, infos, waiting)
        if left is not None and left > 0:
            requeue = _soonest(requeue, left)
        return Outcome(requeue_after=requeue)

    def _as_last_sent(self, mem: PodMemory) -> Pod:
        """The pod with the status we last handed over (the watch may lag our writes)."""
        if not mem.sent:
            return mem.pod
        return msgspec.structs.replace(mem.pod, status=msgspec.json.decode(mem.sent, type=type(mem.pod.status)))

    async def _step(self, pod: Pod, mem: PodMemory, step: Step) -> tuple[Waiting | None, float | None, bool]:
        """Carry out one step: (waiting reason to show, requeue after, containers changed)."""
        uid, c = pod.metadata.uid, step.container
        if step.kind == "run":
            return None, None, False  # probes are kept in step by _submit_status
        if step.kind == "start":  # made by an agent that stopped before starting it
            try:
                await call(self.runtime.start(step.id), timeout=self.settings.call_timeout_s, what="start")
            except RuntimeUnavailable:
                raise
            except RuntimeError_ as exc:  # the engine marks the attempt failed; the restart policy decides
                self.events.emit(pod, reason="Failed", type_="Warning", message=f"Error: {exc.message}")
                return None, 0.0, True
            self.events.emit(pod, reason="Started", message=f"Started container {c.name}")
            return None, None, True
        if step.kind == "kill":
            self.prober.stop(uid, c.name)
            self.events.emit(pod, reason="Killing", message=step.message)
            await self._stop(step.id, float(self._grace(pod, c)))
            return None, 0.0, True
        pending = self.creator.pending_failure(pod, mem, c)
        if pending is not None:
            return pending[0], pending[1], False
        if step.kind == "restart":
            key = (uid, c.name)
            if mem.armed.get(c.name) != step.attempt:
                finished = wall_time(step.finished_at) or 0.0
                left = self.restarts.remaining_since(key, finished)
                if left > 0:
                    delay = self.restarts.delay(key)
                    self.events.emit(pod, reason="BackOff", type_="Warning",
                                     message=f"Back-off restarting failed container {c.name} in pod "
                                             f"{pod.metadata.name}_{pod.metadata.namespace}({uid})")
                    message = (f"back-off {delay:g}s restarting failed container={c.name} "
                               f"pod={pod.metadata.name}_{pod.metadata.namespace}({uid})")
                    return ("CrashLoopBackOff", message), left, False
                self.restarts.next(key)
                mem.armed[c.name] = step.attempt
        shown, again = await self.creator.create(pod, mem, c, attempt=step.attempt, host_ip=self.host_ip,
                                                 pod_ip=pod.status.pod_ip or "")
        return shown, again, shown is None

    @staticmethod
    def _grace(pod: Pod, container: Container) -> int:
        for probe in (container.liveness_probe, container.startup_probe):
            if probe is not None and probe.termination_grace_period_seconds is not None:
                return probe.termination_grace_period_seconds
        grace = pod.spec.termination_grace_period_seconds
        return DEFAULT_GRACE_S if grace is None else grace

    def _submit_status(self, pod: Pod, mem: PodMemory, infos: list[ContainerInfo],
                       waiting: dict[str, Waiting]) -> None:
        uid = pod.metadata.uid
        attempts = by_container(infos)
        for c in pod.spec.containers:
            atts = attempts.get(c.name, [])
            if atts and atts[-1].state == "running":
                seed = next((s for s in pod.status.container_statuses if s.name == c.name), None)
                self.prober.sync(uid=uid, pod=mem.pod, container=c, info=atts[-1], seed=seed)
            else:
                self.prober.stop(uid, c.name)

        def view(c: Container) -> ContainerView:
            atts = attempts.get(c.name, [])
            cur = atts[-1] if atts else None
            cid = cur.id if cur is not None else ""
            init = c in pod.spec.init_containers
            return ContainerView(name=c.name, image=c.image, attempts=atts, waiting=waiting.get(c.name),
                                 ready=self.prober.ready(uid, c.name, cid),
                                 started=self.prober.started(uid, c.name, cid),
                                 lost=None if atts else lost_status(pod, c.name, init=init))  # fmt: skip

        status = pod_status(pod, init=[view(c) for c in pod.spec.init_containers],
                            main=[view(c) for c in pod.spec.containers], runtime=self.runtime.name,
                            host_ip=self.host_ip, host_network=self.runtime.name == "process")  # fmt: skip
        encoded = msgspec.json.encode(status)
        if encoded == mem.sent:
            return
        mem.sent = encoded
        self.writer.submit(mem.pod, status)
