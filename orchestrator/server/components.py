"""The long-lived parts `orch server` runs beside the API, each owning its own tasks.

Each component is a module with `name` and `async def run(state) -> NoReturn`; the
server's root TaskGroup starts them after the store is open and the default namespaces
exist, and cancels them on shutdown. A component that should not run in this
configuration (say, the embedded agent under --no-agent) returns right away.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from orchestrator.server import controllers_component, credentials, embedded_agent, scheduler_component
from orchestrator.server.state import ServerState
from orchestrator.store import snapshots


async def take_snapshots(state: ServerState) -> None:
    """Automatic store snapshots into <data-dir>/snapshots (off when the interval is 0)."""
    store = state.settings.store
    if store.snapshot_interval_s <= 0:
        return
    await snapshots.take_periodically(store.path, state.settings.data_dir / "snapshots",
                                      interval_s=store.snapshot_interval_s, keep=store.snapshot_retain)


@dataclass(frozen=True, slots=True)
class Component:
    name: str
    run: Callable[[ServerState], Awaitable[None]]


COMPONENTS: tuple[Component, ...] = (
    Component("token-sync", credentials.sync_tokens),
    Component("controllers", controllers_component.run),
    Component("scheduler", scheduler_component.run),
    Component("embedded-agent", embedded_agent.run),
    Component("snapshots", take_snapshots),
)
