"""Runs the controllers inside `orch server` (in process, on the bus). Placeholder until built."""

from __future__ import annotations

from orchestrator.server.state import ServerState


async def run(state: ServerState) -> None:
    return None
