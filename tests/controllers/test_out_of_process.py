"""The same controllers, out of process: on the HTTP client instead of the LocalAPI."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from orchestrator.client import Client
from orchestrator.controllers.manager import run_controllers
from orchestrator.controllers.pods import is_ready
from orchestrator.server import bootstrap
from orchestrator.server.app import build_app
from orchestrator.server.main import build_state
from orchestrator.settings import Settings
from tests.controllers.conftest import FAST, eventually
from tests.controllers.kubelet import FakeKubelet
from tests.controllers.manifests import deployment


async def test_controllers_run_over_http(tmp_path: Path) -> None:
    state = await build_state(Settings(data_dir=tmp_path))
    writer = asyncio.create_task(state.store.run(), name="store-writer")
    await bootstrap.ensure_namespaces(state.objects)
    server = TestServer(build_app(state), host="127.0.0.1")
    await server.start_server()
    token = (tmp_path / "admin-token").read_text().strip()
    kubelet = FakeKubelet(state.api)
    async with aiohttp.ClientSession() as session:
        client = Client(str(server.make_url("")).rstrip("/"), token, session=session)
        started = asyncio.Event()
        controllers = asyncio.create_task(run_controllers(client, settings=FAST, started=started), name="controllers")
        kubelet_task = asyncio.create_task(kubelet.run(), name="fake-kubelet")
        try:
            await asyncio.wait_for(started.wait(), 10)
            await kubelet.add_node("n1")
            await client.create(deployment("web", replicas=3))

            async def available() -> bool:
                d = await client.get("deployments", "web", namespace="default")
                pods = (await client.list("pods", namespace="default", label_selector="app=web")).items
                return d.status.available_replicas == 3 and sum(map(is_ready, pods)) == 3

            await eventually(available, what="3 available through the HTTP client")
            await client.delete("deployments", "web", namespace="default", propagation_policy="Foreground")

            async def gone() -> bool:
                return not (await client.list("pods", namespace="default", label_selector="app=web")).items

            await eventually(gone, what="the pods collected")
        finally:
            for task in (kubelet_task, controllers):
                task.cancel()
            await asyncio.gather(kubelet_task, controllers, return_exceptions=True)
    await server.close()
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    await state.store.close()
