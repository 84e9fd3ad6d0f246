"""Pod sync: run the pods bound to this node and report their status.

Data flow:

    watch pods (fieldSelector spec.nodeName=<me>, resuming) --> PodMemory by uid --+
    relist the runtime every relist_s (exits, adoption, strays) ------------------+--> work queue (uid)
    probe results that changed; back-off timers; resync every resync_s -----------+        |
                                                                         N workers: Reconciler.sync(uid)
                                                            runtime calls; status -> StatusWriter (coalesced)

Invariants:
- one sync per pod at a time (the work queue's promise); pods sync in parallel;
- the runtime is the truth about containers (found by the pod-uid label), so a
  restarted agent adopts what runs: nothing is re-created or restarted, and restart
  counts come from the containers' labels;
- containers whose pod is not bound here (deleted while the agent was down, or
  bound elsewhere) are stopped and removed, if this node made them (label
  ``orch.io/node``): agents sharing one engine leave each other's alone;
- a watch event that changes only the status (our own writes coming back) does not
  cause a sync.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import msgspec
import structlog

from orchestrator.agent.containers import LABEL_NODE
from orchestrator.agent.podsync_backoff import BackOffPolicy
from orchestrator.agent.podsync_create import PodMemory, call
from orchestrator.agent.podsync_events import EventSink, Recorder
from orchestrator.agent.podsync_reconcile import Reconciler
from orchestrator.agent.probes_workers import Prober
from orchestrator.agent.status_writer import StatusWriter
from orchestrator.aio.workqueue import WorkQueue
from orchestrator.model.api import ObjectAPI, WatchEvent
from orchestrator.model.errors import ApiError
from orchestrator.model.pods import Pod
from orchestrator.runtime import ContainerInfo, ContainerRuntime, RuntimeError_

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class PodSyncSettings:
    workers: int = 16  # pods synced at once
    relist_s: float = 1.0  # how often the runtime is listed to notice exits (the kubelet's PLEG)
    resync_s: float = 60.0  # every pod is synced at least this often
    call_timeout_s: float = 30.0  # one API or runtime call (pulls and stops have their own)
    pull_timeout_s: float = 600.0
    orphan_grace_s: float = 2.0  # stop grace for containers of pods no longer bound here
    status_concurrency: int = 16  # status writes in flight at once
    restart_backoff: BackOffPolicy = field(default_factory=BackOffPolicy)  # CrashLoopBackOff: 10 s .. 5 min
    create_backoff: BackOffPolicy = field(default_factory=BackOffPolicy)  # pulls, config errors


def _key(pod: Any) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def _needs_sync(old: Pod, new: Pod) -> bool:
    """Whether a watch event changes what runs (not only the status we wrote)."""
    a, b = old.metadata, new.metadata
    return (a.deletion_timestamp != b.deletion_timestamp or a.generation != b.generation
            or a.annotations != b.annotations or a.labels != b.labels or old.spec != new.spec)  # fmt: skip


class PodSync:
    def __init__(self, *, api: ObjectAPI, runtime: ContainerRuntime, node_name: str, data_dir: Path,
                 recorder: Recorder | None, proxy_token_digest: str = "", host_ip: str = "",
                 settings: PodSyncSettings | None = None) -> None:
        self.api, self.runtime, self.node_name, self.data_dir = api, runtime, node_name, data_dir
        self.settings = settings or PodSyncSettings()
        self.host_ip = host_ip
        self.queue: WorkQueue[str] = WorkQueue(name="podsync", base_delay=0.5, max_delay=30.0)
        self.events = EventSink(recorder)
        self.prober = Prober(runtime=runtime, notify=self.queue.add, events=self.events)
        self.writer = StatusWriter(api=api, timeout=self.settings.call_timeout_s,
                                   concurrency=self.settings.status_concurrency)
        self.pods: dict[str, PodMemory] = {}  # uid -> memory, for pods bound here
        self._uids: dict[str, str] = {}  # namespace/name -> uid
        self.ready = asyncio.Event()  # set once the first list of pods is loaded
        self.reconciler: Reconciler | None = None

    async def run(self) -> NoReturn:
        host_ip = self.host_ip or await self._node_ip()
        self.reconciler = Reconciler(api=self.api, runtime=self.runtime, prober=self.prober, events=self.events,
                                     writer=self.writer, settings=self.settings, host_ip=host_ip,
                                     node_name=self.node_name)
        log.info("pod sync starting", node=self.node_name, runtime=self.runtime.name, host_ip=host_ip)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self.events.run(), name="podsync-events")
                tg.create_task(self.prober.run(), name="podsync-probes")
                tg.create_task(self.writer.run(), name="podsync-status")
                tg.create_task(self._watch(), name="podsync-watch")
                await self.ready.wait()
                tg.create_task(self._relist(), name="podsync-relist")
                for n in range(self.settings.workers):
                    tg.create_task(self._worker(), name=f"podsync-worker-{n}")
        finally:
            self.queue.close()
        raise AssertionError("unreachable")

    async def _node_ip(self) -> str:
        for attempt in range(5):
            try:
                async with asyncio.timeout(self.settings.call_timeout_s):
                    node = await self.api.get("nodes", self.node_name)
                for addr in node.status.addresses:
                    if addr.type == "InternalIP":
                        return str(addr.address)
                break
            except Exception as exc:  # noqa: BLE001 - fall back below; the node may come later
                log.warning("cannot read this node's address", node=self.node_name, error=str(exc))
                await asyncio.sleep(0.2 * 2**attempt)
        return "127.0.0.1"

    # --- desired state: the watch --------------------------------------------------------

    async def _watch(self) -> NoReturn:
        selector = f"spec.nodeName={self.node_name}"
        while True:
            try:
                async with asyncio.timeout(self.settings.call_timeout_s):
                    listed = await self.api.list("pods", field_selector=selector)
                self._load(listed.items)
                self.ready.set()
                async for event in self.api.watch("pods", field_selector=selector,
                                                  resource_version=listed.resource_version,
                                                  known=listed.items):
                    self.on_event(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - e.g. 401 after a credential change: list again
                log.warning("pod watch failed; listing again", error=str(exc) or type(exc).__name__)
                await asyncio.sleep(1.0)

    def _load(self, items: list[Any]) -> None:
        """A full list: remember every pod, forget the ones gone, sync them all."""
        listed = {p.metadata.uid for p in items}
        for uid in [u for u in self.pods if u not in listed]:
            self._gone(uid)
        for pod in items:
            self.on_event(WatchEvent("ADDED", pod))

    def on_event(self, event: WatchEvent) -> None:
        pod = event.object
        key = _key(pod)
        if event.type == "DELETED":
            self._gone(pod.metadata.uid or self._uids.get(key, ""))
            return
        if event.type not in ("ADDED", "MODIFIED"):
            return
        uid = pod.metadata.uid
        previous = self._uids.get(key)
        if previous is not None and previous != uid:
            self._gone(previous)  # replaced by a new pod of the same name
        self._uids[key] = uid
        mem = self.pods.get(uid)
        if mem is None:
            self.pods[uid] = PodMemory(pod=pod, sent=msgspec.json.encode(pod.status))
            self.queue.add(uid)
            return
        old, mem.pod = mem.pod, pod
        if _needs_sync(old, pod):
            self.queue.add(uid)

    def _gone(self, uid: str) -> None:
        mem = self.pods.pop(uid, None)
        if mem is None:
            return
        if self._uids.get(_key(mem.pod)) == uid:
            del self._uids[_key(mem.pod)]
        self.queue.add(uid)  # stops and removes whatever still runs

    # --- observed state: relisting the runtime ---------------------------------------------

    async def _relist(self) -> NoReturn:
        seen: dict[str, tuple[str, str]] = {}  # container id -> (pod uid, state)
        last_resync = time.monotonic()
        while True:
            infos: list[ContainerInfo] | None
            try:
                infos = await call(self.runtime.list(), timeout=self.settings.call_timeout_s, what="list")
            except RuntimeError_ as exc:
                log.warning("runtime list failed", error=exc.message)
                infos = None
            if infos is not None:
                now = {i.id: (i.pod_uid, i.state) for i in infos
                       if i.labels.get(LABEL_NODE) == self.node_name or i.pod_uid in self.pods}
                changed = {v[0] for k, v in now.items() if seen.get(k) != v}
                changed |= {v[0] for k, v in seen.items() if k not in now}
                changed |= {v[0] for v in now.values() if v[0] not in self.pods}  # strays
                for uid in changed:
                    self.queue.add(uid)
                seen = now
            if time.monotonic() - last_resync >= self.settings.resync_s:
                last_resync = time.monotonic()
                for uid in self.pods:
                    self.queue.add(uid)
            await asyncio.sleep(self.settings.relist_s)

    # --- workers -------------------------------------------------------------------------

    async def _worker(self) -> NoReturn:
        assert self.reconciler is not None
        while True:
            uid = await self.queue.get()
            try:
                outcome = await self.reconciler.sync(uid, self.pods.get(uid))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - retried with back-off; one pod never stops the rest
                delay = self.queue.add_rate_limited(uid)
                mem = self.pods.get(uid)
                name = _key(mem.pod) if mem is not None else uid
                if isinstance(exc, RuntimeError_):
                    log.warning("pod sync failed; retrying", pod=name, error=exc.message, retry_in_s=round(delay, 2))
                else:
                    log.warning("pod sync failed; retrying", pod=name, error=str(exc) or type(exc).__name__,
                                retry_in_s=round(delay, 2), exc_info=not _expected(exc))
            else:
                self.queue.forget(uid)
                if outcome.requeue_after is not None:
                    self.queue.add_after(uid, outcome.requeue_after)
            finally:
                self.queue.done(uid)



def _expected(exc: Exception) -> bool:
    return isinstance(exc, ApiError | TimeoutError | ConnectionError)
