"""Helpers for pod sync tests: a joined node, PodSync running on it, waiting for a pod.

The API is the real in-process server of ``tests/server/conftest.py`` (real socket,
real SQLite); PodSync talks to it over HTTP with the node credential from POST /join,
as an agent does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.agent.podsync import PodSync, PodSyncSettings
from orchestrator.agent.podsync_backoff import BackOffPolicy
from orchestrator.client import Client
from orchestrator.client.events import EventRecorder
from orchestrator.runtime import ContainerRuntime
from tests.server.conftest import Api

T = TypeVar("T")


def fast_settings(**overrides: Any) -> PodSyncSettings:
    """Settings for tests: quick relists, back-off in tenths of a second."""
    settings = PodSyncSettings(relist_s=0.1, resync_s=5.0, call_timeout_s=10.0, orphan_grace_s=1.0,
                               restart_backoff=BackOffPolicy(base_s=0.4, cap_s=1.6, reset_s=60.0),
                               create_backoff=BackOffPolicy(base_s=0.4, cap_s=1.6, reset_s=60.0))
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


async def join(api: Api, name: str = "node-a", *, address: str = "127.0.0.1:10250") -> str:
    """Join a node; its credential."""
    status, body = await api.call("POST", "/join", token=api.join_token,
                                  json={"name": name, "address": address, "cpuMillis": 4000,
                                        "memoryBytes": 8 * 2**30, "runtime": "sim"})
    assert status in (200, 201), body
    return str(body["token"])


@contextlib.asynccontextmanager
async def podsync(api: Api, *, runtime: ContainerRuntime, node: str, token: str, data_dir: Path,
                  settings: PodSyncSettings | None = None) -> AsyncIterator[PodSync]:
    """PodSync running on ``runtime`` as node ``node``, stopped (not its containers) on exit."""
    client = Client(api.url, token, timeout=10.0)
    sync = PodSync(api=client, runtime=runtime, node_name=node, data_dir=data_dir,
                   recorder=EventRecorder(client, component="orch-agent", host=node),
                   proxy_token_digest="", settings=settings or fast_settings())
    task = asyncio.create_task(sync.run(), name="test-podsync")
    try:
        async with asyncio.timeout(10):
            await sync.ready.wait()
        yield sync
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()


def pod_manifest(name: str, *, node: str, command: list[str] | None = None, restart: str = "Always",
                 labels: dict[str, str] | None = None, image: str = "orch-test/busybox:latest",
                 grace: int = 5, **container: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": "main", "image": image, "imagePullPolicy": "IfNotPresent", **container}
    if command is not None:
        c["command"] = command
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels or {}},
            "spec": {"nodeName": node, "restartPolicy": restart, "terminationGracePeriodSeconds": grace,
                     "containers": [c]}}


async def create_pod(api: Api, manifest: dict[str, Any]) -> dict[str, Any]:
    status, body = await api.call("POST", "/api/v1/namespaces/default/pods", json=manifest)
    assert status == 201, body
    return dict(body)


async def get_pod(api: Api, name: str) -> dict[str, Any] | None:
    status, body = await api.call("GET", f"/api/v1/namespaces/default/pods/{name}")
    if status == 404:
        return None
    assert status == 200, body
    return dict(body)


async def eventually(check: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0,
                     interval: float = 0.05, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` with the last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = await check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}; last: {last!r}")
        await asyncio.sleep(interval)


async def pod_where(api: Api, name: str, predicate: Callable[[dict[str, Any]], bool], *,
                    timeout: float = 10.0, what: str = "") -> dict[str, Any]:
    latest: dict[str, Any] = {}

    async def check() -> dict[str, Any] | None:
        pod = await get_pod(api, name)
        if pod is not None:
            latest.clear()
            latest.update(pod)
        return pod if pod is not None and predicate(pod) else None

    try:
        return await eventually(check, timeout=timeout, what=what or f"pod {name}")
    except AssertionError:
        raise AssertionError(f"pod {name}: timed out waiting for {what}; status: {latest.get('status')}") from None


def state_of(pod: dict[str, Any], container: int = 0) -> dict[str, Any]:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    return dict(statuses[container]) if len(statuses) > container else {}


def phase(pod: dict[str, Any]) -> str:
    return str(pod.get("status", {}).get("phase", ""))


def condition(pod: dict[str, Any], type_: str) -> str:
    for c in pod.get("status", {}).get("conditions") or []:
        if c["type"] == type_:
            return str(c["status"])
    return ""


async def events_for(api: Api, name: str) -> list[dict[str, Any]]:
    status, body = await api.call("GET", "/api/v1/namespaces/default/events")
    assert status == 200, body
    return [e for e in body["items"] if e["involvedObject"]["name"] == name]


async def event_where(api: Api, name: str, predicate: Callable[[dict[str, Any]], bool], *,
                      timeout: float = 5.0, what: str = "") -> dict[str, Any]:
    """The first Event about pod ``name`` that ``predicate`` accepts (events are written off the hot path)."""
    async def check() -> dict[str, Any] | None:
        return next((e for e in await events_for(api, name) if predicate(e)), None)

    return await eventually(check, timeout=timeout, what=what or f"an event about {name}")
