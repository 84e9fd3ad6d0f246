"""Node lifecycle controller: the shell around `node_health` (key: the node's name).

Heartbeats are judged on this controller's own clock: a node's heartbeat is "when we
last saw its Lease's renewTime (or its Ready condition's lastHeartbeatTime) change", so
clock skew between machines does not matter and a restarted server gives every node a
full grace period before judging it. Pods bound to a node that no longer exists (checked
live, not only in the cache) are force-deleted.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import structlog

from orchestrator.client.events import EventRecorder
from orchestrator.client.informers import Informer
from orchestrator.controllers import clock
from orchestrator.controllers.actions import apply_and_observe
from orchestrator.controllers.informing import NODE_LEASE_NAMESPACE, SharedInformers
from orchestrator.controllers.node_health import (evictions_paused, is_unhealthy, plan_node, plan_orphaned_pods,
                                                  ready_condition)
from orchestrator.controllers.runner import Result, Watch
from orchestrator.controllers.settings import ControllerSettings
from orchestrator.model.api import ObjectAPI
from orchestrator.model.errors import NotFound

log = structlog.get_logger(__name__)


class NodeLifecycleController:
    name = "node-lifecycle"

    def __init__(self, *, api: ObjectAPI, informers: SharedInformers, settings: ControllerSettings,
                 recorder: EventRecorder) -> None:
        self.api, self.settings, self.recorder = api, settings, recorder
        self.workers, self.resync_s = settings.workers, min(settings.resync_s, settings.node_monitor_period_s)
        self.nodes: Informer = informers.nodes
        self.leases: Informer = informers.leases
        self.pods: Informer = informers.pods
        self._heartbeats: dict[str, tuple[tuple[str, str], float]] = {}
        self._disruption: tuple[float, bool, str] = (-1e9, False, "")
        self._was_paused = False

    def primary(self) -> Informer:
        return self.nodes

    def watches(self) -> list[Watch]:
        return [Watch(self.nodes, keys=lambda n: [n.metadata.name]),
                Watch(self.leases, keys=lambda lease: [lease.metadata.name]
                      if lease.metadata.namespace == NODE_LEASE_NAMESPACE else []),
                Watch(self.pods, keys=lambda p: [p.spec.node_name] if p.spec.node_name else [],
                      relevant=lambda old, new: old.spec.node_name != new.spec.node_name
                      or old.metadata.deletion_timestamp != new.metadata.deletion_timestamp)]

    def resync_keys(self) -> Iterator[str]:
        names = {n.metadata.name for n in self.nodes.list()}
        yield from names
        yield from {p.spec.node_name for p in self.pods.list() if p.spec.node_name and p.spec.node_name not in names}

    # ---- heartbeats ------------------------------------------------------------------

    def heartbeat_age(self, node: Any) -> float:
        """Seconds since this node's heartbeat last moved (as seen here)."""
        name = node.metadata.name
        lease = self.leases.get(name, NODE_LEASE_NAMESPACE)
        ready = ready_condition(node)
        sig = ((lease.spec.renew_time or "") if lease is not None else "",
               (ready.last_heartbeat_time or "") if ready is not None else "")
        now = time.monotonic()
        seen = self._heartbeats.get(name)
        if seen is None or seen[0] != sig:
            self._heartbeats[name] = (sig, now)
            return 0.0
        return now - seen[1]

    def _paused(self) -> tuple[bool, str]:
        at, paused, why = self._disruption
        now = time.monotonic()
        if now - at < min(1.0, self.settings.node_monitor_period_s):
            return paused, why
        nodes = self.nodes.list()
        grace = self.settings.node_grace_period_s
        unhealthy = sum(1 for n in nodes if is_unhealthy(n, stale=self.heartbeat_age(n) > grace))
        paused = evictions_paused(total=len(nodes), unhealthy=unhealthy, threshold=self.settings.unhealthy_threshold)
        why = f"{unhealthy} of {len(nodes)} nodes are unhealthy: evictions pause until fewer are"
        if paused != self._was_paused:
            (log.warning if paused else log.info)("evictions paused" if paused else "evictions resumed",
                                                  unhealthy=unhealthy, nodes=len(nodes))
            self._was_paused = paused
        self._disruption = (now, paused, why)
        return paused, why

    # ---- reconcile -------------------------------------------------------------------

    async def reconcile(self, key: str) -> Result | None:
        node = self.nodes.get(key)
        caches = {"Node": self.nodes, "Pod": self.pods}
        timeout = self.settings.observe_timeout_s
        if node is None:
            self._heartbeats.pop(key, None)
            bound = self.pods.by_index("node", key)
            if not bound:
                return None
            try:
                await self.api.get("Node", key)
                return None  # the cache is behind: the node exists
            except NotFound:
                pass
            log.info("deleting pods of a node that no longer exists", node=key, pods=len(bound))
            await apply_and_observe(self.api, self.recorder, plan_orphaned_pods(bound).actions, caches=caches,
                                    timeout=timeout)
            return None
        grace = self.settings.node_grace_period_s
        age = self.heartbeat_age(node)
        stale = age > grace
        paused, why = self._paused()
        plan = plan_node(node, stale=stale, pods=self.pods.by_index("node", key), now=clock.now(), paused=paused,
                         default_toleration_s=self.settings.default_toleration_s, why_paused=why)
        plan.later(None if stale else grace - age + 0.01)
        if paused and is_unhealthy(node, stale=stale):
            plan.later(self.settings.node_monitor_period_s)
        await apply_and_observe(self.api, self.recorder, plan.actions, caches=caches, timeout=timeout)
        return Result(requeue_after=plan.requeue_after) if plan.requeue_after is not None else None
