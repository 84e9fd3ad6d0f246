"""Translation between orch's container types and the Docker Engine API's JSON.

Pure functions, no I/O and no aiodocker, so the Kubernetes semantics (command vs
ENTRYPOINT, args vs CMD), limits, ports and GPU DeviceRequests are unit-tested
without an engine.
"""

from __future__ import annotations

from typing import Any

from .base import ContainerInfo, ContainerSpec, info_from_labels, managed_labels

_ZERO_TIME = "0001-01-01T00:00:00Z"  # the engine's "never" for StartedAt/FinishedAt
_STATES = {"created": "created", "running": "running", "paused": "running",
           "restarting": "running", "exited": "exited", "dead": "exited",
           "removing": "exited"}  # fmt: skip


def container_config(spec: ContainerSpec) -> dict[str, Any]:
    """The Engine API create body; pure, so it is unit-tested without an engine."""
    host: dict[str, Any] = {"Init": True}
    config: dict[str, Any] = {
        "Image": spec.image,
        "Env": [f"{k}={v}" for k, v in spec.env.items()],
        "Labels": managed_labels(spec),
        "Hostname": spec.pod_name[:63].rstrip("-."),
        "HostConfig": host,
    }
    # Kubernetes: command replaces ENTRYPOINT (and then the image CMD is dropped too,
    # which the engine does whenever Entrypoint is set); args alone replace CMD.
    if spec.command:
        config["Entrypoint"] = list(spec.command)
        config["Cmd"] = list(spec.args)
    elif spec.args:
        config["Cmd"] = list(spec.args)
    if spec.working_dir:
        config["WorkingDir"] = spec.working_dir
    if spec.ports:
        config["ExposedPorts"] = {_port_key(p.container_port, p.protocol): {} for p in spec.ports}
        bindings: dict[str, list[dict[str, str]]] = {}
        for p in spec.ports:
            if p.host_port is not None:
                key = _port_key(p.container_port, p.protocol)
                bindings.setdefault(key, []).append({"HostIp": p.host_ip, "HostPort": str(p.host_port)})
        if bindings:
            host["PortBindings"] = bindings
    if spec.cpu_millis is not None:
        host["NanoCpus"] = spec.cpu_millis * 1_000_000
    if spec.memory_bytes is not None:
        host["Memory"] = spec.memory_bytes
    if spec.gpu_device_ids:
        host["DeviceRequests"] = [
            {"Driver": "nvidia", "DeviceIDs": list(spec.gpu_device_ids), "Capabilities": [["gpu"]]}
        ]
    return config


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
