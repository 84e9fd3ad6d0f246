"""Translation between orch's container types and the Docker Engine API's JSON.

Pure functions, no I/O and no aiodocker, so the Kubernetes semantics (command vs
ENTRYPOINT, args vs CMD), limits, ports and GPU DeviceRequests are unit-tested
without an engine.
"""

from __future__ import annotations

from typing import Any

from .base import (LABEL_NAMESPACE, LABEL_POD_NAME, LABEL_SANDBOX, ContainerInfo, ContainerSpec, PortMapping,
                   info_from_labels, managed_labels)

_ZERO_TIME = "0001-01-01T00:00:00Z"  # the engine's "never" for StartedAt/FinishedAt
_STATES = {"created": "created", "running": "running", "paused": "running",
           "restarting": "running", "exited": "exited", "dead": "exited",
           "removing": "exited"}  # fmt: skip


def container_config(spec: ContainerSpec, *, sandbox: str | None = None) -> dict[str, Any]:
    """The Engine API create body; pure, so it is unit-tested without an engine.

    With `sandbox` (a container id) the container joins that container's network and IPC
    namespaces, as the containers of one Kubernetes pod do; the sandbox then holds the
    pod's hostname and host ports, which the engine refuses on a joining container."""
    host: dict[str, Any] = {"Init": True}
    config: dict[str, Any] = {
        "Image": spec.image,
        "Env": [f"{k}={v}" for k, v in spec.env.items()],
        "Labels": managed_labels(spec),
        "HostConfig": host,
    }
    if sandbox is not None:
        host["NetworkMode"] = host["IpcMode"] = f"container:{sandbox}"
    else:
        config["Hostname"] = _hostname(spec)
        _publish(config, spec.ports)
    # Kubernetes: command replaces ENTRYPOINT (and then the image CMD is dropped too,
    # which the engine does whenever Entrypoint is set); args alone replace CMD.
    if spec.command:
        config["Entrypoint"] = list(spec.command)
        config["Cmd"] = list(spec.args)
    elif spec.args:
        config["Cmd"] = list(spec.args)
    if spec.working_dir:
        config["WorkingDir"] = spec.working_dir
    if spec.cpu_millis is not None:
        host["NanoCpus"] = spec.cpu_millis * 1_000_000
    if spec.memory_bytes is not None:
        host["Memory"] = spec.memory_bytes
    if spec.gpu_device_ids:
        host["DeviceRequests"] = [
            {"Driver": "nvidia", "DeviceIDs": list(spec.gpu_device_ids), "Capabilities": [["gpu"]]}
        ]
    return config


def sandbox_config(spec: ContainerSpec, image: str) -> dict[str, Any]:
    """The Engine API create body of a pod's sandbox: it waits, and owns the pod's network
    (hostname, IP, every container's host ports)."""
    config: dict[str, Any] = {
        "Image": image,
        "Cmd": ["/pause"],
        "Labels": {LABEL_SANDBOX: spec.pod_uid, LABEL_POD_NAME: spec.pod_name, LABEL_NAMESPACE: spec.namespace},
        "Hostname": _hostname(spec),
        "HostConfig": {"IpcMode": "shareable"},  # its containers join its IPC namespace too
    }
    _publish(config, spec.pod_ports)
    return config


def _hostname(spec: ContainerSpec) -> str:
    return (spec.hostname or spec.pod_name)[:63].rstrip("-.")


def _publish(config: dict[str, Any], ports: list[PortMapping]) -> None:
    if not ports:
        return
    config["ExposedPorts"] = {_port_key(p.container_port, p.protocol): {} for p in ports}
    bindings: dict[str, list[dict[str, str]]] = {}
    for p in ports:
        if p.host_port is not None:
            key = _port_key(p.container_port, p.protocol)
            bindings.setdefault(key, []).append({"HostIp": p.host_ip, "HostPort": str(p.host_port)})
    if bindings:
        config["HostConfig"]["PortBindings"] = bindings


def _port_key(port: int, protocol: str) -> str:
    return f"{port}/{protocol.lower()}"


def info_from_inspect(data: dict[str, Any]) -> ContainerInfo:
    cfg = data.get("Config") or {}
    state = data.get("State") or {}
    info = info_from_labels(
        id=data["Id"],
        name=str(data.get("Name", "")).lstrip("/"),
        image=cfg.get("Image", ""),
        labels=cfg.get("Labels") or {},
    )
    info.image_id = data.get("Image", "")
    info.state = _STATES.get(state.get("Status", ""), "unknown")  # type: ignore[assignment]
    if info.state == "exited":
        info.exit_code = state.get("ExitCode")
    info.created_at = _time(data.get("Created"))
    info.started_at = _time(state.get("StartedAt"))
    info.finished_at = _time(state.get("FinishedAt")) if info.state == "exited" else None
    info.ip = _ip(data.get("NetworkSettings") or {})
    info.error = state.get("Error") or None
    info.oom_killed = bool(state.get("OOMKilled"))
    return info


def _time(value: str | None) -> str | None:
    return None if not value or value.startswith(_ZERO_TIME[:10]) else value


def _ip(net: dict[str, Any]) -> str | None:
    if net.get("IPAddress"):
        return str(net["IPAddress"])
    for network in (net.get("Networks") or {}).values():
        if network.get("IPAddress"):
            return str(network["IPAddress"])
    return None
