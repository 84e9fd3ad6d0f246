"""Logs: the agent's /containerLogs route and the server's proxy to it (sim runtime)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orchestrator.agent import log_routes
from orchestrator.runtime.base import ContainerRuntime, ContainerSpec
from orchestrator.runtime.process import ProcessRuntime
from orchestrator.runtime.sim import SimRuntime
from orchestrator.server import logs_proxy
from tests.agent.podsync_support import create_pod, pod_manifest
from tests.conftest import free_port
from tests.server.conftest import Api, api  # noqa: F401 - the fixture

TOKEN = "proxy-secret"
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z ")  # Docker's RFC3339Nano and a space


@dataclass
class Agent:
    url: str
    port: int
    runtime: SimRuntime
    http: aiohttp.ClientSession


@pytest.fixture
async def agent() -> AsyncIterator[Agent]:
    runtime = SimRuntime()
    async with _serving(runtime) as served:
        yield served
    await runtime.close()


@contextlib.asynccontextmanager
async def _serving(runtime: ContainerRuntime) -> AsyncIterator[Agent]:
    app = web.Application()
    log_routes.register(app, runtime=runtime, proxy_token_digest=hashlib.sha256(TOKEN.encode()).hexdigest())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Agent(url=str(server.make_url("")).rstrip("/"), port=server.port or 0, runtime=runtime,  # type: ignore[arg-type]
                    http=http)
    await server.close()


async def _attempt(rt: SimRuntime, *, uid: str = "uid-1", pod: str = "web", n: int = 0, exit_after: bool) -> str:
    cid = await rt.create(ContainerSpec(pod_uid=uid, pod_name=pod, namespace="default", container_name="main",
                                        image="x", restart_count=n))
    await rt.start(cid)
    if exit_after:
        await rt.stop(cid, 0)
    return cid


async def _get(agent: Agent, path: str, token: str | None = TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with agent.http.get(agent.url + path, headers=headers) as resp:
        return resp.status, await resp.text()


async def test_agent_serves_logs_only_to_the_proxy_token(agent: Agent) -> None:
    await _attempt(agent.runtime, n=0, exit_after=True)
    await _attempt(agent.runtime, n=1, exit_after=False)
    assert (await _get(agent, "/containerLogs/default/web/main", token=None))[0] == 401
    assert (await _get(agent, "/containerLogs/default/web/main", token="wrong"))[0] == 401
    status, text = await _get(agent, "/containerLogs/default/web/main")
    assert status == 200 and text == "sim: main started\n"
    status, text = await _get(agent, "/containerLogs/default/web/main?previous=true")
    assert status == 200 and text == "sim: main started\nsim: exited with code 143\n"
    status, text = await _get(agent, "/containerLogs/default/web/main?previous=true&tailLines=1")
    assert status == 200 and text == "sim: exited with code 143\n"
    status, text = await _get(agent, "/containerLogs/default/web/other")
    assert status == 404 and json.loads(text)["message"] == 'container "other" in pod "web" not found'
    status, _ = await _get(agent, "/containerLogs/default/web/main?tailLines=x")
    assert status == 400


async def test_agent_honours_timestamps_and_since(agent: Agent) -> None:
    base = "/containerLogs/default/web/main?previous=true"
    await _attempt(agent.runtime, n=0, exit_after=False)
    await asyncio.sleep(0.05)
    between = time.time()
    await asyncio.sleep(0.05)
    for cid in [i.id for i in await agent.runtime.list()]:
        await agent.runtime.stop(cid, 0)
    await _attempt(agent.runtime, n=1, exit_after=False)
    status, text = await _get(agent, base + "&timestamps=true")
    lines = text.splitlines(keepends=True)
    assert status == 200 and len(lines) == 2 and all(STAMP.match(line) for line in lines), text
    assert [STAMP.sub("", line, count=1) for line in lines] == ["sim: main started\n", "sim: exited with code 143\n"]
    since_time = datetime.fromtimestamp(between, UTC).isoformat().replace("+00:00", "Z")
    assert await _get(agent, base + "&sinceTime=" + since_time) == (200, "sim: exited with code 143\n")
    assert await _get(agent, base + "&sinceSeconds=3600") == (200, "sim: main started\nsim: exited with code 143\n")
    assert await _get(agent, base + "&sinceTime=2999-01-01T00:00:00Z") == (200, "")
    for query, message in [
        ("&sinceSeconds=60&sinceTime=2026-11-28T18:00:00Z", "at most one of sinceSeconds or sinceTime may be specified"),
        ("&sinceSeconds=0", "sinceSeconds='0' must be a positive integer"),
        ("&sinceSeconds=soon", "sinceSeconds='soon' must be a positive integer"),
        ("&sinceTime=yesterday", "sinceTime: 'yesterday' is not an RFC 3339 time like 2026-11-28T18:00:00Z"),
    ]:
        status, text = await _get(agent, base + query)
        assert (status, json.loads(text)["message"]) == (400, message), query


async def test_process_runtime_refuses_times_with_400(tmp_path: Path) -> None:
    runtime = await ProcessRuntime.open(data_dir=tmp_path / "node")
    try:
        async with _serving(runtime) as agent:
            cid = await runtime.create(ContainerSpec(pod_uid="uid-p", pod_name="web", namespace="default",
                                                     container_name="main", image="", command=["echo", "hi"]))
            await runtime.start(cid)
            for query in ("timestamps=true", "sinceSeconds=10", "sinceTime=2026-11-28T18:00:00Z",
                          "follow=true&sinceSeconds=10"):
                status, text = await _get(agent, "/containerLogs/default/web/main?" + query)
                assert status == 400, (query, text)
                assert json.loads(text)["message"] == (
                    "the process runtime does not record when log lines were written; "
                    "timestamps, sinceSeconds and sinceTime need the docker runtime")
            async with asyncio.timeout(5):
                while (await _get(agent, "/containerLogs/default/web/main")) != (200, "hi\n"):
                    await asyncio.sleep(0.05)
    finally:
        for info in await runtime.list():
            await runtime.remove(info.id)
        await runtime.close()


async def test_server_proxies_to_the_agent_of_the_pods_node(api: Api, agent: Agent, tmp_path: Path) -> None:
    api.state.proxy_token = TOKEN
    shim = web.Application()

    async def proxy(request: web.Request) -> web.StreamResponse:
        return await logs_proxy.proxy_logs(request, api.state, namespace=request.match_info["ns"],
                                           name=request.match_info["name"])

    @web.middleware
    async def errors(request: web.Request, handler: object) -> web.StreamResponse:
        from orchestrator.model.errors import ApiError

        try:
            return await handler(request)  # type: ignore[operator]
        except ApiError as exc:
            return web.json_response({"code": exc.code, "message": exc.message}, status=exc.code)

    shim.middlewares.append(errors)
    shim.router.add_get("/api/v1/namespaces/{ns}/pods/{name}/log", proxy)
    server = TestServer(shim, host="127.0.0.1")
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    try:
        status, _ = await api.call("POST", "/join", token=api.join_token,
                                   json={"name": "n1", "address": f"127.0.0.1:{agent.port}"})
        assert status == 201
        await api.call("POST", "/join", token=api.join_token, json={"name": "n2", "address": f"127.0.0.1:{free_port()}"})
        pod = await create_pod(api, pod_manifest("web", node="n1", command=["x"]))
        await _attempt(agent.runtime, uid=pod["metadata"]["uid"], exit_after=False)
        await create_pod(api, pod_manifest("away", node="n2", command=["x"]))
        unbound = pod_manifest("nowhere", node="", command=["x"])
        del unbound["spec"]["nodeName"]
        await create_pod(api, unbound)

        async def get(path: str) -> tuple[int, str]:
            async with agent.http.get(base + path) as resp:
                text = await resp.text()
                return resp.status, text if resp.status == 200 else json.loads(text)["message"]

        assert await get("/api/v1/namespaces/default/pods/web/log") == (200, "sim: main started\n")
        assert await get("/api/v1/namespaces/default/pods/web/log?container=main&follow=false&tailLines=5") == (
            200, "sim: main started\n")
        status, text = await get("/api/v1/namespaces/default/pods/web/log?timestamps=true&sinceSeconds=600")
        assert status == 200 and STAMP.match(text) and text.endswith(" sim: main started\n"), text
        assert await get("/api/v1/namespaces/default/pods/web/log?sinceTime=2999-01-01T00:00:00Z") == (200, "")
        for query, message in [("sinceSeconds=-1", "sinceSeconds='-1' must be a positive integer"),
                               ("sinceTime=noon", "sinceTime: 'noon' is not an RFC 3339 time"),
                               ("sinceSeconds=1&sinceTime=2026-11-28T18:00:00Z", "at most one of sinceSeconds")]:
            status, text = await get("/api/v1/namespaces/default/pods/nowhere/log?" + query)  # checked first
            assert status == 400 and text.startswith(message), (query, text)
        status, text = await get("/api/v1/namespaces/default/pods/web/log?container=nope")
        assert status == 400 and "container nope is not valid for pod web" in text
        status, text = await get("/api/v1/namespaces/default/pods/nowhere/log")
        assert status == 400 and "does not have a host assigned" in text
        status, text = await get("/api/v1/namespaces/default/pods/away/log")
        assert status == 503 and 'cannot reach the agent of node "n2"' in text
        status, _ = await get("/api/v1/namespaces/default/pods/ghost/log")
        assert status == 404
        api.state.proxy_token = "not-the-agents"
        status, text = await get("/api/v1/namespaces/default/pods/web/log")
        assert status == 503 and "refused the server's proxy token" in text
    finally:
        await server.close()
