"""The one interface every component reads and writes objects through.

Two implementations: `client.clients.Client` (HTTP, out of process: agents, `orch sim`,
the CLI) and `store.local_api.LocalAPI` (in process: the server's controllers and
scheduler, straight on the store and bus). Code written against `ObjectAPI` runs either way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any, NamedTuple, Protocol

from orchestrator.model.base import Object
from orchestrator.model.registry import Kind


class WatchEvent(NamedTuple):
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK
    object: Any


class ObjectList(Protocol):
    items: list[Any]
    resource_version: str


class ObjectAPI(Protocol):
    async def get(self, kind: Kind | str, name: str, *, namespace: str = "") -> Any: ...

    async def list(self, kind: Kind | str, *, namespace: str = "", label_selector: str = "",
                   field_selector: str = "", limit: int = 0, continue_: str = "",
                   resource_version: str = "") -> Any: ...

    async def create(self, obj: Object) -> Any: ...

    async def update(self, obj: Object) -> Any: ...

    async def update_status(self, obj: Object) -> Any: ...

    async def patch(self, kind: Kind | str, name: str, patch: Any, *, namespace: str = "",
                    patch_type: str = "merge", subresource: str = "") -> Any: ...

    async def delete(self, kind: Kind | str, name: str, *, namespace: str = "",
                     propagation_policy: str | None = None, grace_period_seconds: int | None = None) -> Any: ...

    async def bind(self, namespace: str, pod_name: str, node_name: str, *, expected_rv: str = "",
                   annotations: dict[str, str] | None = None) -> None:
        """Assign a pending pod to a node (409 if it is bound already, or if `expected_rv` is
        given and stale); `annotations` land on the pod in the same write (GPU devices)."""
        ...

    def watch(self, kind: Kind | str, *, namespace: str = "", label_selector: str = "", field_selector: str = "",
              resource_version: str = "", known: Iterable[Any] = ()) -> AsyncIterator[WatchEvent]: ...
