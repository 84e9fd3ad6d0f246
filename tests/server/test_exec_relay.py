"""Interactive pods/NAME/exec through the real server app and agent listener to Docker.

The websocket is what kubectl opens (v5 frames); the pod's container is a real busybox.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from orchestrator.client import Client
from orchestrator.model.exec_protocol import STDIN, V5, close_frame, frame
from tests.agent.podsync_support import create_pod, join, pod_manifest
from tests.agent.test_exec_routes import TOKEN, serving
from tests.agent.test_exec_sessions import docker_web
from tests.conftest import require_docker
from tests.server.conftest import Api

pytestmark = pytest.mark.docker


@pytest.fixture
async def api_on_docker(api: Api) -> AsyncIterator[Api]:
    """The server and node "n1" whose agent runs pod "web" on Docker (busybox, sleeping)."""
    require_docker()
    api.state.proxy_token = TOKEN
    uid = (await create_pod(api, pod_manifest("web", node="n1", command=["sleep", "3600"])))["metadata"]["uid"]
    async with docker_web(uid) as runtime, serving(runtime) as agent:
        await join(api, "n1", address=f"127.0.0.1:{agent.port}")
        yield api


def open_exec(api: Api, *command: str) -> Any:
    query = "&".join(f"command={word}" for word in command) + "&stdin=true&stdout=true&stderr=true"
    return api.http.ws_connect(f"{api.url}/api/v1/namespaces/default/pods/web/exec?{query}", protocols=(V5,),
                               headers={"Authorization": f"Bearer {api.token}"})


async def test_cat_echoes_through_server_and_agent_and_its_exit_code_comes_back(api_on_docker: Api) -> None:
    async with open_exec(api_on_docker, "sh", "-c", "cat; exit 6") as ws:
        for line in (b"one\n", b"two\n"):
            await ws.send_bytes(frame(STDIN, line))
            assert (await ws.receive(timeout=10)).data == frame(1, line)
        await ws.send_bytes(close_frame(STDIN))
        got = [(m.data[0], m.data[1:]) async for m in ws]
    assert len(got) == 1 and got[0][0] == 3, got
    assert json.loads(got[0][1])["details"]["causes"] == [{"reason": "ExitCode", "message": "6"}]
    assert ws.close_code == aiohttp.WSCloseCode.OK


async def test_a_client_that_leaves_closes_the_commands_stdin(api_on_docker: Api) -> None:
    async with Client(api_on_docker.url, api_on_docker.token) as client:
        async def cat_runs() -> bool:
            return b"cat" in (await client.exec("web", ["ps", "-o", "args"])).stdout.splitlines()

        async with open_exec(api_on_docker, "cat") as ws:
            await ws.send_bytes(frame(STDIN, b"x\n"))
            assert (await ws.receive(timeout=10)).data == frame(1, b"x\n")
            assert await cat_runs()
        async with asyncio.timeout(10):  # `cat` saw its stdin end, and ended
            while await cat_runs():
                await asyncio.sleep(0.1)
