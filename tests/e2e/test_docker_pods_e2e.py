"""Pods on a real Docker engine: the issue's "Must show: Real Docker" list.

The server runs in process (real socket, real SQLite); the node is PodSync on the
docker runtime with a joined node's credential, and the agent's log routes on a real
port that the node's address names, so `orch logs` goes CLI -> server -> agent ->
engine.  Every pod carries the label ``orch-test.io/suite=podsync-e2e-<run>``, which
rides onto its containers; the fixture removes every container with it (a label of this
run's own, so test runs sharing an engine leave each other's containers alone).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from orchestrator.agent import log_routes
from orchestrator.agent.podsync import PodSync
from orchestrator.agent.podsync_backoff import BackOffPolicy
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.server.app import build_app
from orchestrator.server.main import build_state, prepare
from orchestrator.settings import Settings
from tests.agent.podsync_support import (
    condition,
    create_pod,
    eventually,
    event_where,
    fast_settings,
    get_pod,
    phase,
    pod_manifest,
    pod_where,
    podsync,
    state_of,
)
from tests.conftest import free_port, orch_command
from tests.server.conftest import Api

pytestmark = pytest.mark.docker

NODE = "docker-node"
SUITE = {"orch-test.io/suite": f"podsync-e2e-{uuid.uuid4().hex[:8]}"}
GPUS = [{"index": 0, "uuid": "GPU-0000aaaa", "model": "NVIDIA H100 80GB HBM3", "memoryMiB": 81559},
        {"index": 1, "uuid": "GPU-1111bbbb", "model": "NVIDIA H100 80GB HBM3", "memoryMiB": 81559}]


@dataclass
class DockerNode:
    api: Api
    sync: PodSync
    runtime: DockerRuntime
    token: str


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True, timeout=30).stdout


def _remove_suite_containers() -> None:
    ids = _docker("ps", "-aq", "--filter", f"label=orch-test.io/suite={SUITE['orch-test.io/suite']}").split()
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, timeout=60)


@pytest.fixture
async def node(tmp_path: Path, docker_required: None) -> AsyncIterator[DockerNode]:
    settings = Settings(data_dir=tmp_path / "server")
    state = await build_state(settings)
    writer = asyncio.create_task(state.store.run())
    await prepare(state)
    app = build_app(state)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    runtime = await DockerRuntime.open()
    agent_app = web.Application()
    log_routes.register(agent_app, runtime=runtime, proxy_token_digest=hashlib.sha256(state.proxy_token.encode()).hexdigest())
    port = free_port()
    agent = TestServer(agent_app, host="127.0.0.1", port=port)
    await agent.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(http, state, str(server.make_url("")).rstrip("/"),
                      (tmp_path / "server" / "admin-token").read_text().strip(),
                      (tmp_path / "server" / "join-token").read_text().strip())
            status, body = await api.call("POST", "/join", token=api.join_token, json={
                "name": NODE, "address": f"127.0.0.1:{port}", "cpuMillis": 2000, "memoryBytes": 4 * 2**30,
                "runtime": "docker", "gpus": GPUS})
            assert status == 201, body
            settings_ = fast_settings(restart_backoff=BackOffPolicy(base_s=1.0, cap_s=8.0, reset_s=60.0))
            async with podsync(api, runtime=runtime, node=NODE, token=body["token"], data_dir=tmp_path,
                               settings=settings_) as sync:
                yield DockerNode(api=api, sync=sync, runtime=runtime, token=body["token"])
    finally:
        _remove_suite_containers()
        await agent.close()
        await runtime.close()
        await server.close()
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        await state.store.close()


def _manifest(name: str, **kw: Any) -> dict[str, Any]:
    return pod_manifest(name, node=NODE, labels=dict(SUITE), **kw)


def _containers(pod_uid: str) -> list[str]:
    return _docker("ps", "-aq", "--filter", f"label=orch.io/pod-uid={pod_uid}").split()


async def _orch(api: Api, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "ORCH_SERVER": api.url, "ORCH_TOKEN": api.token}
    proc = await asyncio.create_subprocess_exec(*orch_command(), *args, env=env, stdout=subprocess.PIPE,
                                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    return proc.returncode or 0, out.decode(), err.decode()


def _http_get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as resp:
        return resp.read().decode()


async def test_httpd_runs_serves_logs_and_restarts_after_docker_kill(node: DockerNode) -> None:
    api, host_port = node.api, free_port()
    await create_pod(api, _manifest(
        "web", command=["sh", "-c", "echo serving on 8080; exec httpd -f -v -p 8080 -h /www"],
        ports=[{"containerPort": 8080, "hostPort": host_port, "hostIP": "127.0.0.1"}],
        readinessProbe={"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1}))
    pod = await pod_where(api, "web", lambda p: condition(p, "Ready") == "True", timeout=15, what="Ready")
    assert phase(pod) == "Running" and pod["status"]["podIP"].startswith("172.")
    assert "hello from orch-test" in await asyncio.to_thread(_http_get, f"http://127.0.0.1:{host_port}/")
    code, out, err = await _orch(api, "logs", "web")
    assert code == 0 and "serving on 8080" in out, (out, err)
    code, out, _ = await _orch(api, "logs", "web", "--tail", "1", "-c", "main")
    assert code == 0 and out.strip(), out
    code, out, err = await _orch(api, "logs", "web", "--timestamps", "--since", "10m")
    assert code == 0 and re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z serving on 8080\n", out), (out, err)
    code, out, err = await _orch(api, "logs", "web", "--since-time", "2999-01-01T00:00:00Z")
    assert (code, out) == (0, ""), err
    first = state_of(pod)["containerID"].removeprefix("docker://")
    await asyncio.to_thread(_docker, "kill", first)
    pod = await pod_where(api, "web", lambda p: state_of(p).get("restartCount", 0) == 1
                          and "running" in state_of(p)["state"], timeout=15, what="restarted once")
    cs = state_of(pod)
    assert cs["containerID"] != f"docker://{first}" and cs["lastState"]["terminated"]["exitCode"] == 137
    await pod_where(api, "web", lambda p: condition(p, "Ready") == "True", timeout=10, what="Ready again")
    code, out, _ = await _orch(api, "logs", "web", "--previous")
    assert code == 0 and "serving on 8080" in out
    await asyncio.to_thread(_docker, "rm", "-f", *_containers(pod["metadata"]["uid"]))  # every attempt, by hand
    await pod_where(api, "web", lambda p: state_of(p).get("restartCount", 0) == 2
                    and "running" in state_of(p)["state"], timeout=15, what="made again after docker rm")


async def test_failing_command_goes_to_crash_loop_with_growing_back_off(node: DockerNode) -> None:
    api = node.api
    await create_pod(api, _manifest("crash", command=["sh", "-c", "echo boom; exit 3"]))
    delays: list[str] = []

    def crash_looping(p: dict[str, Any]) -> bool:
        waiting = state_of(p).get("state", {}).get("waiting") or {}
        if waiting.get("reason") == "CrashLoopBackOff":
            word = waiting["message"].split()[1]  # "back-off 2s restarting failed container=..."
            if word not in delays:
                delays.append(word)
        return len(delays) >= 2

    pod = await pod_where(api, "crash", crash_looping, timeout=20, what="two back-off steps")
    seconds = [float(d.rstrip("s")) for d in delays]
    assert seconds == sorted(set(seconds)) and set(seconds) <= {1, 2, 4, 8}, delays  # growing: 1 s, 2 s, ...
    cs = state_of(pod)
    assert cs["restartCount"] >= 2 and cs["lastState"]["terminated"]["exitCode"] == 3
    assert phase(pod) == "Running"  # restartPolicy Always: it will restart
    await event_where(api, "crash", lambda e: e["reason"] == "BackOff", what="a BackOff event")


async def test_job_pod_succeeds_and_deletion_stops_within_grace(node: DockerNode) -> None:
    api = node.api
    await create_pod(api, _manifest("job", command=["sh", "-c", "echo done"], restart="Never"))
    await create_pod(api, _manifest("sleeper", command=["sleep", "3600"], grace=3))
    job = await pod_where(api, "job", lambda p: phase(p) == "Succeeded", timeout=15, what="Succeeded")
    assert state_of(job)["state"]["terminated"]["reason"] == "Completed"
    sleeper = await pod_where(api, "sleeper", lambda p: phase(p) == "Running", timeout=15, what="Running")
    uid = sleeper["metadata"]["uid"]
    assert len(_containers(uid)) == 1
    started = time.monotonic()
    status, _ = await api.call("DELETE", "/api/v1/namespaces/default/pods/sleeper")
    assert status == 202
    await eventually(lambda: _gone(api, "sleeper"), timeout=10, what="the pod to go")
    assert time.monotonic() - started < 3 + 2.0  # stopped within its grace (sleep honours SIGTERM via init)
    assert _containers(uid) == []


async def test_a_sidecar_reaches_its_pod_mate_on_localhost_and_the_sandbox_goes_with_the_pod(
        node: DockerNode) -> None:
    api = node.api
    manifest = _manifest("duo", command=["httpd", "-f", "-p", "8080", "-h", "/www"])
    manifest["spec"]["containers"].append({
        "name": "side", "image": "orch-test/busybox:latest", "imagePullPolicy": "IfNotPresent",
        "command": ["sh", "-c", "until wget -q -O - http://localhost:8080/index.html; do sleep 0.2; done; "
                                "exec sleep 3600"]})
    await create_pod(api, manifest)
    pod = await pod_where(api, "duo", lambda p: phase(p) == "Running" and condition(p, "Ready") == "True",
                          timeout=20, what="both containers running")
    assert pod["status"]["podIP"].startswith("172.")
    code, out, err = await _orch(api, "logs", "duo", "-c", "side")
    assert code == 0 and "hello from orch-test" in out, (out, err)
    sandbox = f"orch-sandbox-{pod['metadata']['uid']}"
    assert _docker("inspect", "-f", "{{.State.Running}}", sandbox).strip() == "true"
    status, _ = await api.call("DELETE", "/api/v1/namespaces/default/pods/duo?gracePeriodSeconds=1")
    assert status == 202
    await eventually(lambda: _gone(api, "duo"), timeout=15, what="the pod to go")
    assert subprocess.run(["docker", "inspect", sandbox], capture_output=True, timeout=30).returncode != 0


async def _gone(api: Api, name: str) -> bool:
    return await get_pod(api, name) is None


async def test_liveness_failure_restarts_the_container(node: DockerNode) -> None:
    api = node.api
    await create_pod(api, _manifest(
        "sick", command=["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 3600"], grace=1,
        livenessProbe={"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 1}))
    pod = await pod_where(api, "sick", lambda p: state_of(p).get("restartCount", 0) >= 1, timeout=20,
                          what="a restart after the liveness probe failed")
    assert pod["status"]["phase"] == "Running"
    await event_where(api, "sick", lambda e: e["reason"] == "Unhealthy" and e["message"].startswith(
        "Liveness probe failed"), what="an Unhealthy event")
    await event_where(api, "sick", lambda e: e["reason"] == "Killing", what="a Killing event")


async def test_missing_image_gives_err_image_pull_with_the_engine_message(node: DockerNode) -> None:
    api = node.api
    await create_pod(api, _manifest("ghost", image="orch-test/does-not-exist:1.0", command=["true"]))
    pod = await pod_where(api, "ghost", lambda p: (state_of(p).get("state", {}).get("waiting") or {})
                          .get("reason") == "ErrImagePull", timeout=15, what="ErrImagePull")
    message = state_of(pod)["state"]["waiting"]["message"]
    assert "docker pull" in message and "does-not-exist" in message, message
    assert phase(pod) == "Pending"
    pod = await pod_where(api, "ghost", lambda p: (state_of(p).get("state", {}).get("waiting") or {})
                          .get("reason") == "ImagePullBackOff", timeout=10, what="ImagePullBackOff")
    await event_where(api, "ghost", lambda e: e["reason"] == "Failed" and e["message"].startswith(
        'Failed to pull image "orch-test/does-not-exist:1.0"'), what="a Failed event")


async def test_gpu_pod_gets_device_requests_with_its_assigned_ids(node: DockerNode) -> None:
    api = node.api
    manifest = _manifest("cuda", command=["sleep", "3600"], resources={"limits": {"nvidia.com/gpu": 2}})
    manifest["metadata"]["annotations"] = {"orch.io/gpu-devices": "GPU-0000aaaa,GPU-1111bbbb"}
    created = await create_pod(api, manifest)

    async def container() -> list[str]:
        return _containers(created["metadata"]["uid"])

    ids = await eventually(container, timeout=15, what="a container")
    inspected = json.loads(await asyncio.to_thread(_docker, "inspect", ids[0]))[0]
    requests = inspected["HostConfig"]["DeviceRequests"]
    assert requests == [{"Driver": "nvidia", "Count": 0, "DeviceIDs": ["GPU-0000aaaa", "GPU-1111bbbb"],
                         "Capabilities": [["gpu"]], "Options": None}] or (
        [r["DeviceIDs"] for r in requests] == [["GPU-0000aaaa", "GPU-1111bbbb"]]), requests
    # no nvidia runtime on this engine: the start fails, and the status says why
    pod = await pod_where(api, "cuda", lambda p: "StartError" in json.dumps(state_of(p)), timeout=15,
                          what="a StartError")
    assert "terminated" in json.dumps(pod["status"]["containerStatuses"])


# --- the real processes: `orch server` with its embedded agent, `orch apply`, `orch logs` ------

def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*orch_command(), *args], env=env, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL)


def _wait(check: Any, *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.2)


def test_orch_server_embedded_agent_runs_an_applied_pod(tmp_path: Path, docker_required: None) -> None:
    port, host_port = free_port(), free_port()
    data = tmp_path / "srv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    with (tmp_path / "server.log").open("wb") as log:
        proc = subprocess.Popen([*orch_command(), "server", "--data-dir", str(data), "--listen",
                                 f"127.0.0.1:{port}", "--kube-port", "0"], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        token = _wait(lambda: (data / "admin-token").exists() and (data / "admin-token").read_text().strip(),
                      timeout=20, what="the admin token")
        env.update(ORCH_SERVER=f"http://127.0.0.1:{port}", ORCH_TOKEN=token)
        _wait(lambda: "Ready" in _run(env, "get", "nodes").stdout, timeout=30, what="the embedded node")
        manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": SUITE},
                    "spec": {"terminationGracePeriodSeconds": 2, "containers": [{
                        "name": "web", "image": "orch-test/busybox:latest", "imagePullPolicy": "IfNotPresent",
                        "command": ["sh", "-c", "echo serving on 8080; exec httpd -f -p 8080 -h /www"],
                        "ports": [{"containerPort": 8080, "hostPort": host_port, "hostIP": "127.0.0.1"}]}]}}
        (tmp_path / "web.yaml").write_text(json.dumps(manifest))
        assert _run(env, "apply", "-f", str(tmp_path / "web.yaml")).returncode == 0
        _wait(lambda: json.loads(_run(env, "get", "pod", "web", "-o", "json").stdout or "{}")
              .get("status", {}).get("phase") == "Running", timeout=30, what="Running")
        assert "hello from orch-test" in _wait(lambda: _try_get(f"http://127.0.0.1:{host_port}/"), timeout=10,
                                               what="the hostPort to answer")
        logs = _run(env, "logs", "web")
        assert logs.returncode == 0 and "serving on 8080" in logs.stdout, logs.stderr
    finally:
        if "ORCH_TOKEN" in env:
            _run(env, "delete", "pod", "web", "--wait", "--timeout", "20")
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _try_get(url: str) -> str:
    try:
        return _http_get(url)
    except OSError:
        return ""
