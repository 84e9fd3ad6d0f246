"""Moving pods bound to simulated nodes: Pending -> Running (-> Succeeded / Failed), and
finishing their deletion.

One websocket watch of every bound pod (`spec.nodeName!=`; a watch per node would be
1,000 sockets) keeps the latest version of each pod of ours in `pods` and queues its key.
Workers take keys (a key is in one worker at a time; repeats collapse), ask `decide()`
what to do with the latest version, and write with the credential of the pod's node:
PUT pods/NAME/status carrying the resourceVersion it was planned from, or DELETE with
gracePeriodSeconds=0 and the pod's uid as precondition. A 409 means a newer version is
(or will be) in `pods`; its event queues the key again. A version we already wrote from
is not planned twice: our own write's event comes next.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NoReturn

import aiohttp
import msgspec
import structlog

from orchestrator.agent.sim.nodes import SimNode
from orchestrator.agent.sim.statuses import (Decision, Step, decide, elapsed_since, exit_code, finished_status,
                                             now_rfc3339, pod_ip, running_status)
from orchestrator.aio.workqueue import WorkQueue
from orchestrator.client import Client, WatchEvent
from orchestrator.model.errors import ApiError, Conflict, NotFound
from orchestrator.model.pods import Pod, PodStatus
from orchestrator.model.registry import REGISTRY

log = structlog.get_logger(__name__)
PODS = REGISTRY.by_kind("Pod")
BOUND = "spec.nodeName!="
Key = tuple[str, str]  # (namespace, name)


class _Meta(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    name: str
    namespace: str
    resource_version: str = ""


class _StatusUpdate(msgspec.Struct, kw_only=True, rename="camel"):
    """A pod reduced to what PUT /status reads: identity, the revision checked, the status."""

    api_version: str = "v1"
    kind: str = "Pod"
    metadata: _Meta
    status: PodStatus


_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class PodStats:
    started: int = 0
    succeeded: int = 0
    failed: int = 0
    deleted: int = 0
    conflicts: int = 0
    errors: int = 0

    @property
    def writes(self) -> int:
        return self.started + self.succeeded + self.failed + self.deleted


class PodSync:
    def __init__(self, *, nodes: dict[str, SimNode], watcher: Client, job_seconds: float, ip_offset: int = 0) -> None:
        self.nodes, self.watcher, self.job_seconds = nodes, watcher, job_seconds
        self.pods: dict[Key, Pod] = {}
        self.queue: WorkQueue[Key] = WorkQueue(name="sim-pods", base_delay=0.05, max_delay=10.0)
        self.stats = PodStats()
        self._written: dict[Key, str] = {}  # the resourceVersion our last successful write was planned from
        self._started: dict[Key, float] = {}  # loop time we made it Running
        self._ips: dict[Key, str] = {}  # pod IPs of our pods (given by us, or found on them)
        self._taken: set[str] = set()
        self._ip_counter = ip_offset

    # --- the watch ---------------------------------------------------------------------

    def observe(self, ev: WatchEvent) -> None:
        pod: Pod = ev.object
        key = (pod.metadata.namespace, pod.metadata.name)
        if ev.type == "DELETED" or pod.spec.node_name not in self.nodes:
            self._forget(key)
            return
        self.pods[key] = pod
        if pod.status.pod_ip and key not in self._ips:
            self._ips[key] = pod.status.pod_ip  # a previous run gave it: keep it, never hand it out again
            self._taken.add(pod.status.pod_ip)
        self.queue.add(key)

    def _forget(self, key: Key) -> None:
        self.pods.pop(key, None)
        self._written.pop(key, None)
        self._started.pop(key, None)
        self._taken.discard(self._ips.pop(key, ""))

    async def watch(self) -> NoReturn:
        async for ev in self.watcher.watch(PODS, field_selector=BOUND):
            self.observe(ev)
        raise AssertionError("pod watch ended")

    # --- the workers -------------------------------------------------------------------

    async def worker(self) -> NoReturn:
        while True:
            key = await self.queue.get()
            try:
                await self.process(key)
            finally:
                self.queue.done(key)

    def plan(self, key: Key, pod: Pod) -> Decision:
        started = self._started.get(key)
        running_for = (asyncio.get_running_loop().time() - started if started is not None
                       else elapsed_since(pod.status.start_time, now=datetime.now(timezone.utc)))
        return decide(pod, running_for=running_for, job_seconds=self.job_seconds)

    async def process(self, key: Key) -> None:
        pod = self.pods.get(key)
        if pod is None or self._written.get(key) == pod.metadata.resource_version:
            return
        node = self.nodes[pod.spec.node_name]
        if node.gone:
            return
        decision = self.plan(key, pod)
        if decision.step is Step.WAIT:
            self.queue.add_after(key, decision.delay)
            return
        if decision.step is Step.NOTHING:
            return
        try:
            await self._apply(key, pod, node, decision.step)
        except Conflict:
            self.stats.conflicts += 1
            if self.pods.get(key) is not pod:
                self.queue.add(key)  # the newer version is already here
            return
        except NotFound:
            return  # deleted meanwhile: its DELETED event cleans up
        except aiohttp.ClientError as exc:  # what the client does not translate (a broken answer)
            self.stats.errors += 1
            self.queue.add_rate_limited(key)
            log.info("pod write failed; retrying", pod=f"{key[0]}/{key[1]}", error=repr(exc))
            return
        except ApiError as exc:
            self.stats.errors += 1
            if exc.code >= 500 or exc.code == 429:
                delay = self.queue.add_rate_limited(key)
                log.info("pod write failed; retrying", pod=f"{key[0]}/{key[1]}", error=exc.message,
                         retry_in_s=round(delay, 2))
            else:
                log.warning("pod write refused", pod=f"{key[0]}/{key[1]}", node=node.name, error=exc.message)
            return
        self._written[key] = pod.metadata.resource_version
        self.queue.forget(key)

    async def _apply(self, key: Key, pod: Pod, node: SimNode, step: Step) -> None:
        if step is Step.DELETE:
            await self._delete(node, pod)
            self.stats.deleted += 1
        elif step is Step.START:
            ip = self._ips.get(key) or self._new_ip(key)
            await self._put_status(node, pod, running_status(pod, host_ip=node.ip, pod_ip=ip, now=now_rfc3339()))
            self._started[key] = asyncio.get_running_loop().time()
            self.stats.started += 1
        elif step is Step.FINISH:
            code = exit_code(pod)
            await self._put_status(node, pod, finished_status(pod, code=code, now=now_rfc3339()))
            if code == 0:
                self.stats.succeeded += 1
            else:
                self.stats.failed += 1

    def _new_ip(self, key: Key) -> str:
        ip = pod_ip(self._ip_counter)
        while ip in self._taken:
            self._ip_counter += 1
            ip = pod_ip(self._ip_counter)
        self._ip_counter += 1
        self._ips[key] = ip
        self._taken.add(ip)
        return ip

    async def _put_status(self, node: SimNode, pod: Pod, status: PodStatus) -> None:
        meta = pod.metadata
        body = _StatusUpdate(metadata=_Meta(name=meta.name, namespace=meta.namespace,
                                            resource_version=meta.resource_version), status=status)
        await node.client.request("PUT", PODS.api_path(meta.namespace, meta.name) + "/status", body=_encode(body))

    async def _delete(self, node: SimNode, pod: Pod) -> None:
        meta = pod.metadata
        options = {"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 0,
                   "preconditions": {"uid": meta.uid}}
        await node.client.request("DELETE", PODS.api_path(meta.namespace, meta.name), body=_encode(options))
