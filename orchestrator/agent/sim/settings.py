"""What one `orch sim` process simulates, with units and defaults."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_GPU_MODEL = "NVIDIA H100 80GB HBM3"
DEFAULT_GPU_MEMORY_MIB = 81559


@dataclass(slots=True, kw_only=True)
class NodeShape:
    """The capacity every simulated node reports."""

    cpu_millis: int = 8000
    memory_bytes: int = 32 * 2**30
    max_pods: int = 110
    gpus_per_node: int = 0
    gpu_model: str = DEFAULT_GPU_MODEL
    gpu_memory_mib: int = DEFAULT_GPU_MEMORY_MIB
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class SimSettings:
    join_url: str
    join_token: str
    nodes: int = 1
    name_prefix: str = "sim"
    shape: NodeShape = field(default_factory=NodeShape)
    job_seconds: float = 1.0          # Job / run-to-completion pods: Running -> Succeeded after this
    lease_interval_s: float = 10.0    # each node's Lease is renewed about this often (kubelet: 10 s)
    concurrency: int = 64             # pod writes in flight (joins use the same bound)
    lease_concurrency: int = 16       # lease writes in flight
    request_timeout_s: float = 10.0   # per API call
    data_dir: Path | None = None      # where node credentials are kept across restarts
    control: tuple[str, int] | None = None  # loopback control listener (host, port)
    cleanup: bool = False             # delete our Nodes and Leases on SIGTERM
    admin_token: str = ""             # needed by cleanup: a node credential may not delete its Node
    report_interval_s: float = 10.0   # progress line on stdout; 0: only at start and stop
