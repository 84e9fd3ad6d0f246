"""One Settings object made of per-subsystem dataclasses, with units and defaults.

Every CLI flag has an `ORCH_*` environment twin; the CLI builds these from both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class StoreSettings:
    path: Path = Path(".orch/state.db")
    synchronous: str = "FULL"          # SQLite PRAGMA synchronous: FULL (default), NORMAL, OFF
    event_log_retain: int = 100_000    # events kept for watch resume before compaction
    compact_step: int = 2_000          # rows deleted per compaction step (keeps the writer short)
    compact_interval_s: float = 5.0
    max_batch: int = 512               # writes grouped into one transaction at most
    snapshot_interval_s: float = 12 * 3600.0  # a consistent copy of the store this often; 0: none
    snapshot_retain: int = 5           # automatic snapshots kept (in <data-dir>/snapshots)


@dataclass(slots=True)
class ApiSettings:
    listen_host: str = "127.0.0.1"
    listen_port: int = 6443
    advertise_url: str = ""           # what clients and agents are told; derived from listen when empty
    kube_port: int | None = None       # HTTPS listener for Kubernetes tools; None: listen_port + 1; 0: off
    max_body_bytes: int = 3 * 1024 * 1024
    watch_queue_size: int = 10_000     # events buffered per watcher before it is cut off
    bookmark_interval_s: float = 30.0
    exec_timeout_s: float = 300.0      # an exec is abandoned after this long (its output is held until it ends)


@dataclass(slots=True)
class NodeSettings:
    grace_s: float = 40.0              # a node whose Lease is older than this is not live (Ready=Unknown)
    lease_renew_s: float = 10.0        # how often agents renew their Lease
    gossip_interval_s: float = 1.0     # membership exchange period
    gossip_fanout: int = 3             # peers contacted each round
    suspect_after_s: float = 5.0       # silence before a member is suspect (then dead after as long again)


@dataclass(slots=True)
class Settings:
    data_dir: Path = Path(".orch")
    log_format: str = "console"        # console | json
    log_level: str = "info"
    embedded_agent: bool = True
    store: StoreSettings = field(default_factory=StoreSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    nodes: NodeSettings = field(default_factory=NodeSettings)
