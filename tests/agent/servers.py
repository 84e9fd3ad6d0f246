"""An in-process API server (real socket, real SQLite store) for agent-side tests.

Import the `server` fixture into a test module: `from tests.agent.servers import Server, server`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orchestrator.server.app import build_app
from orchestrator.server.main import build_state, prepare
from orchestrator.server.membership_component import MEMBERSHIP, ServerMembership
from orchestrator.settings import Settings
from tests.conftest import free_port

LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/"


@dataclass
class Server:
    http: aiohttp.ClientSession
    app: web.Application
    url: str
    admin: str
    join_token: str

    @property
    def membership(self) -> ServerMembership:
        return self.app[MEMBERSHIP]

    async def call(self, method: str, path: str, *, token: str, json: Any = None) -> tuple[int, Any]:
        async with self.http.request(method, self.url + path, json=json,
                                     headers={"Authorization": f"Bearer {token}"}) as resp:
            return resp.status, await resp.json(content_type=None)

    async def join(self, name: str) -> str:
        status, body = await self.call("POST", "/join", token=self.join_token,
                                       json={"name": name, "address": "127.0.0.1:1", "cpuMillis": 1000})
        assert status in (200, 201), body
        return str(body["token"])


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    settings = Settings(data_dir=tmp_path)
    settings.api.listen_port = free_port()  # known before the app is built: the server's own member address
    state = await build_state(settings)
    writer = asyncio.create_task(state.store.run())
    await prepare(state)
    app = build_app(state)
    test_server = TestServer(app, host="127.0.0.1", port=settings.api.listen_port)
    await test_server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Server(http, app, str(test_server.make_url("")).rstrip("/"),
                     (tmp_path / "admin-token").read_text().strip(), (tmp_path / "join-token").read_text().strip())
    await test_server.close()
    await state.store.stop_writer()
    await asyncio.gather(writer, return_exceptions=True)
    await state.store.close()
