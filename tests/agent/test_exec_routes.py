"""Exec on the agent's listener: POST /exec/NS/POD/CONTAINER (sim runtime; process runtime for timeouts)."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orchestrator.agent import exec_routes
from orchestrator.model.exec_protocol import EXIT_CODE_HEADER
from orchestrator.runtime.base import ContainerInfo, ContainerRuntime, ContainerSpec
from orchestrator.runtime.process import ProcessRuntime
from orchestrator.runtime.sim import SimRuntime

TOKEN = "proxy-secret"


def shell(info: ContainerInfo, command: list[str]) -> tuple[int, bytes]:
    """The sim's exec: `echo WORDS`, `exit N`, anything else is 127 (as a shell says)."""
    if command[0] == "echo":
        return 0, (" ".join(command[1:]) + "\n").encode()
    if command[0] == "exit":
        return int(command[1]), f"{info.container_name} exits {command[1]}\n".encode()
    return 127, f"sh: {command[0]}: not found\n".encode()


@dataclass
class Agent:
    url: str
    port: int
    runtime: ContainerRuntime
    http: aiohttp.ClientSession

    async def exec(self, path: str, body: Any, *, token: str | None = TOKEN) -> tuple[int, str, str | None]:
        """(status, body text, exit-code header) of one exec call."""
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        async with self.http.post(self.url + path, data=data, headers=headers) as resp:
            return resp.status, await resp.text(), resp.headers.get(EXIT_CODE_HEADER)


@contextlib.asynccontextmanager
async def serving(runtime: ContainerRuntime) -> AsyncIterator[Agent]:
    """The exec route on a real loopback port, taking the digest of TOKEN, as an agent's listener does."""
    app = web.Application()
    exec_routes.register(app, runtime=runtime, proxy_token_digest=hashlib.sha256(TOKEN.encode()).hexdigest())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            yield Agent(url=str(server.make_url("")).rstrip("/"), port=server.port or 0, runtime=runtime, http=http)
    finally:
        await server.close()


@pytest.fixture
async def agent() -> AsyncIterator[Agent]:
    runtime = SimRuntime(exec_handler=shell)
    async with serving(runtime) as served:
        yield served
    await runtime.close()


async def start(rt: ContainerRuntime, *, uid: str = "uid-1", pod: str = "web", container: str = "main",
                command: list[str] | None = None) -> str:
    cid = await rt.create(ContainerSpec(pod_uid=uid, pod_name=pod, namespace="default", container_name=container,
                                        image="x", command=command or []))
    await rt.start(cid)
    return cid


RUN = {"command": ["echo", "hello", "there"], "timeoutSeconds": 5}


async def test_exec_answers_output_and_exit_code_only_to_the_proxy_token(agent: Agent) -> None:
    await start(agent.runtime)
    assert (await agent.exec("/exec/default/web/main", RUN, token=None))[0] == 401
    assert (await agent.exec("/exec/default/web/main", RUN, token="wrong"))[0] == 401
    assert await agent.exec("/exec/default/web/main", RUN) == (200, "hello there\n", "0")
    assert await agent.exec("/exec/default/web/main", {"command": ["exit", "3"], "timeoutSeconds": 5}) == (
        200, "main exits 3\n", "3")
    assert await agent.exec("/exec/default/web/main", {"command": ["nope"], "timeoutSeconds": 5}) == (
        200, "sh: nope: not found\n", "127")  # a command that cannot start is an exit code, not an error


async def test_exec_runs_in_the_newest_attempt_and_refuses_stopped_or_unknown_containers(agent: Agent) -> None:
    old = await start(agent.runtime, uid="uid-old")
    await agent.runtime.stop(old, 0)
    status, text, _ = await agent.exec("/exec/default/web/main", RUN)
    assert status == 409 and json.loads(text)["message"] == (
        'container "main" in pod "web" is not running (exited); exec needs a running container')
    await start(agent.runtime, uid="uid-new")  # the pod was replaced: the newest one is running
    assert (await agent.exec("/exec/default/web/main", RUN))[:2] == (200, "hello there\n")
    for path in ("/exec/default/web/other", "/exec/default/gone/main", "/exec/elsewhere/web/main"):
        status, text, _ = await agent.exec(path, RUN)
        body = json.loads(text)
        assert (status, body["kind"], body["reason"]) == (404, "Status", "NotFound"), path
        assert "not found on this node" in body["message"]


@pytest.mark.parametrize("body", [
    b"", b"{not json", {"command": [], "timeoutSeconds": 5}, {"command": ["ls"]},
    {"command": ["ls"], "timeoutSeconds": 0}, {"command": "ls", "timeoutSeconds": 5},
    {"command": ["ls"], "timeoutSeconds": 5, "x": 1}])
async def test_a_bad_request_body_is_400(agent: Agent, body: Any) -> None:
    await start(agent.runtime)
    status, text, _ = await agent.exec("/exec/default/web/main", body)
    assert status == 400 and json.loads(text)["message"].startswith("unreadable exec request"), text


async def test_a_command_past_its_timeout_is_504(tmp_path: Path) -> None:
    runtime = await ProcessRuntime.open(data_dir=tmp_path / "node")
    try:
        async with serving(runtime) as agent:
            await start(runtime, command=["sleep", "30"])
            status, text, _ = await agent.exec("/exec/default/web/main", {"command": ["sleep", "5"],
                                                                          "timeoutSeconds": 0.2})
            assert status == 504 and json.loads(text)["reason"] == "Timeout", text
            assert "ran past the exec timeout of 0.2s" in json.loads(text)["message"]
            assert await agent.exec("/exec/default/web/main", {"command": ["sh", "-c", "echo $((6*7)); exit 5"],
                                                               "timeoutSeconds": 5}) == (200, "42\n", "5")
    finally:
        for info in await runtime.list():
            await runtime.remove(info.id)
        await runtime.close()
