"""Scheduling events (`Scheduled`, `FailedScheduling`), recorded off the hot path.

The planner and the applier only `post`; a few workers write the Events through the
EventRecorder. The backlog is bounded: when it is full an event is dropped and counted
(an event is information, never worth slowing a binding). A pod gets one
FailedScheduling event per distinct message: repeats of the same reason are not posted.
"""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

import structlog

from orchestrator.aio.metrics import Metrics
from orchestrator.client.events import EventRecorder
from orchestrator.scheduler.pods import PodInfo

log = structlog.get_logger(__name__)


class EventSink:
    def __init__(self, recorder: EventRecorder | None, *, metrics: Metrics, backlog: int = 10_000,
                 workers: int = 4) -> None:
        self.recorder = recorder
        self.workers = workers
        self._todo: asyncio.Queue[tuple[Any, str, str, str]] = asyncio.Queue(maxsize=backlog)
        self._reported: dict[str, str] = {}  # pod key -> last FailedScheduling message posted
        self._dropped = metrics.counter("orch_scheduler_events_dropped_total",
                                        "Scheduling events dropped because the backlog was full")
        metrics.gauge("orch_scheduler_events_backlog", "Scheduling events waiting to be written", self._todo.qsize)

    def scheduled(self, pod: PodInfo, node: str) -> None:
        self._reported.pop(pod.key, None)
        self._post(pod.pod, "Scheduled", f"Successfully assigned {pod.key} to {node}", "Normal")

    def failed(self, pod: PodInfo, message: str) -> None:
        if self._reported.get(pod.key) == message:
            return
        self._reported[pod.key] = message
        self._post(pod.pod, "FailedScheduling", message, "Warning")

    def forget(self, key: str) -> None:
        self._reported.pop(key, None)

    def _post(self, obj: Any, reason: str, message: str, type_: str) -> None:
        if self.recorder is None:
            return
        try:
            self._todo.put_nowait((obj, reason, message, type_))
        except asyncio.QueueFull:
            self._dropped.inc()

    async def run(self) -> NoReturn:
        async with asyncio.TaskGroup() as tg:
            for i in range(self.workers):
                tg.create_task(self._work(), name=f"scheduler-events-{i}")
        raise AssertionError("unreachable")  # the workers never return

    async def _work(self) -> NoReturn:
        assert self.recorder is not None
        while True:
            obj, reason, message, type_ = await self._todo.get()
            try:
                await self.recorder.record(obj, reason=reason, message=message, type_=type_)
            except Exception as exc:  # an event is information: never let it stop the scheduler
                log.warning("scheduling event not recorded", reason=reason, pod=obj.metadata.name, error=repr(exc))
