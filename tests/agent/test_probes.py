"""Probe runners against real local servers, and the workers' thresholds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orchestrator.agent.podsync_events import EventSink
from orchestrator.agent.probes import ProbeResult, resolve_port, run_probe, target
from orchestrator.agent.probes_workers import Prober
from orchestrator.model import codec
from orchestrator.model.containers import Container, Probe
from orchestrator.model.pods import Pod
from orchestrator.runtime.base import ContainerInfo
from orchestrator.runtime.sim import SimRuntime
from tests.conftest import free_port


def probe(**fields: Any) -> Probe:
    return codec.convert({"timeoutSeconds": 1, **fields}, Probe)


def container(**fields: Any) -> Container:
    return codec.convert({"name": "main", "image": "x", **fields}, Container)


def running(ip: str | None = "127.0.0.1", id: str = "c1") -> ContainerInfo:
    return ContainerInfo(id=id, name="n", pod_uid="u", pod_name="p", namespace="default", container_name="main",
                         image="x", state="running", ip=ip, started_at="2020-01-01T00:00:00Z")


@pytest.fixture
async def http() -> AsyncIterator[tuple[int, aiohttp.ClientSession]]:
    async def ok(request: web.Request) -> web.Response:
        assert request.headers.get("X-Probe") == "yes"
        return web.Response(text="fine")

    async def bad(request: web.Request) -> web.Response:
        return web.Response(status=500, text="broken")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/elsewhere")

    app = web.Application()
    app.router.add_get("/healthz", ok)
    app.router.add_get("/bad", bad)
    app.router.add_get("/slow", slow)
    app.router.add_get("/moved", moved)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield server.port, session  # type: ignore[misc]
    await server.close()


async def test_http_get(http: tuple[int, aiohttp.ClientSession]) -> None:
    port, session = http
    c = container(ports=[{"containerPort": port, "name": "web"}])
    rt = SimRuntime()

    async def run(**get: Any) -> ProbeResult:
        p = probe(httpGet={"port": "web", "httpHeaders": [{"name": "X-Probe", "value": "yes"}], **get})
        return await run_probe(p, container=c, info=running(), runtime=rt, session=session)

    assert (await run(path="/healthz")).ok
    assert (await run(path="/moved")).ok  # 3xx counts as success
    bad = await run(path="/bad")
    assert not bad.ok and "statuscode: 500" in bad.message and "broken" in bad.message
    slow = await run(path="/slow")
    assert not slow.ok and "deadline" in slow.message
    refused = await run_probe(probe(httpGet={"port": free_port(), "path": "/"}), container=c, info=running(),
                              runtime=rt, session=session)
    assert not refused.ok


async def test_tcp_socket() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with aiohttp.ClientSession() as session:
            rt = SimRuntime()
            open_ = await run_probe(probe(tcpSocket={"port": port}), container=container(), info=running(),
                                    runtime=rt, session=session)
            closed = await run_probe(probe(tcpSocket={"port": free_port()}), container=container(), info=running(),
                                     runtime=rt, session=session)
    finally:
        server.close()
        await server.wait_closed()
    assert open_.ok and not closed.ok and "dial tcp" in closed.message


async def test_exec_through_the_runtime() -> None:
    def handler(info: ContainerInfo, command: list[str]) -> tuple[int, bytes]:
        return (0, b"ok\n") if command == ["true"] else (1, b"no such file\n")

    rt = SimRuntime(exec_handler=handler)
    from orchestrator.runtime.base import ContainerSpec

    cid = await rt.create(ContainerSpec(pod_uid="u", pod_name="p", namespace="default", container_name="main",
                                        image="x"))
    await rt.start(cid)
    info = await rt.inspect(cid)
    async with aiohttp.ClientSession() as session:
        good = await run_probe(probe(exec={"command": ["true"]}), container=container(), info=info, runtime=rt,
                               session=session)
        bad = await run_probe(probe(exec={"command": ["cat", "/x"]}), container=container(), info=info, runtime=rt,
                              session=session)
        await rt.stop(cid, 0)
        gone = await run_probe(probe(exec={"command": ["true"]}), container=container(), info=info, runtime=rt,
                               session=session)
    assert good.ok and not bad.ok and "exited with 1" in bad.message and "no such file" in bad.message
    assert not gone.ok  # not running: the exec fails, the probe fails


def test_ports_and_targets() -> None:
    c = container(ports=[{"containerPort": 8080, "name": "http", "hostPort": 18080}])
    assert resolve_port(c, "http") == 8080 and resolve_port(c, "9000") == 9000 and resolve_port(c, "nope") is None
    assert target(c, running(ip="172.17.0.2"), host="", port=8080) == ("172.17.0.2", 8080)
    assert target(c, running(ip=None), host="", port=8080) == ("127.0.0.1", 18080)  # process runtime: hostPort
    assert target(c, running(ip=None), host="", port=9000) == ("127.0.0.1", 9000)
    assert target(c, running(ip="172.17.0.2"), host="example", port=1) == ("example", 1)


def _pod() -> Pod:
    return codec.convert({"metadata": {"name": "p", "uid": "u"}}, Pod)


def test_thresholds_readiness_liveness_and_seeding() -> None:
    changed: list[str] = []
    prober = Prober(runtime=SimRuntime(), notify=changed.append, events=EventSink(None))
    c = container(readinessProbe={"exec": {"command": ["x"]}, "successThreshold": 2, "failureThreshold": 2},
                  livenessProbe={"exec": {"command": ["x"]}, "failureThreshold": 3})
    prober.sync(uid="u", pod=_pod(), container=c, info=running())
    target_ = prober._targets[("u", "main")]
    assert not prober.ready("u", "main", "c1") and prober.started("u", "main", "c1")
    ok, fail = ProbeResult(True), ProbeResult(False, "nope")
    assert c.readiness_probe is not None and c.liveness_probe is not None
    assert not prober._record(target_, "readiness", c.readiness_probe, ok)
    assert prober._record(target_, "readiness", c.readiness_probe, ok)  # the second success makes it ready
    assert prober.ready("u", "main", "c1")
    assert not prober._record(target_, "readiness", c.readiness_probe, fail)
    assert prober._record(target_, "readiness", c.readiness_probe, fail)
    assert not prober.ready("u", "main", "c1")
    for _ in range(2):
        assert not prober._record(target_, "liveness", c.liveness_probe, fail)
    assert prober._record(target_, "liveness", c.liveness_probe, fail)
    assert prober.unhealthy("u", "main", "c1") == "Container main failed liveness probe, will be restarted"
    assert prober.unhealthy("u", "main", "other-id") is None
    # a new attempt starts over; an adopted one keeps what the pod's status said
    from orchestrator.model.containers import ContainerStatus

    seed = ContainerStatus(name="main", ready=True, started=True, container_id="docker://c2")
    prober.sync(uid="u", pod=_pod(), container=c, info=running(id="c2"), seed=seed)
    assert prober.ready("u", "main", "c2") and prober.unhealthy("u", "main", "c2") is None
    prober.forget("u")
    assert len(prober) == 0


def test_startup_probe_holds_readiness_until_it_succeeds() -> None:
    prober = Prober(runtime=SimRuntime(), notify=lambda uid: None, events=EventSink(None))
    c = container(startupProbe={"exec": {"command": ["x"]}, "failureThreshold": 2})
    prober.sync(uid="u", pod=_pod(), container=c, info=running())
    assert not prober.started("u", "main", "c1") and not prober.ready("u", "main", "c1")
    target_ = prober._targets[("u", "main")]
    assert c.startup_probe is not None
    assert prober._record(target_, "startup", c.startup_probe, ProbeResult(True))
    assert prober.started("u", "main", "c1") and prober.ready("u", "main", "c1")  # no readiness probe


async def test_workers_probe_on_their_period_and_notify_changes() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    changed: list[str] = []
    prober = Prober(runtime=SimRuntime(), notify=changed.append, events=EventSink(None))
    task = asyncio.create_task(prober.run())
    try:
        await asyncio.sleep(0)
        c = container(readinessProbe={"tcpSocket": {"port": port}, "periodSeconds": 1})
        prober.sync(uid="u", pod=_pod(), container=c, info=running())
        async with asyncio.timeout(3):
            while not changed:
                await asyncio.sleep(0.01)
        assert changed == ["u"] and prober.ready("u", "main", "c1")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        server.close()
        await server.wait_closed()
