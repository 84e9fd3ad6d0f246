"""Logs: the agent's /containerLogs route and the server's proxy to it (sim runtime)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orchestrator.agent import log_routes
from orchestrator.runtime.base import ContainerSpec
from orchestrator.runtime.sim import SimRuntime
from orchestrator.server import logs_proxy
from tests.agent.podsync_support import create_pod, pod_manifest
from tests.conftest import free_port
from tests.server.conftest import Api, api  # noqa: F401 - the fixture

TOKEN = "proxy-secret"


@dataclass
class Agent:
    url: str
    port: int
    runtime: SimRuntime
    http: aiohttp.ClientSession


@pytest.fixture
async def agent() -> AsyncIterator[Agent]:
    runtime = SimRuntime()
    app = web.Application()
    log_routes.register(app, runtime=runtime, proxy_token_digest=hashlib.sha256(TOKEN.encode()).hexdigest())
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as http:
        yield Agent(url=str(server.make_url("")).rstrip("/"), port=server.port or 0, runtime=runtime, http=http)
    await server.close()
    await runtime.close()


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
