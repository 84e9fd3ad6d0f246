"""Simulated nodes: names, fake addresses, GPU devices and the /join body (pure), and the
`SimNode` record the rest of the sim shares.

GPU UUIDs are NVIDIA-style (`GPU-` + a UUID) and deterministic: uuid5 of the node name
and device index, so a restarted sim reports the same devices and the scheduler's
recorded assignments stay valid. Node addresses are fake (172.16.0.0/12, one per node)
and carry no port, so the server is never told of an agent endpoint to call. Sims with
different name prefixes start numbering at different places (`prefix_offset`), so
several sims in one cluster rarely hand out the same address.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from orchestrator import __version__
from orchestrator.agent.sim.settings import NodeShape
from orchestrator.client import Client

GPU_UUID_NAMESPACE = uuid.UUID("5c0b7a52-6d1e-4d8a-9f3e-0a9e3c1f5b21")  # fixed: ids must not change
NODE_IPS = (1 << 20) - 2  # host addresses in 172.16.0.0/12


def node_names(*, prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i}" for i in range(count)]


def gpu_uuid(*, node: str, index: int) -> str:
    return f"GPU-{uuid.uuid5(GPU_UUID_NAMESPACE, f'{node}/{index}')}"


def gpu_devices(*, node: str, shape: NodeShape) -> list[dict[str, Any]]:
    return [{"index": i, "uuid": gpu_uuid(node=node, index=i), "model": shape.gpu_model,
             "memoryMiB": shape.gpu_memory_mib} for i in range(shape.gpus_per_node)]


def prefix_offset(prefix: str, *, space: int) -> int:
    """Where a sim with this name prefix starts numbering in a space of `space` values."""
    return int.from_bytes(hashlib.sha256(prefix.encode()).digest()[:8], "big") % space


def node_ip(index: int, *, offset: int = 0) -> str:
    """A fake InternalIP, unique per node index within one sim: offset 0 gives 172.16.0.1,
    172.16.0.2, ...; never the network or broadcast address of 172.16.0.0/12."""
    if not 0 <= index < NODE_IPS:
        raise ValueError(f"node index {index} is out of range (at most {NODE_IPS} nodes)")
    n = (index + offset) % NODE_IPS + 1
    return f"172.{16 + (n >> 16)}.{(n >> 8) & 0xFF}.{n & 0xFF}"


def join_body(*, name: str, ip: str, shape: NodeShape) -> dict[str, Any]:
    """The JoinRequest a real agent would send, describing a simulated machine."""
    return {"name": name, "address": ip, "labels": dict(shape.labels),
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
