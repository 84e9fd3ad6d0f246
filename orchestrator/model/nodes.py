"""core/v1 Node, plus orch's GPU device list in `status.gpus`.

`status.capacity` / `status.allocatable` are quantity maps (`cpu`, `memory`, `pods`,
`nvidia.com/gpu`); `status.gpus` lists the devices behind `nvidia.com/gpu`, one per
index, so the scheduler can hand out exact UUIDs. Taints keep pods off a node unless
they tolerate them (see `Toleration` in pods.py).
"""

from __future__ import annotations

from typing import Any

import msgspec

from orchestrator.model.base import Condition, Object, Spec
from orchestrator.model.quantities import QuantityValue, normalize_quantities

Loose = dict[str, Any]

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
# Why the agent runs the runtime it runs (docker answered, or not): set on the Node at join.
RUNTIME_REASON_ANNOTATION = "orch.io/runtime-reason"


class Taint(Spec):
    key: str
    effect: str  # NoSchedule | PreferNoSchedule | NoExecute
    value: str = ""
    time_added: str | None = None


class NodeSpec(Spec):
    unschedulable: bool = False
    taints: list[Taint] = msgspec.field(default_factory=list)
    pod_cidr: str = msgspec.field(default="", name="podCIDR")
    pod_cidrs: list[str] = msgspec.field(default_factory=list, name="podCIDRs")
    provider_id: str = msgspec.field(default="", name="providerID")
    external_id: str = msgspec.field(default="", name="externalID")
    config_source: Loose | None = None


class NodeAddress(Spec):
    type: str  # InternalIP | ExternalIP | Hostname | InternalDNS | ExternalDNS
    address: str


class NodeSystemInfo(Spec):
    machine_id: str = msgspec.field(default="", name="machineID")
    system_uuid: str = msgspec.field(default="", name="systemUUID")
    boot_id: str = msgspec.field(default="", name="bootID")
    kernel_version: str = ""
    os_image: str = ""
    container_runtime_version: str = ""
    kubelet_version: str = ""
    kube_proxy_version: str = ""
    operating_system: str = ""
    architecture: str = ""
    swap: Loose | None = None


class GpuDevice(Spec):
    """One GPU as the agent found it (orch extension)."""

    index: int
    uuid: str
    model: str = ""
    memory_mib: int = msgspec.field(default=0, name="memoryMiB")


class NodeStatus(Spec):
    capacity: dict[str, QuantityValue] = msgspec.field(default_factory=dict)  # strings once decoded
    allocatable: dict[str, QuantityValue] = msgspec.field(default_factory=dict)
    phase: str = ""
    conditions: list[Condition] = msgspec.field(default_factory=list)
    addresses: list[NodeAddress] = msgspec.field(default_factory=list)
    daemon_endpoints: Loose | None = None
    node_info: NodeSystemInfo = msgspec.field(default_factory=NodeSystemInfo)
    images: list[Loose] = msgspec.field(default_factory=list)
    volumes_in_use: list[str] = msgspec.field(default_factory=list)
    volumes_attached: list[Loose] = msgspec.field(default_factory=list)
    config: Loose | None = None
    runtime_handlers: list[Loose] = msgspec.field(default_factory=list)
    features: Loose | None = None
    gpus: list[GpuDevice] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        self.capacity = normalize_quantities(self.capacity)  # type: ignore[assignment]
        self.allocatable = normalize_quantities(self.allocatable)  # type: ignore[assignment]


class Node(Object):
    spec: NodeSpec = msgspec.field(default_factory=NodeSpec)
    status: NodeStatus = msgspec.field(default_factory=NodeStatus)
