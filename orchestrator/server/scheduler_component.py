"""Runs the scheduler inside `orch server`, on the in-process API (`state.api`).

Bindings go straight to the store's `Objects.bind` (CAS on the pod's resourceVersion,
GPU devices recorded in the same write): `ObjectAPI.bind` carries neither yet. The
server's TaskGroup cancels this on shutdown.
"""

from __future__ import annotations

from typing import NoReturn

from orchestrator.client.events import EventRecorder
from orchestrator.scheduler import SchedulerSettings, run_scheduler
from orchestrator.server.state import ServerState
from orchestrator.store.objects import Objects

name = "scheduler"


class ObjectsBinder:
    def __init__(self, objects: Objects) -> None:
        self.objects = objects

    async def __call__(self, *, namespace: str, name: str, node_name: str, resource_version: str,
                       annotations: dict[str, str]) -> None:
        await self.objects.bind(namespace=namespace, name=name, node_name=node_name, expected_rv=resource_version,
                                annotations=annotations or None)


async def run(state: ServerState, *, settings: SchedulerSettings | None = None) -> NoReturn:
    recorder = EventRecorder(state.api, component="default-scheduler")
    await run_scheduler(state.api, metrics=state.metrics, recorder=recorder, settings=settings,
                        binder=ObjectsBinder(state.objects))
