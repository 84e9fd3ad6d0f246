"""The binding write: put one pod on one node, with its GPU devices, as one atomic write.

A binding carries the pod's resourceVersion (compare-and-swap: 409 Conflict when the
pod changed since the planner saw it, or is already bound) and the annotation that
records the GPU device UUIDs, so node and devices land in the same revision and no agent
ever sees a GPU pod bound without its devices.

`ObjectAPI.bind(namespace, pod_name, node_name)` has no room for either yet, so the
scheduler writes through a `Binder`:
- `HttpBinder`: POST `pods/NAME/binding` with a core/v1 Binding through the HTTP client;
- the server passes its own (straight to the store's bind) when it runs the scheduler;
- `ApiBinder`: `api.bind(..., expected_rv=, annotations=)` for an ObjectAPI whose bind
  takes them (refused at construction when it does not, rather than binding without CAS).
"""

from __future__ import annotations

import inspect
from typing import Any, Protocol

from orchestrator.client.clients import Client
from orchestrator.model.codec import encode
from orchestrator.model.registry import REGISTRY


class Binder(Protocol):
    async def __call__(self, *, namespace: str, name: str, node_name: str, resource_version: str,
                       annotations: dict[str, str]) -> None: ...


def binding_body(*, namespace: str, name: str, node_name: str, resource_version: str,
                 annotations: dict[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "resourceVersion": resource_version}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Binding", "metadata": meta,
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}


class HttpBinder:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def __call__(self, *, namespace: str, name: str, node_name: str, resource_version: str,
                       annotations: dict[str, str]) -> None:
        path = REGISTRY.by_kind("Pod").api_path(namespace, name) + "/binding"
        body = binding_body(namespace=namespace, name=name, node_name=node_name,
                            resource_version=resource_version, annotations=annotations)
        await self.client.request("POST", path, body=encode(body))


class ApiBinder:
    def __init__(self, api: Any) -> None:
        params = inspect.signature(api.bind).parameters
        if not {"expected_rv", "annotations"} <= params.keys():
            raise TypeError(f"{type(api).__name__}.bind takes no expected_rv/annotations: pass the scheduler a "
                            "binder (HttpBinder for the HTTP client, the store's bind in the server)")
        self.api = api

    async def __call__(self, *, namespace: str, name: str, node_name: str, resource_version: str,
                       annotations: dict[str, str]) -> None:
        await self.api.bind(namespace, name, node_name, expected_rv=resource_version, annotations=annotations)


def binder_for(api: Any) -> Binder:
    """The binder for an ObjectAPI: the HTTP route for the client, else the API's own bind."""
    return HttpBinder(api) if isinstance(api, Client) else ApiBinder(api)
