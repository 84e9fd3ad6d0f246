"""Probe workers: one task per (running container attempt, probe), the kubelet's way.

- startup: starts False; until it succeeds, liveness and readiness wait.  Reaching
  ``failureThreshold`` marks the container for a restart, like liveness.
- readiness: starts False (or what the pod's status already said for this very
  container, so an agent restart does not flap a ready pod); flips after
  ``successThreshold`` successes / ``failureThreshold`` failures in a row.
- liveness: starts True; ``failureThreshold`` failures in a row mark the container
  for a restart, and the worker stops until a new attempt replaces it.

Workers only record results: a change calls ``notify(uid)`` (pod sync re-syncs that
pod, coalesced by its work queue), so a probe tick never writes status by itself.
Each failed attempt is an ``Unhealthy`` event.  ``run()`` owns every worker task and
the HTTP session probes share; cancelling it stops them all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, NoReturn

import aiohttp
import structlog

from orchestrator.agent.podsync_backoff import wall_time
from orchestrator.agent.podsync_events import EventSink
from orchestrator.agent.probes import ProbeResult, run_probe
from orchestrator.model.containers import Container, ContainerStatus, Probe
from orchestrator.model.pods import Pod
from orchestrator.runtime import ContainerRuntime
from orchestrator.runtime.base import ContainerInfo

log = structlog.get_logger(__name__)

Kind = Literal["startup", "readiness", "liveness"]
_TITLE = {"startup": "Startup", "readiness": "Readiness", "liveness": "Liveness"}


@dataclass(slots=True)
class _Result:
    value: bool
    successes: int = 0
    failures: int = 0


@dataclass(slots=True)
class _Target:
    uid: str
    pod: Pod
    container: Container
    info: ContainerInfo
    results: dict[Kind, _Result] = field(default_factory=dict)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    failed: str | None = None  # why liveness/startup wants a restart

    def cancel(self) -> None:
        for task in self.tasks:
            task.cancel()


class Prober:
    def __init__(self, *, runtime: ContainerRuntime, notify: Callable[[str], None], events: EventSink,
                 clock: Callable[[], float] = time.time) -> None:
        self._runtime = runtime
        self._notify = notify
        self._events = events
        self._clock = clock
        self._targets: dict[tuple[str, str], _Target] = {}
        self._group: asyncio.TaskGroup | None = None
        self._session: aiohttp.ClientSession | None = None

    async def run(self) -> NoReturn:
        connector = aiohttp.TCPConnector(force_close=True, limit=64)  # probes never reuse connections
        async with aiohttp.ClientSession(connector=connector) as session, asyncio.TaskGroup() as group:
            self._session, self._group = session, group
            for target in self._targets.values():  # synced before this ran
                if not target.tasks:
                    self._spawn(target)
            try:
                await asyncio.Future()  # until cancelled
            finally:
                for target in self._targets.values():
                    target.cancel()
                self._group = None
        raise AssertionError("unreachable")

    # --- what pod sync calls --------------------------------------------------------------

    def sync(self, *, uid: str, pod: Pod, container: Container, info: ContainerInfo,
             seed: ContainerStatus | None = None) -> None:
        """Probe this running attempt (idempotent); stops probing the attempt it replaced."""
        key = (uid, container.name)
        old = self._targets.get(key)
        if old is not None and old.info.id == info.id:
            old.pod = pod
            return
        if old is not None:
            old.cancel()
        target = _Target(uid=uid, pod=pod, container=container, info=info)
        probes: dict[Kind, Probe | None] = {"startup": container.startup_probe,
                                            "readiness": container.readiness_probe,
                                            "liveness": container.liveness_probe}  # fmt: skip
        same = seed is not None and seed.container_id.endswith(info.id)
        target.results["startup"] = _Result(probes["startup"] is None or (same and bool(seed and seed.started)))
        target.results["readiness"] = _Result(probes["readiness"] is None or (same and bool(seed and seed.ready)))
        target.results["liveness"] = _Result(True)
        self._targets[key] = target
        if self._group is not None:  # else run() starts them
            self._spawn(target)

    def _spawn(self, target: _Target) -> None:
        assert self._group is not None
        c = target.container
        probes: list[tuple[Kind, Probe | None]] = [("startup", c.startup_probe), ("readiness", c.readiness_probe),
                                                   ("liveness", c.liveness_probe)]
        for kind, probe in probes:
            if probe is not None:
                name = f"probe-{kind}-{target.pod.metadata.name}-{c.name}"
                target.tasks.append(self._group.create_task(self._work(target, kind, probe), name=name))

    def stop(self, uid: str, name: str) -> None:
        target = self._targets.pop((uid, name), None)
        if target is not None:
            target.cancel()

    def forget(self, uid: str) -> None:
        for key in [k for k in self._targets if k[0] == uid]:
            self.stop(*key)

    def _current(self, uid: str, name: str, cid: str) -> _Target | None:
        target = self._targets.get((uid, name))
        return target if target is not None and target.info.id == cid else None

    def started(self, uid: str, name: str, cid: str) -> bool:
        target = self._current(uid, name, cid)
        return target is None or target.results["startup"].value

    def ready(self, uid: str, name: str, cid: str) -> bool:
        target = self._current(uid, name, cid)
        if target is None:
            return False
        return target.results["startup"].value and target.results["readiness"].value

    def unhealthy(self, uid: str, name: str, cid: str) -> str | None:
        target = self._current(uid, name, cid)
        return target.failed if target is not None else None

    def __len__(self) -> int:
        return len(self._targets)

    # --- the workers ----------------------------------------------------------------------

    async def _work(self, target: _Target, kind: Kind, probe: Probe) -> None:
        period = float(probe.period_seconds or 10)
        started = wall_time(target.info.started_at) or self._clock()
        delay = started + float(probe.initial_delay_seconds or 0) - self._clock()
        if delay > 0:
            await asyncio.sleep(delay)
        while target.failed is None:
            if kind == "startup" and target.results["startup"].value:
                return  # done for the life of this attempt
            if kind == "startup" or target.results["startup"].value:
                try:
                    result = await self._probe(target, probe)
                except Exception as exc:  # noqa: BLE001 - a bug in one probe must not stop the node
                    log.exception("probe crashed", pod=target.pod.metadata.name, kind=kind)
                    result = ProbeResult(False, f"probe error: {exc}")
                if self._targets.get((target.uid, target.container.name)) is not target:
                    return  # replaced while it ran
                if self._record(target, kind, probe, result):
                    self._notify(target.uid)
            await asyncio.sleep(period)

    async def _probe(self, target: _Target, probe: Probe) -> ProbeResult:
        assert self._session is not None
        return await run_probe(probe, container=target.container, info=target.info, runtime=self._runtime,
                               session=self._session)

    def _record(self, target: _Target, kind: Kind, probe: Probe, result: ProbeResult) -> bool:
        """Count the attempt; True when what pod sync sees changed."""
        r = target.results[kind]
        if result.ok:
            r.successes, r.failures = r.successes + 1, 0
            need = 1 if kind != "readiness" else max(1, probe.success_threshold or 1)
            if not r.value and r.successes >= need:
                r.value = True
                return True
            return False
        r.failures, r.successes = r.failures + 1, 0
        title = _TITLE[kind]
        self._events.emit(target.pod, reason="Unhealthy", type_="Warning",
                          message=f"{title} probe failed: {result.message}")
        if r.failures < max(1, probe.failure_threshold or 3):
            return False
        if kind == "readiness":
            changed, r.value = r.value, False
            return changed
        r.value = False
        target.failed = f"Container {target.container.name} failed {kind} probe, will be restarted"
        return True
