"""Keeping every simulated node's Lease fresh, spread evenly over the interval.

One heap of (due, node) instead of a task per node: node i first renews at
i/N of the interval, then every interval (jittered 0.9-1.1x) after its last due time,
so 1,000 nodes at 10 s make a steady ~100 PATCHes/s, never a burst. Stopping a node's
renewals (`stop(node)`, for tests of node failure) makes its heap entry stale (the
generation moves on); `start(node)` renews it at once and from then on. A Lease that
vanished is created again (a node may write its own Lease).
"""

from __future__ import annotations

import asyncio
import heapq
import random
from datetime import datetime, timezone
from typing import NoReturn

import aiohttp
import structlog

from orchestrator.agent.sim.nodes import SimNode
from orchestrator.model.cluster import Lease
from orchestrator.model.errors import ApiError, NotFound
from orchestrator.model.registry import REGISTRY

log = structlog.get_logger(__name__)
LEASES = REGISTRY.by_kind("Lease")
LEASE_NAMESPACE = "kube-node-lease"
JITTER = 0.1


def micro_now() -> str:
    """RFC 3339 with microseconds, as Lease.spec.renewTime is written."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def first_due(*, index: int, count: int, interval_s: float, now: float) -> float:
    """When node `index` of `count` renews first: evenly spread over one interval."""
    return now + interval_s * (index / max(count, 1))


class LeaseKeeper:
    def __init__(self, *, nodes: list[SimNode], interval_s: float, concurrency: int, grace_s: int = 40) -> None:
        self.nodes, self.interval_s, self.grace_s = nodes, interval_s, grace_s
        self._gate = asyncio.Semaphore(concurrency)
        self._heap: list[tuple[float, int, int]] = []  # (due, node index, lease generation)
        self._wakeup = asyncio.Event()
        self.renewals = 0
        self.failures = 0

    def stop(self, node: SimNode) -> None:
        node.lease_enabled = False
        node.lease_generation += 1  # what is in the heap for it is now stale

    def start(self, node: SimNode) -> None:
        if node.lease_enabled:
            return
        node.lease_enabled = True
        node.lease_generation += 1
        self._push(asyncio.get_running_loop().time(), node)

    def _push(self, due: float, node: SimNode) -> None:
        heapq.heappush(self._heap, (due, node.index, node.lease_generation))
        self._wakeup.set()

    async def run(self) -> NoReturn:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for node in self.nodes:
            node.renewed_at = now  # the join renewed it
            heapq.heappush(self._heap, (first_due(index=node.index, count=len(self.nodes),
                                                  interval_s=self.interval_s, now=now),
                                        node.index, node.lease_generation))
        async with asyncio.TaskGroup() as tg:
            while True:
                await self._until_next_due(loop)
                due, index, generation = heapq.heappop(self._heap)
                node = self.nodes[index]
                if generation != node.lease_generation or not node.lease_enabled or node.gone:
                    continue
                await self._gate.acquire()
                tg.create_task(self._renew(node), name=f"sim-lease-{node.name}")
                step = self.interval_s * random.uniform(1 - JITTER, 1 + JITTER)
                self._push(max(due, loop.time() - self.interval_s) + step, node)

    async def _until_next_due(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            self._wakeup.clear()
            wait = self._heap[0][0] - loop.time() if self._heap else None
            if wait is not None and wait <= 0:
                return
            try:
                async with asyncio.timeout(wait):
                    await self._wakeup.wait()
            except TimeoutError:
                return

    async def _renew(self, node: SimNode) -> None:
        try:
            await self.renew(node)
        finally:
            self._gate.release()

    async def renew(self, node: SimNode) -> None:
        """One renewal (errors logged, counted, never raised: the next one will try again)."""
        patch = {"spec": {"renewTime": micro_now(), "holderIdentity": node.name}}
        try:
            try:
                await node.client.patch(LEASES, node.name, patch, namespace=LEASE_NAMESPACE)
            except NotFound:
                await node.client.create(self._lease(node))
        except (ApiError, aiohttp.ClientError) as exc:
            self.failures += 1
            log.warning("lease not renewed", node=node.name, error=str(exc) or repr(exc))
            return
        if node.lease_enabled:
            node.renewed_at = asyncio.get_running_loop().time()
        self.renewals += 1

    def _lease(self, node: SimNode) -> Lease:
        lease = Lease()
        lease.metadata.name, lease.metadata.namespace = node.name, LEASE_NAMESPACE
        lease.spec.holder_identity = node.name
        lease.spec.lease_duration_seconds = self.grace_s
        lease.spec.renew_time = lease.spec.acquire_time = micro_now()
        return lease

    def fresh(self, node: SimNode) -> bool:
        """Renewing, and the last renewal succeeded within two intervals."""
        if not node.lease_enabled or node.gone or node.renewed_at is None:
            return False
        return asyncio.get_running_loop().time() - node.renewed_at < 2 * self.interval_s + 1
