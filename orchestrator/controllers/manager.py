"""Run every controller on one ObjectAPI: the shared informers and the controllers, all
owned by one TaskGroup. In `orch server` the API is the in-process LocalAPI; out of
process, the HTTP Client (same code)."""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

import structlog

from orchestrator.aio.metrics import Metrics
from orchestrator.client.events import EventRecorder
from orchestrator.controllers.daemonset_controller import DaemonSetController
from orchestrator.controllers.deployment_controller import DeploymentController
from orchestrator.controllers.disruption_controller import DisruptionController
from orchestrator.controllers.gc_controller import GarbageCollector
from orchestrator.controllers.informing import SharedInformers
from orchestrator.controllers.job_controller import JobController
from orchestrator.controllers.namespace_controller import NamespaceController
from orchestrator.controllers.node_lifecycle_controller import NodeLifecycleController
from orchestrator.controllers.replicaset_controller import ReplicaSetController
from orchestrator.controllers.runner import run_controller
from orchestrator.controllers.settings import ControllerSettings
from orchestrator.model.api import ObjectAPI

log = structlog.get_logger(__name__)

CONTROLLERS: dict[str, Any] = {
    "replicaset": ReplicaSetController,
    "deployment": DeploymentController,
    "job": JobController,
    "daemonset": DaemonSetController,
    "garbage-collector": GarbageCollector,
    "node-lifecycle": NodeLifecycleController,
    "namespace": NamespaceController,
    "disruption": DisruptionController,
}
COMPONENT = "controller-manager"


async def run_controllers(api: ObjectAPI, *, metrics: Metrics | None = None,
                          settings: ControllerSettings | None = None, only: tuple[str, ...] = (),
                          started: asyncio.Event | None = None, host: str = "") -> NoReturn:
    """Run until cancelled. `only` limits which controllers run (names as in CONTROLLERS);
    `started` is set once every controller's informers have synced and its workers run."""
    settings = settings or ControllerSettings()
    metrics = metrics or Metrics()
    informers = SharedInformers(api)
    names = [n for n in CONTROLLERS if not only or n in only]
    unknown = set(only) - set(CONTROLLERS)
    if unknown:
        raise ValueError(f"unknown controllers: {', '.join(sorted(unknown))}; known: {', '.join(CONTROLLERS)}")
    controllers = [CONTROLLERS[n](api=api, informers=informers, settings=settings,
                                  recorder=EventRecorder(api, component=f"{n}-controller", host=host))
                   for n in names]
    waiting = len(controllers)

    def one_started() -> None:
        nonlocal waiting
        waiting -= 1
        if waiting == 0:
            log.info("controllers running", controllers=names)
            if started is not None:
                started.set()

    async with asyncio.TaskGroup() as tg:
        for c in controllers:
            tg.create_task(run_controller(c, metrics=metrics, started=one_started), name=f"controller-{c.name}")
        for inf in informers.all():  # every informer the controllers asked for, once each
            tg.create_task(inf.run(), name=f"informer-{inf.kind.kind}")
    raise AssertionError("unreachable: controllers never return")
