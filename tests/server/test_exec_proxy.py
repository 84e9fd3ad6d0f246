"""pods/NAME/exec through the real server app to a real agent listener (sim runtime).

The websocket side is checked twice: raw frames (what kubectl reads) and `Client.exec`
(what `orch exec` uses). Errors the server can judge come before the upgrade with their
HTTP code; what the agent says comes as the Status on channel 3.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from orchestrator.client import Client
from orchestrator.model.errors import BadRequest, Conflict, Forbidden, NotFound
from orchestrator.model.exec_protocol import STDIN, V4, V5, close_frame, frame, resize_frame
from orchestrator.runtime.sim import SimRuntime
from tests.agent.podsync_support import create_pod, join, pod_manifest
from tests.agent.test_exec_routes import TOKEN, Agent, serving, shell, start
from tests.server.conftest import Api

EXEC = "/api/v1/namespaces/default/pods/web/exec"
QUERY = "?command=echo&command=hi&stdout=true&stderr=true"


@pytest.fixture
async def cluster(api: Api) -> AsyncIterator[tuple[Api, Agent, str]]:
    """The server, a node "n1" whose agent runs pod "web" (container "main" running), and n1's credential."""
    runtime = SimRuntime(exec_handler=shell)
    api.state.proxy_token = TOKEN
    async with serving(runtime) as agent:
        node_token = await join(api, "n1", address=f"127.0.0.1:{agent.port}")
        pod = pod_manifest("web", node="n1", command=["sleep", "3600"])
        pod["spec"]["containers"].append({"name": "side", "image": "x", "command": ["sleep", "3600"]})
        uid = (await create_pod(api, pod))["metadata"]["uid"]
        await start(runtime, uid=uid)  # "side" was never started on the node
        yield api, agent, node_token
    await runtime.close()


async def frames(api: Api, query: str, *, protocols: tuple[str, ...] = (V5, V4)) -> list[tuple[int, bytes]]:
    """The binary messages of one websocket exec, as (channel, data), until the server closes."""
    got = []
    async with api.http.ws_connect(api.url + EXEC + query, protocols=protocols,
                                   headers={"Authorization": f"Bearer {api.token}"}) as ws:
        assert ws.protocol == protocols[0]
        async for msg in ws:
            assert msg.type == aiohttp.WSMsgType.BINARY
            got.append((msg.data[0], msg.data[1:]))
    assert ws.close_code == aiohttp.WSCloseCode.OK
    return got


async def test_kubernetes_frames_output_then_status_then_close(cluster: tuple[Api, Agent, str]) -> None:
    api, _, _ = cluster
    assert await frames(api, QUERY) == [(1, b"hi\n"), (3, b'{"metadata":{},"status":"Success"}')]
    got = await frames(api, "?command=exit&command=3&container=main&stdout=true&stderr=true", protocols=(V4,))
    assert got[0] == (1, b"main exits 3\n") and len(got) == 2
    assert json.loads(got[1][1]) == {
        "metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
        "message": "command terminated with non-zero exit code: error executing command [exit 3], exit code 3",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}
    assert await frames(api, "?command=echo&command=only-stderr&stderr=true") == [
        (2, b"only-stderr\n"), (3, b'{"metadata":{},"status":"Success"}')]


async def test_the_client_returns_output_and_exit_code(cluster: tuple[Api, Agent, str]) -> None:
    api, _, _ = cluster
    async with Client(api.url, api.token) as client:
        result = await client.exec("web", ["echo", "hello", "world"])
        assert (result.exit_code, result.stdout, result.stderr) == (0, b"hello world\n", b"")
        assert (await client.exec("web", ["exit", "42"], container="main")).exit_code == 42
        seen: list[tuple[int, bytes]] = []
        result = await client.exec("web", ["exit", "7"], on_output=lambda ch, data: seen.append((ch, data)))
        assert result.exit_code == 7 and seen == [(1, b"main exits 7\n")] and result.stdout == b""


async def test_a_node_credential_may_read_the_pod_but_not_exec(cluster: tuple[Api, Agent, str]) -> None:
    api, _, node_token = cluster
    assert (await api.call("GET", "/api/v1/namespaces/default/pods/web", token=node_token))[0] == 200
    for method in ("GET", "POST"):
        status, body = await api.call(method, EXEC + QUERY, token=node_token)
        assert status == 403 and body["reason"] == "Forbidden", body
        assert 'cannot create resource "pods/exec"' in body["message"]
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await api.http.ws_connect(api.url + EXEC + QUERY, protocols=(V5,),
                                  headers={"Authorization": f"Bearer {node_token}"})
    assert refused.value.status == 403
    async with Client(api.url, node_token) as client:
        with pytest.raises(Forbidden, match='cannot create resource "pods/exec"'):
            await client.exec("web", ["echo", "hi"])


async def test_interactive_frames_pass_both_ways_until_the_agent_ends(cluster: tuple[Api, Agent, str]) -> None:
    """The sim echoes stdin, then answers the command when stdin closes (see SimRuntime)."""
    api, _, _ = cluster
    async with api.http.ws_connect(api.url + EXEC + "?command=exit&command=3&stdin=true&stdout=true&stderr=true",
                                   protocols=(V5,), headers={"Authorization": f"Bearer {api.token}"}) as ws:
        await ws.send_bytes(frame(STDIN, b"typed\n"))
        msg = await ws.receive(timeout=5)
        assert msg.data == frame(1, b"typed\n")  # before stdin closed: relayed as it came
        await ws.send_bytes(resize_frame(cols=80, rows=24))  # the sim has no tty: it takes and ignores it
        await ws.send_bytes(close_frame(STDIN))
        got = [(m.data[0], m.data[1:]) async for m in ws]
    assert got[0] == (1, b"main exits 3\n") and json.loads(got[1][1])["reason"] == "NonZeroExitCode"
    assert len(got) == 2 and ws.close_code == aiohttp.WSCloseCode.OK


async def test_the_client_session_streams_stdin_and_returns_the_exit_code(cluster: tuple[Api, Agent, str]) -> None:
    api, _, _ = cluster
    async with Client(api.url, api.token) as client:
        async with client.exec_session("web", ["exit", "7"], stdin=True, tty=True) as session:
            await session.write_stdin(b"abc")
            await session.close_stdin()
            result = await session.wait()
        assert (result.exit_code, result.stdout) == (7, b"abcmain exits 7\n")
        with pytest.raises(NotFound, match='container "side" in pod "web" not found on this node'):  # channel 3
            async with client.exec_session("web", ["cat"], container="side", stdin=True) as session:
                await session.wait()


@pytest.mark.parametrize(("path", "query", "code", "message"), [
    ("ghost", QUERY, 404, 'pods "ghost" not found'),
    ("web", QUERY + "&container=nope", 400, "container nope is not valid for pod web; choose one of: [main side]"),
    ("web", "?stdout=true", 400, "you must specify at least one command for the container"),
    ("web", "?command=ls", 400, "you must specify at least 1 of stdin, stdout, stderr"),
    ("web", QUERY, 400, "exec needs a websocket client"),  # a plain request that passes every check
    ("web", "?command=cat&stdin=true&tty=true", 400, "exec needs a websocket client"),  # interactive, too
])
async def test_what_the_server_can_judge_is_a_status_before_any_upgrade(
        cluster: tuple[Api, Agent, str], path: str, query: str, code: int, message: str) -> None:
    api, _, _ = cluster
    status, body = await api.call("POST", f"/api/v1/namespaces/default/pods/{path}/exec{query}")
    assert (status, body["kind"]) == (code, "Status") and body["message"].startswith(message), body
    assert (await api.call("PUT", EXEC + QUERY))[0] == 405


async def test_the_client_raises_what_the_server_or_agent_said(cluster: tuple[Api, Agent, str]) -> None:
    api, agent, _ = cluster
    await create_pod(api, {**pod_manifest("nowhere", node="", command=["x"]),
                           "spec": {"containers": [{"name": "main", "image": "x"}]}})
    cases: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"name": "ghost"}, NotFound, 'pods "ghost" not found'),  # the server, via the POST fallback
        ({"name": "web", "container": "nope"}, BadRequest, "container nope is not valid for pod web"),
        ({"name": "nowhere"}, BadRequest, 'pod "nowhere" does not have a host assigned'),
        ({"name": "web", "container": "side"}, NotFound, 'container "side" in pod "web" not found on this node'),
    ]
    async with Client(api.url, api.token) as client:
        for kwargs, error, message in cases:
            with pytest.raises(error, match=message):
                await client.exec(kwargs.pop("name"), ["echo", "hi"], **kwargs)
        for info in await agent.runtime.list():
            await agent.runtime.stop(info.id, 0)
        with pytest.raises(Conflict, match='container "main" in pod "web" is not running'):  # channel 3
            await client.exec("web", ["echo", "hi"])


async def test_discovery_lists_pods_exec(api: Api) -> None:
    _, body = await api.call("GET", "/api/v1")
    (entry,) = [r for r in body["resources"] if r["name"] == "pods/exec"]
    assert entry["kind"] == "PodExecOptions" and entry["verbs"] == ["create", "get"]
