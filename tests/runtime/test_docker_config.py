"""The Engine API translation, without an engine."""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.runtime.base import ContainerSpec, PortMapping
from orchestrator.runtime.docker_config import container_config, info_from_inspect

MakeSpec = Callable[..., ContainerSpec]


def test_command_and_args(make_spec: MakeSpec) -> None:
    both = container_config(make_spec(command=["sh", "-c"], args=["echo hi"]))
    assert (both["Entrypoint"], both["Cmd"]) == (["sh", "-c"], ["echo hi"])
    command_only = container_config(make_spec(command=["echo"], args=[]))
    assert (command_only["Entrypoint"], command_only["Cmd"]) == (["echo"], [])
    args_only = container_config(make_spec(command=[], args=["echo", "hi"]))
    assert "Entrypoint" not in args_only and args_only["Cmd"] == ["echo", "hi"]
    neither = container_config(make_spec(command=[], args=[]))
    assert "Entrypoint" not in neither and "Cmd" not in neither  # the image decides


def test_labels_env_limits_gpus_ports(make_spec: MakeSpec) -> None:
    spec = make_spec(
        env={"A": "1", "B": "x=y"}, cpu_millis=250, memory_bytes=1 << 30, restart_count=5,
        gpu_device_ids=["GPU-a", "GPU-b"], labels={"orch.io/managed": "false", "team": "ml"},
        ports=[PortMapping(container_port=80, host_port=8080, host_ip="127.0.0.1"),
               PortMapping(container_port=53, protocol="UDP")],
    )  # fmt: skip
    config = container_config(spec)
    host = config["HostConfig"]
    assert config["Env"] == ["A=1", "B=x=y"]
    assert config["Labels"]["orch.io/managed"] == "true"  # ours win over extras
    assert config["Labels"]["team"] == "ml" and config["Labels"]["orch.io/restart-count"] == "5"
    assert (host["NanoCpus"], host["Memory"], host["Init"]) == (250_000_000, 1 << 30, True)
    assert host["DeviceRequests"] == [{"Driver": "nvidia", "DeviceIDs": ["GPU-a", "GPU-b"], "Capabilities": [["gpu"]]}]
    assert config["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}


def test_no_gpus_no_device_requests(make_spec: MakeSpec) -> None:
    host = container_config(make_spec())["HostConfig"]
    assert "DeviceRequests" not in host and "NanoCpus" not in host and "PortBindings" not in host


def test_info_from_inspect() -> None:
    labels = {"orch.io/managed": "true", "orch.io/pod-uid": "u1", "orch.io/pod-name": "web",
              "orch.io/namespace": "prod", "orch.io/container": "app", "orch.io/restart-count": "2"}  # fmt: skip
    data = {
        "Id": "abc", "Name": "/orch_prod_web_app_u1_2", "Image": "sha256:ff", "Created": "2026-01-01T00:00:00.5Z",
        "Config": {"Image": "busybox", "Labels": labels},
        "State": {"Status": "exited", "ExitCode": 137, "OOMKilled": True, "Error": "",
                  "StartedAt": "2026-01-01T00:00:01Z", "FinishedAt": "2026-01-01T00:00:09Z"},
        "NetworkSettings": {"IPAddress": "", "Networks": {"bridge": {"IPAddress": "172.17.0.9"}}},
    }  # fmt: skip
    info = info_from_inspect(data)
    assert (info.name, info.pod_uid, info.namespace, info.container_name, info.restart_count) == (
        "orch_prod_web_app_u1_2", "u1", "prod", "app", 2
    )  # fmt: skip
    assert (info.state, info.exit_code, info.oom_killed, info.error) == ("exited", 137, True, None)
    assert (info.ip, info.image, info.image_id) == ("172.17.0.9", "busybox", "sha256:ff")

    data["State"] = {"Status": "created", "ExitCode": 0, "StartedAt": "0001-01-01T00:00:00Z",
                     "FinishedAt": "0001-01-01T00:00:00Z"}  # fmt: skip
    created = info_from_inspect(data)
    assert (created.state, created.exit_code, created.started_at, created.finished_at) == ("created", None, None, None)
