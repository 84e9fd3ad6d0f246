"""Scheduling events: one FailedScheduling per pod per distinct message, bounded backlog."""

from __future__ import annotations

import asyncio
from typing import Any

from orchestrator.aio.metrics import Metrics
from orchestrator.scheduler.eventing import EventSink
from tests.scheduler.factories import info


class Recorder:
    def __init__(self) -> None:
        self.records: list[tuple[str, str, str, str]] = []

    async def record(self, obj: Any, *, reason: str, message: str, type_: str = "Normal") -> None:
        self.records.append((obj.metadata.name, reason, message, type_))


async def test_failed_scheduling_once_per_distinct_message_then_scheduled() -> None:
    rec = Recorder()
    sink = EventSink(rec, metrics=Metrics(), workers=1)  # type: ignore[arg-type]
    pod = info(name="nb")
    for message in ("0/1 nodes are available: 1 Insufficient cpu.",) * 3 + ("no nodes available to schedule pods",):
        sink.failed(pod, message)
    sink.scheduled(pod, "n-1")
    sink.failed(pod, "no nodes available to schedule pods")  # after a success, a new failure is news again
    task = asyncio.create_task(sink.run())
    await asyncio.sleep(0.05)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert rec.records == [
        ("nb", "FailedScheduling", "0/1 nodes are available: 1 Insufficient cpu.", "Warning"),
        ("nb", "FailedScheduling", "no nodes available to schedule pods", "Warning"),
        ("nb", "Scheduled", "Successfully assigned default/nb to n-1", "Normal"),
        ("nb", "FailedScheduling", "no nodes available to schedule pods", "Warning"),
    ]


async def test_a_full_backlog_drops_and_counts() -> None:
    metrics = Metrics()
    sink = EventSink(Recorder(), metrics=metrics, backlog=2)  # type: ignore[arg-type]
    for i in range(5):
        sink.scheduled(info(name=f"p-{i}"), "n")
    assert sink._todo.qsize() == 2
    assert "orch_scheduler_events_dropped_total 3" in metrics.render()
