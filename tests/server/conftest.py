"""An in-process orch API server on a real loopback socket and a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from orchestrator.server.app import build_app
from orchestrator.server.main import build_state, prepare
from orchestrator.server.state import ServerState
from orchestrator.logs import configure
from orchestrator.settings import Settings

configure(level="info")


@dataclass
class Api:
    http: aiohttp.ClientSession
    state: ServerState
    url: str
    token: str
    join_token: str

    async def call(self, method: str, path: str, *, json: Any = None, data: bytes | str | None = None,
                   headers: dict[str, str] | None = None, token: str | None = None) -> tuple[int, Any]:
        hdrs = {"Authorization": f"Bearer {self.token if token is None else token}"} if token != "" else {}
        hdrs.update(headers or {})
        async with self.http.request(method, self.url + path, json=json, data=data, headers=hdrs) as resp:
            text = await resp.text()
            try:
                body = await resp.json(content_type=None) if text else None
            except ValueError:
                body = text
            return resp.status, body


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    settings = Settings(data_dir=tmp_path)
    settings.api.max_body_bytes = 256 * 1024
    state = await build_state(settings)
    writer = asyncio.create_task(state.store.run())
    await prepare(state)
    server = TestServer(build_app(state), host="127.0.0.1")
    await server.start_server()
    token = (tmp_path / "admin-token").read_text().strip()
    join = (tmp_path / "join-token").read_text().strip()
    async with aiohttp.ClientSession() as http:
        yield Api(http, state, str(server.make_url("")).rstrip("/"), token, join)
    await server.close()
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    await state.store.close()


def pod(name: str, *, labels: dict[str, str] | None = None, image: str = "busybox") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}},
            "spec": {"containers": [{"name": "main", "image": image, "command": ["sleep", "3600"]}]}}
