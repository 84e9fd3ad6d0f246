"""Runs the scheduler inside `orch server`, on the in-process API (`state.api`).

Bindings go through `LocalAPI.bind` straight to the store (CAS on the pod's
resourceVersion, GPU devices recorded in the same write). The server's TaskGroup cancels
this on shutdown.
"""

from __future__ import annotations

from typing import NoReturn

from orchestrator.client.events import EventRecorder
from orchestrator.scheduler import SchedulerSettings, run_scheduler
from orchestrator.server.state import ServerState

name = "scheduler"


async def run(state: ServerState, *, settings: SchedulerSettings | None = None) -> NoReturn:
    recorder = EventRecorder(state.api, component="default-scheduler")
    await run_scheduler(state.api, metrics=state.metrics, recorder=recorder, settings=settings)
