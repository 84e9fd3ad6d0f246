"""A fake kubelet for reconcile tests: nothing runs pods here, so this plays every node.

- Nodes are Node objects with Ready=True and a Lease in kube-node-lease renewed every
  `renew_s` (unless the node is "dead": then neither its lease nor its pods move).
- Pending unbound pods are bound to a live Ready node they fit (least loaded first);
  bound Pending pods become Running with Ready=True; pods labelled `job-name` succeed
  `job_seconds` after they started (or fail, labelled `fake-kubelet/fail=true`);
  pods being deleted on a live node are finished off (grace 0), as an agent would.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, NoReturn

from orchestrator.controllers.clock import format_micro, format_time, now
from orchestrator.controllers.placement import fits_node
from orchestrator.model.base import Condition, ObjectMeta, clone
from orchestrator.model.cluster import Lease, LeaseSpec
from orchestrator.model.errors import ApiError
from orchestrator.model.nodes import Node, Taint

FAIL_LABEL = "fake-kubelet/fail"


class FakeKubelet:
    def __init__(self, api: Any, *, job_seconds: float = 0.1, renew_s: float = 0.1, tick_s: float = 0.02) -> None:
        self.api = api
        self.job_seconds, self.renew_s, self.tick_s = job_seconds, renew_s, tick_s
        self.dead: set[str] = set()
        self.nodes: list[str] = []
        self._running_since: dict[str, float] = {}

    async def add_node(self, name: str, *, labels: dict[str, str] | None = None,
                       taints: list[Taint] | None = None) -> None:
        t = format_time(now())
        node = Node(metadata=ObjectMeta(name=name, labels=dict(labels or {})))
        node.spec.taints = list(taints or [])
        node.status.conditions = [Condition(type="Ready", status="True", reason="KubeletReady",
                                            last_transition_time=t, last_heartbeat_time=t)]
        node.status.capacity = {"cpu": "8", "memory": "16Gi", "pods": "110"}
        node.status.allocatable = dict(node.status.capacity)
        await self.api.create(node)
        lease = Lease(metadata=ObjectMeta(name=name, namespace="kube-node-lease"),
                      spec=LeaseSpec(holder_identity=name, lease_duration_seconds=40, renew_time=format_micro(now())))
        await self.api.create(lease)
        self.nodes.append(name)

    async def remove_node(self, name: str) -> None:
        self.nodes.remove(name)
        await self.api.delete("Node", name)
        await self.api.delete("Lease", name, namespace="kube-node-lease")

    async def run(self) -> NoReturn:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._renew(), name="fake-kubelet-leases")
            tg.create_task(self._pods(), name="fake-kubelet-pods")
        raise AssertionError("unreachable")

    async def _renew(self) -> NoReturn:
        while True:
            for name in list(self.nodes):
                if name not in self.dead:
                    try:
                        await self.api.patch("Lease", name, {"spec": {"renewTime": format_micro(now())}},
                                             namespace="kube-node-lease")
                    except ApiError:
                        pass
            await asyncio.sleep(self.renew_s)

    async def _pods(self) -> NoReturn:
        while True:
            try:
                await self.tick()
            except ApiError:
                pass  # someone wrote first: next tick sees it
            await asyncio.sleep(self.tick_s)

    async def tick(self) -> None:
        nodes = {n.metadata.name: n for n in (await self.api.list("Node")).items}
        pods = (await self.api.list("Pod")).items
        load = {name: 0 for name in nodes}
        for p in pods:
            if p.spec.node_name in load:
                load[p.spec.node_name] += 1
        for p in pods:
            node = p.spec.node_name
            if node and (node in self.dead or node not in nodes):
                continue
            if p.metadata.deletion_timestamp is not None:
                await self._try(self.api.delete("Pod", p.metadata.name, namespace=p.metadata.namespace,
                                                grace_period_seconds=0))
            elif not node:
                fits = [n for n in nodes.values() if self._live(n) and fits_node(p.spec, n)]
                if fits:
                    best = min(fits, key=lambda n: (load[n.metadata.name], n.metadata.name))
                    load[best.metadata.name] += 1
                    await self._try(self.api.bind(p.metadata.namespace, p.metadata.name, best.metadata.name))
            elif p.status.phase == "Pending":
                await self._try(self._start(p))
            elif p.status.phase == "Running" and "job-name" in p.metadata.labels:
                started = self._running_since.setdefault(p.metadata.uid, time.monotonic())
                if time.monotonic() - started >= self.job_seconds:
                    await self._try(self._finish(p, failed=p.metadata.labels.get(FAIL_LABEL) == "true"))

    def _live(self, node: Node) -> bool:
        ready = next((c for c in node.status.conditions if c.type == "Ready"), None)
        return node.metadata.name not in self.dead and ready is not None and ready.status == "True"

    async def _start(self, pod: Any) -> None:
        out = clone(pod)
        t = format_time(now())
        out.status.phase = "Running"
        out.status.start_time = t
        out.status.host_ip = "10.0.0.1"
        out.status.conditions = [Condition(type="Ready", status="True", last_transition_time=t),
                                 Condition(type="PodScheduled", status="True", last_transition_time=t)]
        await self.api.update_status(out)

    async def _finish(self, pod: Any, *, failed: bool) -> None:
        out = clone(pod)
        t = format_time(now())
        out.status.phase = "Failed" if failed else "Succeeded"
        out.status.conditions = [Condition(type="Ready", status="False", last_transition_time=t)]
        await self.api.update_status(out)

    @staticmethod
    async def _try(write: Any) -> None:
        try:
            await write
        except ApiError:
            pass
