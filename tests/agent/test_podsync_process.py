"""PodSync on the ``process`` runtime (real host processes) against the real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestrator.runtime.process import ProcessRuntime
from tests.agent.podsync_support import (
    condition,
    create_pod,
    get_pod,
    join,
    phase,
    pod_manifest,
    pod_where,
    podsync,
    state_of,
)
from tests.conftest import free_port
from tests.server.conftest import Api, api  # noqa: F401 - the fixture

NODE = "proc-node"


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[ProcessRuntime]:
    rt = await ProcessRuntime.open(data_dir=tmp_path / "node", kill_wait=2.0)
    yield rt
    await _remove_all(tmp_path / "node")
    await rt.close()


async def _remove_all(data_dir: Path) -> None:
    rt = await ProcessRuntime.open(data_dir=data_dir, kill_wait=2.0)  # whatever any instance started
    for info in await rt.list():
        await rt.remove(info.id)
    await rt.close()


async def test_crash_loop_restarts_with_growing_back_off(api: Api, runtime: ProcessRuntime, tmp_path: Path) -> None:
    token = await join(api, NODE)
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path):
        await create_pod(api, pod_manifest("crash", node=NODE, command=["sh", "-c", "echo attempt; exit 3"]))
        messages: list[str] = []

        def seen(p: dict[str, object]) -> bool:
            waiting = state_of(p).get("state", {}).get("waiting") or {}
            if waiting.get("reason") == "CrashLoopBackOff" and waiting["message"] not in messages:
                messages.append(waiting["message"])
            return state_of(p).get("restartCount", 0) >= 3 and len(messages) >= 2

        pod = await pod_where(api, "crash", seen, timeout=15, what="three restarts")
        delays = [float(m.split()[1].rstrip("s")) for m in messages]
        assert delays == sorted(set(delays)) and set(delays) <= {0.4, 0.8, 1.6}, messages  # growing: 0.4, 0.8, ...
        cs = state_of(pod)
        assert cs["lastState"]["terminated"]["exitCode"] == 3 and phase(pod) == "Running"
        uid = pod["metadata"]["uid"]
        attempts = sorted(await runtime.list(pod_uid=uid), key=lambda i: i.restart_count)
        assert len(attempts) <= 2  # older attempts are removed
        output = b"".join([chunk async for chunk in runtime.logs(attempts[0].id)])
        assert output == b"attempt\n"


async def test_readiness_over_http_and_no_writes_while_nothing_changes(api: Api, runtime: ProcessRuntime,
                                                                      tmp_path: Path) -> None:
    token = await join(api, NODE)
    port = free_port()
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello\n")
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path) as sync:
        await create_pod(api, pod_manifest(
            "web", node=NODE, command=["busybox", "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", str(www)],
            ports=[{"containerPort": port}],
            readinessProbe={"httpGet": {"path": "/", "port": port}, "periodSeconds": 1},
            livenessProbe={"tcpSocket": {"port": port}, "periodSeconds": 1}))
        pod = await pod_where(api, "web", lambda p: condition(p, "Ready") == "True", timeout=10, what="Ready")
        assert pod["status"]["podIP"] == pod["status"]["hostIP"] == "127.0.0.1"  # host network
        writes, rv = sync.writer.writes, pod["metadata"]["resourceVersion"]
        await asyncio.sleep(2.5)  # probes tick twice or more; nothing changes
        again = await get_pod(api, "web")
        assert again is not None and again["metadata"]["resourceVersion"] == rv
        assert sync.writer.writes == writes and writes <= 3, writes


async def test_restarted_agent_adopts_running_processes(api: Api, runtime: ProcessRuntime, tmp_path: Path) -> None:
    token = await join(api, NODE)
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path):
        await create_pod(api, pod_manifest("long", node=NODE, command=["sleep", "60"]))
        first = await pod_where(api, "long", lambda p: condition(p, "Ready") == "True", what="Ready")
    await runtime.close()  # the agent goes away; its processes do not
    again = await ProcessRuntime.open(data_dir=tmp_path / "node", kill_wait=2.0)
    try:
        async with podsync(api, runtime=again, node=NODE, token=token, data_dir=tmp_path) as sync:
            await asyncio.sleep(0.5)  # a few relists and syncs
            pod = await get_pod(api, "long")
            assert pod is not None and pod["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
            assert state_of(pod)["containerID"] == state_of(first)["containerID"]
            (info,) = await again.list()
            assert info.state == "running" and info.restart_count == 0
            assert sync.writer.writes == 0
    finally:
        await again.close()


async def test_env_from_a_config_map_and_waiting_until_it_exists(api: Api, runtime: ProcessRuntime,
                                                                 tmp_path: Path) -> None:
    token = await join(api, NODE)
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path):
        await create_pod(api, pod_manifest(
            "env", node=NODE, restart="Never", command=["sh", "-c", "echo $GREETING from $POD on $NODE"],
            env=[{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "greeting"}}},
                 {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                 {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]))
        pod = await pod_where(api, "env", lambda p: (state_of(p).get("state", {}).get("waiting") or {})
                              .get("reason") == "CreateContainerConfigError", what="CreateContainerConfigError")
        assert 'configmap "cfg" not found' in state_of(pod)["state"]["waiting"]["message"]
        status, body = await api.call("POST", "/api/v1/namespaces/default/configmaps", json={
            "metadata": {"name": "cfg"}, "data": {"greeting": "hello"}})
        assert status == 201, body
        pod = await pod_where(api, "env", lambda p: phase(p) == "Succeeded", timeout=10, what="Succeeded")
        (info,) = await runtime.list(pod_uid=pod["metadata"]["uid"])
        output = b"".join([chunk async for chunk in runtime.logs(info.id)])
        assert output == f"hello from env on {NODE}\n".encode()
