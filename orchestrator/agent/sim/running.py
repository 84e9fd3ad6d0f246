"""One `orch sim` process: join, then run every loop under one TaskGroup until SIGTERM.

    run_sim -> join_all (fails fast: JoinFailed)
            -> TaskGroup: leases, node watch + resync + worker, pod watch + N workers,
                          progress reports, control listener (optional; bound before joining)
            -> SIGTERM / SIGINT: cancel them all; --cleanup deletes our Nodes and Leases
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

import aiohttp
import structlog

from orchestrator.agent.sim.controlling import ControlListener, Controls
from orchestrator.agent.sim.heartbeating import LEASE_NAMESPACE, LEASES, LeaseKeeper
from orchestrator.agent.sim.joining import Joined, join_all
from orchestrator.agent.sim.nodekeeping import NodeKeeper
from orchestrator.agent.sim.nodes import prefix_offset
from orchestrator.agent.sim.podsync import PodSync
from orchestrator.agent.sim.settings import SimSettings
from orchestrator.agent.sim.statuses import POD_IPS
from orchestrator.client import Client
from orchestrator.model.errors import ApiError, NotFound

log = structlog.get_logger(__name__)
Say = Callable[[str], None]


class Sim:
    """The running parts, wired together (what the control listener and reports read)."""

    def __init__(self, settings: SimSettings, joined: Joined) -> None:
        self.settings, self.joined = settings, joined
        self.nodes = {n.name: n for n in joined.nodes}
        watcher = joined.nodes[0].client  # any node credential reads every pod and node
        self.leases = LeaseKeeper(nodes=joined.nodes, interval_s=settings.lease_interval_s,
                                  concurrency=settings.lease_concurrency)
        self.keeper = NodeKeeper(nodes=self.nodes, leases=self.leases, watcher=watcher)
        self.pods = PodSync(nodes=self.nodes, watcher=watcher, job_seconds=settings.job_seconds,
                            ip_offset=prefix_offset(settings.name_prefix, space=POD_IPS))

    def stats(self) -> dict[str, Any]:
        s = self.pods.stats
        return {"nodes": len(self.nodes), "nodesGone": sum(n.gone for n in self.nodes.values()),
                "leasesStopped": sum(not n.lease_enabled for n in self.nodes.values()),
                "leaseRenewals": self.leases.renewals, "leaseFailures": self.leases.failures,
                "nodesMadeReady": self.keeper.restored, "podsTracked": len(self.pods.pods),
                "podsQueued": len(self.pods.queue), "started": s.started, "succeeded": s.succeeded,
                "failed": s.failed, "deleted": s.deleted, "writes": s.writes, "conflicts": s.conflicts,
                "errors": s.errors}

    def controls(self) -> Controls:
        return Controls(nodes=self.nodes, leases=self.leases, restarted=self.keeper.check, stats=self.stats)

    def loops(self, *, say: Say) -> list[tuple[str, Coroutine[Any, Any, NoReturn]]]:
        loops: list[tuple[str, Coroutine[Any, Any, NoReturn]]] = [
            ("sim-leases", self.leases.run()), ("sim-node-watch", self.keeper.watch()),
            ("sim-node-resync", self.keeper.resync()), ("sim-node-worker", self.keeper.worker()),
            ("sim-pod-watch", self.pods.watch())]
        loops += [(f"sim-pod-worker-{i}", self.pods.worker()) for i in range(self.settings.concurrency)]
        if self.settings.report_interval_s > 0:
            loops.append(("sim-report", self.report(say=say)))
        return loops

    async def report(self, *, say: Say) -> NoReturn:
        last, last_t = self.pods.stats.writes, time.monotonic()
        while True:
            await asyncio.sleep(self.settings.report_interval_s)
            writes, now = self.pods.stats.writes, time.monotonic()
            if writes != last:
                say(self.summary(rate=(writes - last) / (now - last_t)))
            last, last_t = writes, now

    def summary(self, *, rate: float | None = None) -> str:
        s = self.pods.stats
        line = (f"{len(self.nodes)} nodes, {len(self.pods.pods)} pods: {s.started} started, {s.succeeded} succeeded, "
                f"{s.failed} failed, {s.deleted} deleted ({s.conflicts} conflicts, {s.errors} errors)")
        return line + (f"; {rate:.0f} writes/s" if rate is not None else "")


async def run_sim(settings: SimSettings, *, say: Say) -> None:
    """Until SIGTERM/SIGINT. Raises ControlError, JoinFailed, or the ApiError that stopped a loop."""
    stop = asyncio.Event()
    main = asyncio.current_task()
    assert main is not None
    joining = True

    def on_signal() -> None:
        stop.set()
        if joining:
            main.cancel()  # a signal while joining: stop at once

    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for sig in signals:
        loop.add_signal_handler(sig, on_signal)
    control = ControlListener(host=settings.control[0], port=settings.control[1]) if settings.control else None
    connector = aiohttp.TCPConnector(limit=settings.concurrency + settings.lease_concurrency + 8)
    try:
        if control is not None:
            say(f"control listening on {await control.open()}")
        async with aiohttp.ClientSession(connector=connector) as session:
            try:
                joined = await join_all(settings, session=session)
            except asyncio.CancelledError:
                if not stop.is_set() or main.uncancel():
                    raise
                say("stopped while joining")
                return
            joining = False
            gpus = settings.shape.gpus_per_node
            say(f"joined {len(joined.nodes)} nodes in {joined.seconds:.1f} s ({joined.rejoined} rejoined"
                f"{f', {gpus} GPUs each' if gpus else ''}) through {joined.api_server}")
            sim = Sim(settings, joined)
            loops = sim.loops(say=say)
            if control is not None:
                control.attach(sim.controls())
                loops.append(("sim-control", control.serve()))
            started = time.monotonic()
            await _until(stop, loops)
            elapsed = time.monotonic() - started
            say(f"stopping: {sim.summary(rate=sim.pods.stats.writes / elapsed if elapsed else None)}")
            if settings.cleanup:
                await cleanup(sim, session=session, say=say)
    finally:
        if control is not None:
            await control.close()
        for sig in signals:
            loop.remove_signal_handler(sig)


async def _until(stop: asyncio.Event, loops: list[tuple[str, Coroutine[Any, Any, NoReturn]]]) -> None:
    """Run the loops until `stop` is set; the first one to fail stops them all (raised)."""
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(coro, name=name) for name, coro in loops]
            await stop.wait()
            for task in tasks:
                task.cancel()
    except ExceptionGroup as group:
        raise _first_leaf(group) from None


def _first_leaf(group: BaseExceptionGroup[Any]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


async def cleanup(sim: Sim, *, session: aiohttp.ClientSession, say: Say) -> None:
    """Delete our Nodes and Leases (with the admin token: a node may not delete its Node)."""
    admin = Client(sim.joined.api_server, sim.settings.admin_token, session=session,
                   timeout=sim.settings.request_timeout_s)
    gate = asyncio.Semaphore(sim.settings.concurrency)
    failed: list[str] = []

    async def one(name: str) -> None:
        async with gate:
            for kind, namespace in (("Node", ""), (LEASES, LEASE_NAMESPACE)):
                try:
                    await admin.delete(kind, name, namespace=namespace)
                except NotFound:
                    pass
                except ApiError as exc:
                    failed.append(f"{name}: {exc.message}")
                    return

    async with asyncio.TaskGroup() as tg:
        for name in sim.nodes:
            tg.create_task(one(name), name=f"sim-cleanup-{name}")
    say(f"deleted {len(sim.nodes) - len(failed)} nodes" + (f"; {len(failed)} failed, first: {failed[0]}"
                                                          if failed else ""))
