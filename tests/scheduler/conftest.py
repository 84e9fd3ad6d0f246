"""The in-process server (tests/server's `api` fixture) with the scheduler running on `state.api`,
and helpers that talk to it over HTTP the way users and agents do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from orchestrator.model.gpus import GPU_RESOURCE, GPU_TAINT_KEY
from orchestrator.scheduler import SchedulerSettings
from orchestrator.server import scheduler_component
from tests.server.conftest import Api, api  # noqa: F401  (the fixture, re-exported for these tests)


@pytest.fixture
async def cluster(api: Api) -> AsyncIterator[Api]:  # noqa: F811
    settings = SchedulerSettings(initial_backoff_s=0.05, max_backoff_s=0.5)
    task = asyncio.create_task(scheduler_component.run(api.state, settings=settings), name="test-scheduler")
    yield api
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def node_doc(name: str, *, cpu: str = "4", memory: str = "16Gi", gpus: int = 0, pods: str = "110",
             labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A Node as an agent would register it; GPU nodes carry the nvidia.com/gpu taint and devices."""
    alloc: dict[str, Any] = {"cpu": cpu, "memory": memory, "pods": pods}
    status: dict[str, Any] = {"capacity": alloc, "allocatable": alloc,
                              "conditions": [{"type": "Ready", "status": "True"}]}
    spec: dict[str, Any] = {}
    if gpus:
        alloc[GPU_RESOURCE] = str(gpus)
        status["gpus"] = [{"index": i, "uuid": f"GPU-{name}-{i:02d}", "model": "NVIDIA H100 80GB HBM3",
                           "memoryMiB": 81559} for i in range(gpus)]
        spec["taints"] = [{"key": GPU_TAINT_KEY, "value": "present", "effect": "NoSchedule"}]
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels or {}},
            "spec": spec, "status": status}


def pod_doc(name: str, *, cpu: str = "100m", memory: str = "64Mi", gpus: int = 0,
            labels: dict[str, str] | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {"requests": {"cpu": cpu, "memory": memory}}
    if gpus:
        resources["limits"] = {GPU_RESOURCE: gpus}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"],
                                     "resources": resources}]}}


async def create(api: Api, path: str, doc: dict[str, Any]) -> dict[str, Any]:
    status, body = await api.call("POST", path, json=doc)
    assert status == 201, body
    return body  # type: ignore[no-any-return]


async def add_node(api: Api, name: str, **kwargs: Any) -> dict[str, Any]:
    return await create(api, "/api/v1/nodes", node_doc(name, **kwargs))


async def add_pod(api: Api, name: str, **kwargs: Any) -> dict[str, Any]:
    return await create(api, "/api/v1/namespaces/default/pods", pod_doc(name, **kwargs))


async def get_pod(api: Api, name: str) -> dict[str, Any]:
    status, body = await api.call("GET", f"/api/v1/namespaces/default/pods/{name}")
    assert status == 200, body
    return body  # type: ignore[no-any-return]


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 10.0, what: str = "") -> Any:
    """Poll until `check()` answers something truthy; that answer."""
    deadline = time.monotonic() + timeout
    while True:
        got = await check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what or check}")
        await asyncio.sleep(0.05)


async def events_for(api: Api, name: str) -> list[dict[str, Any]]:
    status, body = await api.call("GET", f"/api/v1/namespaces/default/events?fieldSelector=involvedObject.name={name}")
    assert status == 200, body
    return body["items"]  # type: ignore[no-any-return]
