"""Keeping simulated Nodes Ready, as a kubelet's status updates do.

The node-lifecycle controller marks a node Ready=Unknown when its Lease goes stale. A
real kubelet that comes back posts Ready=True again; so does this: one watch of sim
Nodes (label `orch.io/simulated=true`) plus a resync every lease interval queue every
node of ours whose Ready is not True while its own lease renewals are fresh, and a
worker writes Ready=True with the node's credential (revision-checked). A Node of ours
that is deleted is marked gone: nothing is written for it any more.
"""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

import msgspec
import structlog

from orchestrator.agent.sim.heartbeating import LeaseKeeper
from orchestrator.agent.sim.nodes import SimNode
from orchestrator.agent.sim.statuses import now_rfc3339
from orchestrator.aio.workqueue import WorkQueue
from orchestrator.client import Client
from orchestrator.model.base import Condition
from orchestrator.model.errors import ApiError, Conflict, NotFound

log = structlog.get_logger(__name__)
SIM_LABEL = "orch.io/simulated=true"


def ready_status(node: Any) -> str:
    for c in node.status.conditions:
        if c.type == "Ready":
            return str(c.status)
    return ""


def with_ready(node: Any, *, now: str) -> Any:
    """The Node with Ready=True (other conditions kept)."""
    ready = Condition(type="Ready", status="True", reason="AgentReady", message="orch sim is posting ready status",
                      last_heartbeat_time=now, last_transition_time=now)
    conditions = [c for c in node.status.conditions if c.type != "Ready"] + [ready]
    return msgspec.structs.replace(node, status=msgspec.structs.replace(node.status, conditions=conditions))


class NodeKeeper:
    def __init__(self, *, nodes: dict[str, SimNode], leases: LeaseKeeper, watcher: Client) -> None:
        self.nodes, self.leases, self.watcher = nodes, leases, watcher
        self.queue: WorkQueue[str] = WorkQueue(name="sim-nodes", base_delay=0.2, max_delay=10.0)
        self.restored = 0

    def check(self, node: SimNode) -> None:
        if node.node is not None and not node.gone and ready_status(node.node) != "True" \
                and self.leases.fresh(node):
            self.queue.add(node.name)

    async def watch(self) -> NoReturn:
        async for ev in self.watcher.watch("Node", label_selector=SIM_LABEL):
            node = self.nodes.get(ev.object.metadata.name)
            if node is None:
                continue
            if ev.type == "DELETED":
                if not node.gone:
                    log.warning("our Node was deleted; no longer simulating it", node=node.name)
                node.gone, node.node = True, None
                continue
            node.node = ev.object
            self.check(node)
        raise AssertionError("node watch ended")

    async def resync(self) -> NoReturn:
        while True:
            await asyncio.sleep(self.leases.interval_s)
            for node in self.nodes.values():
                self.check(node)

    async def worker(self) -> NoReturn:
        while True:
            name = await self.queue.get()
            try:
                await self._restore(self.nodes[name])
            finally:
                self.queue.done(name)

    async def _restore(self, node: SimNode) -> None:
        current = node.node
        if current is None or node.gone or ready_status(current) == "True" or not self.leases.fresh(node):
            return
        try:
            node.node = await node.client.update_status(with_ready(current, now=now_rfc3339()))
        except Conflict:
            return  # a newer version is on its way through the watch, which checks again
        except NotFound:
            node.gone = True
            return
        except ApiError as exc:
            log.warning("could not mark the node Ready", node=node.name, error=exc.message)
            self.queue.add_rate_limited(node.name)
            return
        self.queue.forget(node.name)
        self.restored += 1
        log.info("node Ready again", node=node.name)
