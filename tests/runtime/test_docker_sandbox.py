"""Pod sandboxes on a real Docker engine: the containers of one pod share localhost, one
IP and the pod's host ports; the sandbox goes with the pod's last container."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Callable

import pytest

from orchestrator.runtime.base import ContainerSpec, PortMapping
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.runtime.docker_config import container_config, sandbox_config
from orchestrator.runtime.docker_sandbox import sandbox_name
from orchestrator.runtime.pause_image import PAUSE_IMAGE, pause_binary
from tests.runtime.test_docker_runtime import docker_cli, free_port, wait_state

MakeSpec = Callable[..., ContainerSpec]


def test_pause_binary_is_a_tiny_static_elf_for_both_architectures() -> None:
    for machine, e_machine in (("x86_64", 0x3E), ("aarch64", 0xB7)):
        binary = pause_binary(machine)
        assert binary is not None and binary[:4] == b"\x7fELF" and len(binary) < 200
        assert int.from_bytes(binary[18:20], "little") == e_machine
    assert pause_binary("riscv64") is None


def test_joined_containers_leave_hostname_and_ports_to_the_sandbox(make_spec: MakeSpec) -> None:
    port = PortMapping(container_port=80, host_port=8080)
    spec = make_spec(ports=[port], pod_ports=[port, PortMapping(container_port=9090)], share_pod_network=True)
    joined = container_config(spec, sandbox="abc")
    assert joined["HostConfig"]["NetworkMode"] == "container:abc" == joined["HostConfig"]["IpcMode"]
    assert "Hostname" not in joined and "ExposedPorts" not in joined and "PortBindings" not in joined["HostConfig"]
    box = sandbox_config(spec, PAUSE_IMAGE)
    assert box["Cmd"] == ["/pause"] and box["Hostname"] == spec.pod_name
    assert set(box["ExposedPorts"]) == {"80/tcp", "9090/tcp"}
    assert box["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    assert "orch.io/managed" not in box["Labels"] and box["Labels"]["orch.io/sandbox"] == spec.pod_uid


@pytest.mark.docker
async def test_two_containers_of_a_pod_share_localhost_ip_and_host_port(docker_rt: DockerRuntime,
                                                                       make_spec: MakeSpec) -> None:
    uid, host_port = str(uuid.uuid4()), free_port()
    web_port = PortMapping(container_port=8080, host_port=host_port, host_ip="127.0.0.1")
    common = {"pod_uid": uid, "pod_name": "duo", "share_pod_network": True, "pod_ports": [web_port]}
    web = make_spec(container_name="web", command=["httpd", "-f", "-p", "8080", "-h", "/www"],
                    ports=[web_port], **common)
    # the sidecar reaches the web server on localhost, which only the pod's namespace has
    side = make_spec(container_name="side", command=["sh", "-c",
                     "until wget -q -O - http://127.0.0.1:8080/index.html; do sleep 0.1; done; sleep 30"], **common)
    ids = [await docker_rt.create(s) for s in (web, side)]
    for cid in ids:
        await docker_rt.start(cid)
    async with asyncio.timeout(15):
        while b"hello from orch-test" not in b"".join([c async for c in docker_rt.logs(ids[1])]):
            await asyncio.sleep(0.1)
    infos = [await wait_state(docker_rt, cid, "running") for cid in ids]
    assert infos[0].ip and infos[0].ip == infos[1].ip  # one pod IP
    listed = {i.container_name for i in await docker_rt.list(uid)}
    assert listed == {"web", "side"}  # the sandbox is not one of the pod's containers
    # ... but the pod's host port is: published by the sandbox, served by the web container
    reader, writer = await asyncio.open_connection("127.0.0.1", host_port)
    writer.write(b"GET /index.html HTTP/1.0\r\n\r\n")
    assert (await reader.read()).endswith(b"hello from orch-test\n")
    writer.close()
    assert (await docker_cli("inspect", "-f", "{{.Config.Hostname}}", sandbox_name(uid))).strip() == "duo"
    await docker_rt.remove(ids[0])
    assert (await docker_cli("inspect", "-f", "{{.State.Running}}", sandbox_name(uid))).strip() == "true"
    await docker_rt.remove(ids[1])  # the last one: the sandbox goes too
    gone = await asyncio.to_thread(subprocess.run, ["docker", "inspect", sandbox_name(uid)], capture_output=True)
    assert gone.returncode != 0


@pytest.mark.docker
async def test_a_single_container_pod_gets_no_sandbox(docker_rt: DockerRuntime, make_spec: MakeSpec) -> None:
    spec = make_spec()
    cid = await docker_rt.create(spec)
    await docker_rt.start(cid)
    assert (await wait_state(docker_rt, cid, "running")).ip
    found = await asyncio.to_thread(subprocess.run, ["docker", "inspect", sandbox_name(spec.pod_uid)],
                                    capture_output=True)
    assert found.returncode != 0
