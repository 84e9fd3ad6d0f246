"""The Docker driver against a real engine and the offline busybox test image."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import datetime

import pytest

from orchestrator.runtime import errors
from orchestrator.runtime.base import ContainerInfo, ContainerRuntime, ContainerSpec, PortMapping
from orchestrator.runtime.docker import DockerRuntime

pytestmark = pytest.mark.docker

TEST_IMAGE = "orch-test/busybox:latest"
MakeSpec = Callable[..., ContainerSpec]


async def wait_state(rt: DockerRuntime, id: str, state: str, *, timeout: float = 10.0) -> ContainerInfo:
    async with asyncio.timeout(timeout):
        while (info := await rt.inspect(id)).state != state:
            await asyncio.sleep(0.05)
    return info


async def run_to_exit(rt: DockerRuntime, make_spec: MakeSpec, **overrides: object) -> tuple[ContainerInfo, bytes]:
    id = await rt.create(make_spec(**overrides))
    await rt.start(id)
    info = await wait_state(rt, id, "exited")
    return info, b"".join([chunk async for chunk in rt.logs(id)])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def docker_cli(*args: str, check: bool = True) -> str:
    result = await asyncio.to_thread(
        subprocess.run, ["docker", *args], capture_output=True, text=True, check=check, timeout=20
    )
    return result.stdout


async def test_is_a_container_runtime(docker_rt: DockerRuntime) -> None:
    assert isinstance(docker_rt, ContainerRuntime)
    assert docker_rt.name == "docker"
    assert await docker_rt.version()


async def test_lifecycle(docker_rt: DockerRuntime, make_spec: MakeSpec) -> None:
    spec = make_spec(command=["sh", "-c", "echo to-out; echo to-err >&2; exec sleep 30"], restart_count=2)
    id = await docker_rt.create(spec)

    created = await docker_rt.inspect(id)
    assert created.state == "created" and created.exit_code is None and created.started_at is None
    assert (created.pod_uid, created.pod_name, created.container_name) == (spec.pod_uid, spec.pod_name, "main")
    assert created.restart_count == 2 and spec.labels.items() <= created.labels.items()
    assert created.image == TEST_IMAGE and created.image_id.startswith("sha256:")

    await docker_rt.start(id)
    running = await docker_rt.inspect(id)
    assert running.state == "running" and running.started_at and running.ip
    async with asyncio.timeout(5):
        while b"to-err" not in (out := b"".join([c async for c in docker_rt.logs(id)])):
            await asyncio.sleep(0.05)
    assert b"to-out\n" in out and b"to-err\n" in out  # stdout and stderr, demultiplexed

    t0 = time.monotonic()
    await docker_rt.stop(id, 10)
    assert time.monotonic() - t0 < 5, "Init should pass SIGTERM on to sleep"
    stopped = await docker_rt.inspect(id)
    assert stopped.state == "exited" and stopped.exit_code == 143 and stopped.finished_at

    assert [i.id for i in await docker_rt.list(pod_uid=spec.pod_uid)] == [id]
    await docker_rt.remove(id)
    with pytest.raises(errors.ContainerNotFound):
        await docker_rt.inspect(id)
    assert await docker_rt.list(pod_uid=spec.pod_uid) == []


async def test_stop_kills_after_grace(docker_rt: DockerRuntime, make_spec: MakeSpec) -> None:
    id = await docker_rt.create(make_spec(command=["sh", "-c", "trap '' TERM; sleep 30"]))
    await docker_rt.start(id)
    await asyncio.sleep(0.2)  # let sh install its trap
    t0 = time.monotonic()
    await docker_rt.stop(id, 1)
    elapsed = time.monotonic() - t0
    info = await docker_rt.inspect(id)
    assert 0.9 < elapsed < 5 and info.exit_code == 137


async def test_command_and_args_follow_kubernetes(docker_rt: DockerRuntime, make_spec: MakeSpec) -> None:
    # command replaces ENTRYPOINT and drops the image CMD (["/bin/sh"]) with it
    info, out = await run_to_exit(docker_rt, make_spec, command=["echo", "only-command"])
    assert (info.exit_code, out) == (0, b"only-command\n")
    # args alone replace CMD
    info, out = await run_to_exit(docker_rt, make_spec, command=[], args=["echo", "only-args"])
    assert out == b"only-args\n"
    # both, with env and working dir
    info, out = await run_to_exit(
        docker_rt, make_spec, command=["sh", "-c"], args=['echo "$GREETING from $(pwd)"; exit 3'],
        env={"GREETING": "hello world"}, working_dir="/tmp",
    )  # fmt: skip
    assert (info.exit_code, out) == (3, b"hello world from /tmp\n")


async def test_port_published_on_loopback(docker_rt: DockerRuntime, make_spec: MakeSpec) -> None:
    port = free_port()
    spec = make_spec(
        command=["httpd", "-f", "-p", "8080", "-h", "/www"],
        ports=[PortMapping(container_port=8080, host_port=port, host_ip="127.0.0.1")],
    )
    id = await docker_rt.create(spec)
    await docker_rt.start(id)
    async with asyncio.timeout(10):
        while True:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(b"GET /index.html HTTP/1.0\r\n\r\n")
                response = await reader.read()
                writer.close()
                if b"200" in response.split(b"\r\n", 1)[0]:
                    break
            except OSError:
                pass
            await asyncio.sleep(0.1)
    assert response.endswith(b"hello from orch-test\n")


async def test_image_policies_and_pull_failure(docker_rt: DockerRuntime) -> None:
    missing = "127.0.0.1:1/orch-test/nonexistent:latest"  # a loopback "registry": fails fast
    with pytest.raises(errors.ImagePullError) as caught:
        await docker_rt.ensure_image(missing, "IfNotPresent")
    assert caught.value.image == missing
    assert "connection refused" in caught.value.message  # the engine's own words
    with pytest.raises(errors.ImageNotPresent):
        await docker_rt.ensure_image(missing, "Never")
    await docker_rt.ensure_image(TEST_IMAGE, "Never")
    await docker_rt.ensure_image(TEST_IMAGE, "IfNotPresent")
    await docker_rt.ensure_image(TEST_IMAGE, "Always")  # pull fails offline: local copy used


async def test_limits_and_gpu_device_requests_recorded(docker_rt: DockerRuntime, make_spec: MakeSpec) -> None:
    gpus = ["GPU-5a3b1c2d-0000-4000-8000-000000000001", "GPU-5a3b1c2d-0000-4000-8000-000000000002"]
    id = await docker_rt.create(make_spec(cpu_millis=500, memory_bytes=64 << 20, gpu_device_ids=gpus))
    host = json.loads(await docker_cli("inspect", id))[0]["HostConfig"]
    [request] = host["DeviceRequests"]
    assert (request["Driver"], request["DeviceIDs"], request["Capabilities"]) == ("nvidia", gpus, [["gpu"]])
    assert (host["NanoCpus"], host["Memory"], host["Init"]) == (500_000_000, 64 << 20, True)
    # Without the nvidia runtime the engine accepts the request at create and refuses
    # at start; with it, the container simply runs.
    try:
        await docker_rt.start(id)
    except errors.RuntimeError_ as exc:
        assert "device driver" in exc.message


async def test_exec(docker_rt: DockerRuntime, make_spec: MakeSpec) -> None:
    id = await docker_rt.create(make_spec(env={"WHO": "probe"}))
    await docker_rt.start(id)
    code, out = await docker_rt.exec(id, ["sh", "-c", "echo hi $WHO; echo oops >&2; exit 3"], 5)
    assert code == 3 and b"hi probe\n" in out and b"oops\n" in out
    with pytest.raises(errors.ExecTimeout):
        await docker_rt.exec(id, ["sleep", "5"], 0.5)
    await docker_rt.stop(id, 1)
    with pytest.raises(errors.ContainerConflict):
        await docker_rt.exec(id, ["true"], 5)


async def test_logs_follow_and_tail(docker_rt: DockerRuntime, make_spec: MakeSpec) -> None:
    id = await docker_rt.create(
        make_spec(command=["sh", "-c", "for i in 1 2 3 4; do echo line$i; done; sleep 0.5; echo late"])
    )
    await docker_rt.start(id)
    followed = b"".join([chunk async for chunk in docker_rt.logs(id, follow=True)])
    assert followed == b"line1\nline2\nline3\nline4\nlate\n"  # ends when the container does
    assert b"".join([c async for c in docker_rt.logs(id, tail=2)]) == b"line4\nlate\n"


async def test_logs_since_and_timestamps(docker_rt: DockerRuntime, make_spec: MakeSpec) -> None:
    id = await docker_rt.create(make_spec(command=["sh", "-c", "echo first; sleep 2; echo second"]))
    await docker_rt.start(id)
    async with asyncio.timeout(10):
        while b"first" not in b"".join([c async for c in docker_rt.logs(id)]):
            await asyncio.sleep(0.05)
    between = time.time()  # after "first" was written, about 2 s before "second"
    await wait_state(docker_rt, id, "exited")
    assert b"".join([c async for c in docker_rt.logs(id, since=between)]) == b"second\n"
    assert b"".join([c async for c in docker_rt.logs(id, since=between, tail=1)]) == b"second\n"
    stamped = b"".join([c async for c in docker_rt.logs(id, timestamps=True)]).decode().splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["first", "second"], stamped
    times = []
    for line in stamped:  # RFC3339Nano, as kubectl shows it
        m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?Z ", line)
        assert m, line
        times.append(datetime.fromisoformat(m.group(1) + (m.group(2) or "")[:7] + "+00:00").timestamp())
    assert times[0] <= between + 0.1 and between <= times[1]


async def test_only_managed_containers_are_seen(docker_rt: DockerRuntime, make_spec: MakeSpec) -> None:
    a, b = make_spec(), make_spec()
    id_a = await docker_rt.create(a)
    await docker_rt.create(b)
    assert [i.id for i in await docker_rt.list(pod_uid=a.pod_uid)] == [id_a]
    assert {a.pod_uid, b.pod_uid} <= {i.pod_uid for i in await docker_rt.list()}
    stranger = (await docker_cli("create", "--label", f"orch.io/pod-uid={a.pod_uid}", TEST_IMAGE, "true")).strip()
    try:
        assert stranger not in {i.id for i in await docker_rt.list(pod_uid=a.pod_uid)}
        with pytest.raises(errors.ContainerNotFound):
            await docker_rt.inspect(stranger)
    finally:
        await docker_cli("rm", "-f", stranger, check=False)


async def test_same_attempt_twice_conflicts(docker_rt: DockerRuntime, make_spec: MakeSpec) -> None:
    spec = make_spec()
    await docker_rt.create(spec)
    with pytest.raises(errors.ContainerConflict):
        await docker_rt.create(spec)  # e.g. a retry after a lost answer: no twin
    spec.restart_count += 1
    await docker_rt.create(spec)  # the next attempt has its own name


async def test_missing_container_errors(docker_rt: DockerRuntime) -> None:
    calls = [lambda: docker_rt.start("nope"), lambda: docker_rt.stop("nope", 1),
             lambda: docker_rt.remove("nope"), lambda: docker_rt.inspect("nope"),
             lambda: docker_rt.exec("nope", ["true"], 1)]  # fmt: skip
    for call in calls:
        with pytest.raises(errors.ContainerNotFound):
            await call()
    with pytest.raises(errors.ContainerNotFound):
        [chunk async for chunk in docker_rt.logs("nope")]
