"""What the scheduler needs to know about one pod, computed once per pod version.

`PodInfo` flattens a Pod into the few numbers and tuples the filters and scores read
(requests in integer units, host ports, tolerations, compiled node affinity, the owner
that spread counts by), so the hot path never parses a quantity or walks a spec.

`signature` groups pods that the static filters (taints, node selector, required
affinity, "offers the resources asked for at all") and static scores (preferred
affinity, PreferNoSchedule, "is a GPU node") treat the same: it leaves amounts out, so
pods of one shape share it even when their requests differ, and the planner computes
the static part once per signature, not once per pod. `fit_key` adds the amounts and
host ports: two pods with one fit_key fit exactly the same nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from orchestrator.model.gpus import GPU_RESOURCE, assigned_gpus
from orchestrator.model.pods import NodeSelectorRequirement, NodeSelectorTerm, Pod, Toleration
from orchestrator.model.quantities import QuantityError
from orchestrator.model.resources import CPU, MEMORY, PODS, pod_requests
from orchestrator.model.selectors import GT, IN, LT, NOT_IN, Requirement

DEFAULT_SCHEDULER = "default-scheduler"
TERMINATED = ("Succeeded", "Failed")
WILDCARD_IPS = ("", "0.0.0.0", "::")

HostPort = tuple[str, str, int]  # (protocol, host IP, port)
Term = tuple[tuple[Requirement, ...], tuple[Requirement, ...]]  # (label requirements, name requirements)

_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class PodInfo:
    key: str  # namespace/name
    namespace: str
    name: str
    uid: str
    resource_version: str
    pod: Pod
    cpu: int = 0  # millicores
    memory: int = 0  # bytes
    gpus: int = 0  # devices
    other: tuple[tuple[str, int], ...] = ()  # every other requested resource, in its unit
    host_ports: tuple[HostPort, ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    node_selector: tuple[tuple[str, str], ...] = ()
    required: tuple[Term, ...] | None = None  # ORed terms; None: no required node affinity
    preferred: tuple[tuple[int, Term], ...] = ()
    owner: str = ""  # uid of the controlling owner, "" for a bare pod
    priority: int = 0
    created: str = ""
    assigned_gpus: tuple[str, ...] = ()  # device UUIDs the pod already holds
    invalid: str = ""  # set when the spec cannot be scheduled at all (a malformed quantity)
    signature: bytes = b""  # what the static filters and scores see (no amounts: see fit_key)
    fit_key: tuple[object, ...] = ()  # signature + amounts + host ports: equal keys fit the same nodes


def is_pending(pod: Pod) -> bool:
    """A pod this scheduler should place: unbound, not being deleted, not finished, ours."""
    spec = pod.spec
    return (not spec.node_name and pod.metadata.deletion_timestamp is None
            and spec.scheduler_name in ("", DEFAULT_SCHEDULER) and not spec.scheduling_gates
            and pod.status.phase not in TERMINATED)


def holds_resources(pod: Pod) -> bool:
    """A bound pod counts against its node until it has finished or is gone."""
    return bool(pod.spec.node_name) and pod.status.phase not in TERMINATED


def pod_key(pod: Any) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def owner_of(pod: Pod) -> str:
    refs = pod.metadata.owner_references
    for ref in refs:
        if ref.controller:
            return ref.uid
    return refs[0].uid if refs else ""


def _requirement(req: NodeSelectorRequirement) -> Requirement:
    """A node selector requirement as a label Requirement; Gt/Lt with a non-integer never match."""
    values = tuple(req.values)
    if req.operator in (GT, LT):
        try:
            int(values[0]) if len(values) == 1 else int("")
        except ValueError:
            return Requirement("", IN, ())  # matches nothing
    return Requirement(req.key, req.operator, values)


def compile_term(term: NodeSelectorTerm) -> Term:
    """matchFields only knows `metadata.name` (In / NotIn); any other field matches nothing."""
    fields: list[Requirement] = []
    for f in term.match_fields:
        ok = f.key == "metadata.name" and f.operator in (IN, NOT_IN)
        fields.append(Requirement("metadata.name", f.operator, tuple(f.values)) if ok else Requirement("", IN, ()))
    return tuple(_requirement(r) for r in term.match_expressions), tuple(fields)


def _host_ports(pod: Pod) -> tuple[HostPort, ...]:
    out: list[HostPort] = []
    for c in pod.spec.containers:
        for p in c.ports:
            port = p.host_port or (p.container_port if pod.spec.host_network else 0)
            if port:
                out.append((p.protocol or "TCP", p.host_ip or "0.0.0.0", port))
    return tuple(out)


def pod_info(pod: Pod) -> PodInfo:
    """Flatten one pod version. Never raises: a bad spec sets `invalid` with the reason."""
    m, spec = pod.metadata, pod.spec
    info = PodInfo(key=f"{m.namespace}/{m.name}", namespace=m.namespace, name=m.name, uid=m.uid,
                   resource_version=m.resource_version, pod=pod, owner=owner_of(pod),
                   priority=spec.priority or 0, created=m.creation_timestamp or "",
                   assigned_gpus=tuple(assigned_gpus(pod)), host_ports=_host_ports(pod),
                   tolerations=tuple(spec.tolerations), node_selector=tuple(sorted(spec.node_selector.items())))
    try:
        requests = pod_requests(pod)
    except (QuantityError, ValueError) as exc:
        requests = {}
        info.invalid = f"invalid resource request: {exc}"
    info.cpu = requests.pop(CPU, 0)
    info.memory = requests.pop(MEMORY, 0)
    info.gpus = requests.pop(GPU_RESOURCE, 0)
    requests.pop(PODS, None)
    info.other = tuple(sorted((k, v) for k, v in requests.items() if v > 0))
    na = spec.affinity.node_affinity if spec.affinity else None
    if na is not None:
        req = na.required_during_scheduling_ignored_during_execution
        if req is not None:
            info.required = tuple(compile_term(t) for t in req.node_selector_terms)
        info.preferred = tuple((p.weight, compile_term(p.preference)) for p in
                               na.preferred_during_scheduling_ignored_during_execution if p.weight)
    info.signature = _encode((spec.tolerations, spec.node_selector, na, info.gpus > 0,
                              [name for name, _ in info.other], info.invalid))
    info.fit_key = (info.signature, info.cpu, info.memory, info.gpus, info.other, info.host_ports)
    return info
