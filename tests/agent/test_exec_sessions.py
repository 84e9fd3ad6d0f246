"""Interactive exec on the agent's listener: GET /exec/NS/POD/CONTAINER as a websocket.

Docker for what an interactive exec is for (stdin echo round trip before stdin closes, the
exit code, a tty and its size); the process runtime for -i on a host and its tty refusal;
errors after the upgrade arrive as a Status on channel 3.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from orchestrator.model.exec_protocol import V5, close_frame, frame, resize_frame
from orchestrator.runtime.base import ContainerSpec
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.runtime.process import ProcessRuntime
from tests.agent.test_exec_routes import TOKEN, Agent, serving, start
from tests.conftest import require_docker
from tests.runtime.image import TEST_IMAGE

SUITE = f"exec-session-{uuid.uuid4().hex[:8]}"
SUCCESS = {"metadata": {}, "status": "Success"}


@contextlib.asynccontextmanager
async def docker_web(uid: str) -> AsyncIterator[DockerRuntime]:
    """Docker running pod "web" (uid `uid`, container "main": busybox sleeping), removed on the way out."""
    require_docker()
    runtime = await DockerRuntime.open()
    try:
        cid = await runtime.create(ContainerSpec(
            pod_uid=uid, pod_name="web", namespace="default", container_name="main", image=TEST_IMAGE,
            command=["sleep", "3600"], labels={"orch-test.io/suite": SUITE}))
        await runtime.start(cid)
        yield runtime
    finally:
        for info in await runtime.list():
            if info.labels.get("orch-test.io/suite") == SUITE:
                await runtime.remove(info.id)
        await runtime.close()


@pytest.fixture
async def docker_agent() -> AsyncIterator[Agent]:
    async with docker_web(str(uuid.uuid4())) as runtime, serving(runtime) as agent:
        yield agent


@pytest.fixture
async def process_agent(tmp_path: Path) -> AsyncIterator[Agent]:
    runtime = await ProcessRuntime.open(data_dir=tmp_path / "node")
    try:
        await start(runtime, command=["sleep", "30"])
        async with serving(runtime) as agent:
            yield agent
    finally:
        for info in await runtime.list():
            await runtime.remove(info.id)
        await runtime.close()


def connect(agent: Agent, *command: str, tty: bool = False, token: str = TOKEN,
            path: str = "/exec/default/web/main") -> Any:
    query = [*(("command", word) for word in command), ("stdin", "true"), ("stdout", "true")]
    query.append(("tty", "true") if tty else ("stderr", "true"))
    return agent.http.ws_connect(agent.url + path, params=query, protocols=(V5,),
                                 headers={"Authorization": f"Bearer {token}"})


async def receive(ws: aiohttp.ClientWebSocketResponse) -> tuple[int, bytes]:
    msg = await ws.receive(timeout=10)
    assert msg.type == aiohttp.WSMsgType.BINARY, msg
    return msg.data[0], msg.data[1:]


async def rest(ws: aiohttp.ClientWebSocketResponse) -> tuple[bytes, dict[str, Any]]:
    """The output still to come, stdout then stderr (the engine reads them from two pipes: their
    order is not kept), then the Status; the agent closes after it."""
    output = {1: b"", 2: b""}
    while (got := await receive(ws))[0] != 3:
        output[got[0]] += got[1]
    assert (await ws.receive(timeout=10)).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    return output[1] + output[2], json.loads(got[1])


async def test_docker_echoes_stdin_before_it_closes_and_ends_with_success(docker_agent: Agent) -> None:
    async with connect(docker_agent, "cat") as ws:
        assert ws.protocol == V5
        for line in (b"hello\n", b"again\n"):  # each comes back while stdin is still open: streamed
            await ws.send_bytes(frame(0, line))
            assert await receive(ws) == (1, line)
        await ws.send_bytes(close_frame(0))
        assert await rest(ws) == (b"", SUCCESS)


async def test_docker_exit_code_and_stderr_come_through(docker_agent: Agent) -> None:
    async with connect(docker_agent, "sh", "-c", "read x; echo got-$x; echo oops >&2; exit 5") as ws:
        await ws.send_bytes(frame(0, b"it\n"))
        output, status = await rest(ws)
    assert output == b"got-it\noops\n"
    assert status["reason"] == "NonZeroExitCode" and status["details"]["causes"] == [
        {"reason": "ExitCode", "message": "5"}]


async def test_docker_tty_is_a_terminal_of_the_size_sent(docker_agent: Agent) -> None:
    async with connect(docker_agent, "sh", "-c", "sleep 0.5; tty; stty size; exit 3", tty=True) as ws:
        await ws.send_bytes(resize_frame(cols=100, rows=30))
        output, status = await rest(ws)
    assert output.startswith(b"/dev/pts/") and output.endswith(b"\r\n30 100\r\n"), output  # the tty's CRLF
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]


async def test_the_process_runtime_pipes_stdin_but_has_no_tty(process_agent: Agent) -> None:
    async with connect(process_agent, "sh", "-c", "cat; exit 4") as ws:
        await ws.send_bytes(frame(0, b"piped\n"))
        assert await receive(ws) == (1, b"piped\n")
        await ws.send_bytes(close_frame(0))
        output, status = await rest(ws)
    assert output == b"" and status["details"]["causes"] == [{"reason": "ExitCode", "message": "4"}]
    async with connect(process_agent, "sh", tty=True) as ws:
        _, status = await rest(ws)
    assert (status["code"], status["reason"]) == (400, "BadRequest")
    assert status["message"].startswith("the process runtime has no tty to give")


async def test_errors_before_and_after_the_upgrade(process_agent: Agent) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await connect(process_agent, "cat", token="wrong")
    assert refused.value.status == 401
    for path, command, code, message in [
            ("/exec/default/web/other", ["cat"], 404, 'container "other" in pod "web" not found'),
            ("/exec/default/web/main", [], 400, "you must specify at least one command")]:
        async with connect(process_agent, *command, path=path) as ws:
            _, status = await rest(ws)
        assert status["code"] == code and status["message"].startswith(message), status
