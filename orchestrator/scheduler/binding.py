"""The binding write: put one pod on one node, with its GPU devices, as one atomic write.

A binding carries the pod's resourceVersion (compare-and-swap: 409 Conflict when the
pod changed since the planner saw it, or is already bound) and the annotation that
records the GPU device UUIDs, so node and devices land in the same revision and no agent
ever sees a GPU pod bound without its devices.

Both go through `ObjectAPI.bind(..., expected_rv=, annotations=)`: over HTTP that is a
core/v1 Binding POSTed to pods/NAME/binding; in the server, LocalAPI straight to the store.
Tests and benchmarks may pass their own `Binder`.
"""

from __future__ import annotations

from typing import Any, Protocol

from orchestrator.model.api import ObjectAPI


class Binder(Protocol):
    async def __call__(self, *, namespace: str, name: str, node_name: str, resource_version: str,
                       annotations: dict[str, str]) -> None: ...


class ApiBinder:
    """Binds through `ObjectAPI.bind` with CAS and the GPU annotation: the HTTP client out of
    process, LocalAPI (straight to the store) inside the server."""

    def __init__(self, api: ObjectAPI) -> None:
        self.api = api

    async def __call__(self, *, namespace: str, name: str, node_name: str, resource_version: str,
                       annotations: dict[str, str]) -> None:
        await self.api.bind(namespace, name, node_name, expected_rv=resource_version, annotations=annotations)


def binder_for(api: ObjectAPI) -> Binder:
    return ApiBinder(api)


def binding_body(*, namespace: str, name: str, node_name: str, resource_version: str,
                 annotations: dict[str, str]) -> dict[str, Any]:
    """A core/v1 Binding (for tests that race raw HTTP binds)."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "resourceVersion": resource_version}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Binding", "metadata": meta,
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}
