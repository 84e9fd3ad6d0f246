"""Runs the controllers inside `orch server`, in process, on the bus (`state.api`).

Settings come from `state.settings.controllers` when the server's Settings carry them,
else from the defaults and their ORCH_* environment twins (`controllers.settings.from_env`)."""

from __future__ import annotations

from orchestrator.controllers.manager import run_controllers
from orchestrator.controllers.settings import ControllerSettings, from_env
from orchestrator.server.state import ServerState

__all__ = ["run", "run_controllers"]


async def run(state: ServerState) -> None:
    settings = getattr(state.settings, "controllers", None)
    if not isinstance(settings, ControllerSettings):
        settings = from_env()
    # One grace period for the whole server: joining's live-name check uses the same one.
    settings.node_grace_period_s = state.settings.nodes.grace_s
    await run_controllers(state.api, metrics=state.metrics, settings=settings)
