"""Reconcile tests: the real in-process server (real socket, real SQLite) with every
controller running on its LocalAPI, and a fake kubelet playing the nodes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from orchestrator.client import Client
from orchestrator.controllers.manager import run_controllers
from orchestrator.controllers.settings import ControllerSettings
from orchestrator.logs import configure
from orchestrator.server import bootstrap
from orchestrator.server.app import build_app
from orchestrator.server.main import build_state
from orchestrator.server.state import ServerState
from orchestrator.settings import Settings
from tests.controllers.kubelet import FakeKubelet

configure(level="warning")

FAST = ControllerSettings(workers=2, resync_s=2.0, node_grace_period_s=1.0, node_monitor_period_s=0.2,
                          default_toleration_s=1.0, observe_timeout_s=2.0, job_backoff_s=0.2, job_backoff_max_s=0.5)


@dataclass
class Cluster:
    state: ServerState
    api: Any            # the LocalAPI the controllers use
    client: Client      # HTTP, as the CLI talks
    kubelet: FakeKubelet
    url: str
    token: str


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    state = await build_state(Settings(data_dir=tmp_path))
    writer = asyncio.create_task(state.store.run(), name="store-writer")
    await bootstrap.ensure_namespaces(state.objects)
    server = TestServer(build_app(state), host="127.0.0.1")
    await server.start_server()
    token = (tmp_path / "admin-token").read_text().strip()
    url = str(server.make_url("")).rstrip("/")
    kubelet = FakeKubelet(state.api)
    started = asyncio.Event()
    controllers = asyncio.create_task(run_controllers(state.api, settings=FAST, started=started), name="controllers")
    kubelet_task = asyncio.create_task(kubelet.run(), name="fake-kubelet")
    session = aiohttp.ClientSession()
    try:
        await asyncio.wait_for(started.wait(), 10)
        yield Cluster(state, state.api, Client(url, token, session=session), kubelet, url, token)
    finally:
        for task in (kubelet_task, controllers):
            task.cancel()
        await asyncio.gather(kubelet_task, controllers, return_exceptions=True)
        await session.close()
        await server.close()
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        await state.store.close()


@pytest.fixture
async def local_api(tmp_path: Path) -> AsyncIterator[Any]:
    """Just the store and the in-process LocalAPI (no HTTP, no controllers)."""
    state = await build_state(Settings(data_dir=tmp_path))
    writer = asyncio.create_task(state.store.run(), name="store-writer")
    await bootstrap.ensure_namespaces(state.objects)
    try:
        yield state.api
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        await state.store.close()


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 15.0, what: str = "") -> Any:
    """Poll `check` until it returns something truthy (returned) or fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out after {timeout}s waiting for {what or check}; last: {last!r}")


class PodWatch:
    """Every state the pods go through, in revision order (a watch on the bus), and a
    check run after each event."""

    def __init__(self, api: Any, check: Callable[[dict[str, Any]], None], *, label_selector: str = "") -> None:
        self.api, self.check, self.label_selector = api, check, label_selector
        self.pods: dict[str, Any] = {}
        self.events = 0
        self.failure: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        page = await self.api.list("Pod", label_selector=self.label_selector)
        for p in page.items:
            self.pods[f"{p.metadata.namespace}/{p.metadata.name}"] = p
        stream = self.api.watch("Pod", label_selector=self.label_selector, resource_version=page.resource_version)
        try:
            async for ev in stream:
                key = f"{ev.object.metadata.namespace}/{ev.object.metadata.name}"
                if ev.type == "DELETED":
                    self.pods.pop(key, None)
                else:
                    self.pods[key] = ev.object
                self.events += 1
                if self.failure is not None:
                    continue
                try:
                    self.check(self.pods)
                except AssertionError as exc:
                    self.failure = self.failure or exc
        finally:
            await stream.aclose()

    async def __aenter__(self) -> PodWatch:
        self._task = asyncio.create_task(self._run(), name="pod-watch")
        await asyncio.sleep(0.05)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        if self.failure is not None:
            raise self.failure
