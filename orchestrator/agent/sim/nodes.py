"""Simulated nodes: names, fake addresses, GPU devices and the /join body (pure), and the
`SimNode` record the rest of the sim shares.

GPU UUIDs are NVIDIA-style (`GPU-` + a UUID) and deterministic: uuid5 of the node name
and device index, so a restarted sim reports the same devices and the scheduler's
recorded assignments stay valid. Node addresses are fake (172.16.0.0/12, one per node)
and carry no port, so the server is never told of an agent endpoint to call.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from orchestrator import __version__
from orchestrator.agent.sim.settings import NodeShape
from orchestrator.client import Client

GPU_UUID_NAMESPACE = uuid.UUID("5c0b7a52-6d1e-4d8a-9f3e-0a9e3c1f5b21")  # fixed: ids must not change
MAX_NODES = 1 << 20  # what 172.16.0.0/12 holds


def node_names(*, prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i}" for i in range(count)]


def gpu_uuid(*, node: str, index: int) -> str:
    return f"GPU-{uuid.uuid5(GPU_UUID_NAMESPACE, f'{node}/{index}')}"


def gpu_devices(*, node: str, shape: NodeShape) -> list[dict[str, Any]]:
    return [{"index": i, "uuid": gpu_uuid(node=node, index=i), "model": shape.gpu_model,
             "memoryMiB": shape.gpu_memory_mib} for i in range(shape.gpus_per_node)]


def node_ip(index: int) -> str:
    """A fake, unique InternalIP per node index: 172.16.0.1, 172.16.0.2, ... (never .0)."""
    if not 0 <= index < MAX_NODES - 1:
        raise ValueError(f"node index {index} is out of range (at most {MAX_NODES - 2} nodes)")
    n = index + 1
    return f"172.{16 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}"


def join_body(*, name: str, index: int, shape: NodeShape) -> dict[str, Any]:
    """The JoinRequest a real agent would send, describing a simulated machine."""
    return {"name": name, "address": node_ip(index), "labels": dict(shape.labels),
            "cpuMillis": shape.cpu_millis, "memoryBytes": shape.memory_bytes, "maxPods": shape.max_pods,
            "gpus": gpu_devices(node=name, shape=shape), "runtime": "sim", "agentVersion": __version__,
            "os": "linux", "arch": "amd64", "osImage": "orch sim", "role": "sim"}


@dataclass(slots=True, kw_only=True, eq=False)
class SimNode:
    """One joined node: its credential (as a Client on the shared session) and lease state."""

    name: str
    index: int
    ip: str
    client: Client
    lease_enabled: bool = True      # False: renewals stopped on purpose (control endpoint)
    gone: bool = False              # its Node was deleted: nothing more is written for it
    renewed_at: float | None = None  # loop time of the last successful lease renewal
    lease_generation: int = 0       # bumps when renewals restart, so stale timers drop out
    node: Any = field(default=None)  # the latest Node seen by the node watch

    @property
    def token(self) -> str:
        return self.client.token
