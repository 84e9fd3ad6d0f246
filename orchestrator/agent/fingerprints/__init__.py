"""Fingerprinters: what this node has (host, CPU, memory, GPUs), found once at start.

Each fingerprinter is a small module returning its own frozen dataclass; none imports
the API model (the agent maps these onto Node capacity).  Only GPU discovery runs
external tools, and it never raises for a machine without GPUs or with broken tools;
only a malformed ``--gpus`` declaration raises (``ValueError``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .cpu import CpuInfo, fingerprint_cpu
from .gpus import DISCOVERY_TIMEOUT, GpuDevice, declared_gpus, discover_gpus, fingerprint_gpus
from .host import HostInfo, fingerprint_host
from .memory import MemoryInfo, fingerprint_memory

__all__ = [
    "CpuInfo", "GpuDevice", "HostInfo", "MemoryInfo", "NodeFingerprint", "declared_gpus",
    "discover_gpus", "fingerprint_cpu", "fingerprint_gpus", "fingerprint_host",
    "fingerprint_memory", "fingerprint_node",
]  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeFingerprint:
    host: HostInfo
    cpu: CpuInfo
    memory: MemoryInfo
    gpus: tuple[GpuDevice, ...]


async def fingerprint_node(
    *, node_name: str, gpus: str = "auto", gpu_timeout: float = DISCOVERY_TIMEOUT
) -> NodeFingerprint:
    """Everything at once; ``gpus`` is the ``--gpus`` value (auto, none, 2xH100-80GB)."""
    return NodeFingerprint(
        host=fingerprint_host(),
        cpu=fingerprint_cpu(),
        memory=fingerprint_memory(),
        gpus=tuple(await fingerprint_gpus(spec=gpus, node_name=node_name, timeout=gpu_timeout)),
    )
