"""Runs the controllers inside `orch server`, in process, on the bus (`state.api`).

Settings come from `state.settings.controllers` when the server's Settings carry them,
else the defaults (`controllers.settings.ControllerSettings`)."""

from __future__ import annotations

from orchestrator.controllers.manager import run_controllers
from orchestrator.controllers.settings import ControllerSettings
from orchestrator.server.state import ServerState

__all__ = ["run", "run_controllers"]


async def run(state: ServerState) -> None:
    settings = getattr(state.settings, "controllers", None)
    if not isinstance(settings, ControllerSettings):
        settings = ControllerSettings()
    await run_controllers(state.api, metrics=state.metrics, settings=settings)
