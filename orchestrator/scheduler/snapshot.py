"""The scheduler's in-memory view of the nodes, kept from Node and Pod events.

One `NodeInfo` per node holds what the filters and scores read: allocatable and
requested amounts (integer units), host ports in use, GPU devices in use, pods per
owner, labels, taints, readiness. It is updated incrementally from informer events
(never re-read per pod) and by the planner's `assume`, so one batch never double-books.

Accounting rules (kube-scheduler's cache):
- A bound pod (spec.nodeName set, not Succeeded/Failed) counts against its node until it
  finishes or is deleted; a pod being deleted still counts (its agent is stopping it).
- An *assumed* pod (the planner chose a node, the binding is in flight) counts the same.
  The informer's event for the bound pod confirms it (`update_pod`: from then on what
  the server says counts); a failed binding `forget`s it.
- A pod bound to a node the snapshot does not know yet still counts: the node's
  `NodeInfo` exists with `node=None` (not schedulable) until the Node arrives.

`generation` grows whenever a node changes in a way the static filters could see
(labels, taints, readiness, cordon, allocatable, devices, a node added or removed); the
planner caches per-signature node lists against it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.model.gpus import GPU_RESOURCE, assigned_gpus
from orchestrator.model.nodes import Node, Taint
from orchestrator.model.pods import Pod
from orchestrator.model.quantities import QuantityError
from orchestrator.model.resources import CPU, MEMORY, PODS, amount
from orchestrator.scheduler.pods import HostPort, PodInfo, holds_resources, is_pending, pod_info, pod_key

Fingerprint = tuple[object, ...]


@dataclass(slots=True)
class NodeInfo:
    name: str
    node: Node | None = None
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()
    ready: bool = False
    unschedulable: bool = False
    alloc_cpu: int = 0
    alloc_memory: int = 0
    alloc_pods: int | None = None  # None: the node sets no limit
    alloc_gpus: int = 0
    alloc_other: dict[str, int] = field(default_factory=dict)
    devices: tuple[str, ...] = ()  # GPU UUIDs in index order
    device_set: frozenset[str] = frozenset()
    devices_busy: int = 0  # how many of `devices` some pod holds
    # accounting (bound and assumed pods)
    cpu: int = 0
    memory: int = 0
    pod_count: int = 0
    gpus: int = 0
    other: dict[str, int] = field(default_factory=dict)
    devices_used: dict[str, int] = field(default_factory=dict)  # uuid -> pods holding it (1 unless broken)
    ports: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)  # (proto, port) -> {ip: n}
    owners: dict[str, int] = field(default_factory=dict)
    pods: dict[str, PodInfo] = field(default_factory=dict)

    @property
    def has_gpus(self) -> bool:
        return self.alloc_gpus > 0 or bool(self.devices)

    @property
    def free_gpus(self) -> int:
        """GPUs a new pod may still get: by requests, and by devices when the node lists them."""
        free = self.alloc_gpus - self.gpus
        if self.devices:
            free = min(free, len(self.devices) - self.devices_busy)
        return free

    def free_devices(self) -> list[str]:
        used = self.devices_used
        return [u for u in self.devices if u not in used] if used else list(self.devices)

    def add(self, info: PodInfo, devices: tuple[str, ...]) -> None:
        self.pods[info.key] = info
        self.cpu += info.cpu
        self.memory += info.memory
        self.gpus += info.gpus
        self.pod_count += 1
        for name, n in info.other:
            self.other[name] = self.other.get(name, 0) + n
        for u in devices:
            n = self.devices_used.get(u, 0)
            self.devices_used[u] = n + 1
            if not n and u in self.device_set:
                self.devices_busy += 1
        for proto, ip, port in info.host_ports:
            ips = self.ports.setdefault((proto, port), {})
            ips[ip] = ips.get(ip, 0) + 1
        if info.owner:
            self.owners[info.owner] = self.owners.get(info.owner, 0) + 1

    def remove(self, key: str, devices: tuple[str, ...]) -> None:
        info = self.pods.pop(key, None)
        if info is None:
            return
        self.cpu -= info.cpu
        self.memory -= info.memory
        self.gpus -= info.gpus
        self.pod_count -= 1
        for name, n in info.other:
            self.other[name] -= n
        for u in devices:
            _dec(self.devices_used, u)
            if u not in self.devices_used and u in self.device_set:
                self.devices_busy -= 1
        for proto, ip, port in info.host_ports:
            ips = self.ports[(proto, port)]
            _dec(ips, ip)
            if not ips:
                del self.ports[(proto, port)]
        if info.owner:
            _dec(self.owners, info.owner)


def _dec(counts: dict[str, int], key: str) -> None:
    n = counts.get(key, 0) - 1
    if n > 0:
        counts[key] = n
    else:
        counts.pop(key, None)


def _amounts(quantities: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, q in quantities.items():
        try:
            out[name] = amount(name, q)
        except (QuantityError, ValueError):
            out[name] = 0
    return out


def _is_ready(node: Node) -> bool:
    for c in node.status.conditions:
        if c.type == "Ready":
            return c.status == "True"
    return False


def node_fingerprint(node: Node) -> Fingerprint:
    """What the static filters and scores read from a Node: unchanged -> nothing to redo."""
    s = node.status
    return (node.spec.unschedulable, tuple((t.key, t.value, t.effect) for t in node.spec.taints),
            tuple(sorted(node.metadata.labels.items())), _is_ready(node),
            tuple(sorted((k, str(v)) for k, v in (s.allocatable or s.capacity).items())),
            tuple((d.index, d.uuid) for d in s.gpus))


class Snapshot:
    def __init__(self) -> None:
        self.nodes: dict[str, NodeInfo] = {}
        self.generation = 0
        self._where: dict[str, tuple[str, tuple[str, ...]]] = {}  # pod key -> (node, devices held)
        self.assumed: set[str] = set()
        self._fingerprints: dict[str, Fingerprint] = {}

    def __len__(self) -> int:
        return sum(1 for n in self.nodes.values() if n.node is not None)

    # ---- nodes ---------------------------------------------------------------------------

    def set_node(self, node: Node) -> bool:
        """Add or refresh a node; True when something the filters read changed."""
        name = node.metadata.name
        info = self.nodes.get(name)
        if info is None:
            info = self.nodes[name] = NodeInfo(name=name)
        info.node = node
        fp = node_fingerprint(node)
        if self._fingerprints.get(name) == fp:
            return False
        self._fingerprints[name] = fp
        info.labels = dict(node.metadata.labels)
        info.taints = tuple(node.spec.taints)
        info.ready = _is_ready(node)
        info.unschedulable = node.spec.unschedulable
        alloc = _amounts(node.status.allocatable or node.status.capacity)
        info.alloc_cpu = alloc.pop(CPU, 0)
        info.alloc_memory = alloc.pop(MEMORY, 0)
        info.alloc_pods = alloc.pop(PODS, None)
        gpus = alloc.pop(GPU_RESOURCE, None)
        info.alloc_other = alloc
        info.devices = tuple(d.uuid for d in sorted(node.status.gpus, key=lambda d: d.index))
        info.device_set = frozenset(info.devices)
        info.devices_busy = sum(1 for u in info.devices if u in info.devices_used)
        if info.devices:  # no more GPUs than listed devices: each one handed out has a UUID
            gpus = len(info.devices) if gpus is None else min(gpus, len(info.devices))
        info.alloc_gpus = gpus or 0
        self.generation += 1
        return True

    def remove_node(self, name: str) -> None:
        info = self.nodes.get(name)
        if info is None:
            return
        self._fingerprints.pop(name, None)
        self.generation += 1
        if info.pods:
            info.node = None  # its pods still count until they are gone
        else:
            del self.nodes[name]

    # ---- pods ----------------------------------------------------------------------------

    def account(self, info: PodInfo, node_name: str, devices: tuple[str, ...]) -> None:
        """Count a pod against a node (moving it if it was counted elsewhere)."""
        self.release(info.key)
        node = self.nodes.get(node_name)
        if node is None:
            node = self.nodes[node_name] = NodeInfo(name=node_name)
        node.add(info, devices)
        self._where[info.key] = (node_name, devices)

    def release(self, key: str) -> bool:
        """Stop counting a pod; True when it was counted."""
        self.assumed.discard(key)
        where = self._where.pop(key, None)
        if where is None:
            return False
        node = self.nodes.get(where[0])
        if node is not None:
            node.remove(key, where[1])
            if node.node is None and not node.pods:
                del self.nodes[where[0]]
        return True

    def assume(self, info: PodInfo, node_name: str, devices: tuple[str, ...]) -> None:
        """The planner's choice, counted until the informer confirms it or `forget` drops it."""
        self.account(info, node_name, devices)
        self.assumed.add(info.key)

    def forget(self, key: str) -> None:
        """A binding failed: drop the assumption (a confirmed pod stays counted)."""
        if key in self.assumed:
            self.release(key)

    def update_pod(self, pod: Pod) -> bool:
        """A pod event (added or modified). True when it freed resources on a node."""
        key = pod_key(pod)
        if holds_resources(pod):
            devices = tuple(assigned_gpus(pod))
            if self._where.get(key) != (pod.spec.node_name, devices):  # requests never change once bound
                self.account(pod_info(pod), pod.spec.node_name, devices)
            self.assumed.discard(key)
            return False
        if key in self.assumed and is_pending(pod):
            return False  # our binding is in flight: keep counting it
        return self.release(key)

    def delete_pod(self, pod: Pod) -> bool:
        """A pod is gone. True when it freed resources on a node."""
        return self.release(pod_key(pod))

    def schedulable_nodes(self) -> list[NodeInfo]:
        return [n for n in self.nodes.values() if n.node is not None]


def host_port_conflict(node: NodeInfo, wanted: tuple[HostPort, ...]) -> bool:
    """Kubernetes' rule: same protocol and port, and the same IP or either one a wildcard."""
    for proto, ip, port in wanted:
        ips = node.ports.get((proto, port))
        if not ips:
            continue
        if ip in ("0.0.0.0", "", "::") or ip in ips or "0.0.0.0" in ips or "::" in ips or "" in ips:
            return True
    return False
