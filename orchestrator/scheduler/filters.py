"""Filters: can this pod go on this node? Each is a pure function of (PodInfo, NodeInfo).

A filter answers `()` when the node passes and a tuple of reasons when it does not, in
Kubernetes' words, so the failure summary reads like kube-scheduler's
(`0/4 nodes are available: 2 Insufficient nvidia.com/gpu, ...`). A node is judged by
the first filter that rejects it, in kube-scheduler's plugin order: NodeUnschedulable
(and readiness), TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit.

STATIC filters read only what a Node object says (they are cached per pod signature and
snapshot generation); DYNAMIC ones also read what pods hold on the node (re-run per pod).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from orchestrator.model.gpus import GPU_RESOURCE
from orchestrator.model.nodes import Taint
from orchestrator.model.pods import Toleration
from orchestrator.scheduler.pods import PodInfo, Term
from orchestrator.scheduler.snapshot import NodeInfo, host_port_conflict

Reasons = tuple[str, ...]
Filter = Callable[[PodInfo, NodeInfo], Reasons]

NOT_READY = "node(s) were not ready"
UNSCHEDULABLE = "node(s) were unschedulable"
AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector"
PORTS_IN_USE = "node(s) didn't have free ports for the requested pod ports"
TOO_MANY_PODS = "Too many pods"
UNSCHEDULABLE_TAINT = Taint(key="node.kubernetes.io/unschedulable", effect="NoSchedule")
PASS: Reasons = ()


def tolerates(toleration: Toleration, taint: Taint) -> bool:
    """Kubernetes' ToleratesTaint: empty effect matches all effects, empty key with Exists all keys."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator == "Exists":
        return True
    return toleration.operator in ("", "Equal") and toleration.value == taint.value


def untolerated(tolerations: Iterable[Toleration], taints: Iterable[Taint], effects: tuple[str, ...]) -> list[Taint]:
    tols = tuple(tolerations)
    return [t for t in taints if t.effect in effects and not any(tolerates(tol, t) for tol in tols)]


def node_ready(pod: PodInfo, node: NodeInfo) -> Reasons:
    return PASS if node.ready else (NOT_READY,)


def node_schedulable(pod: PodInfo, node: NodeInfo) -> Reasons:
    """A cordoned node (spec.unschedulable) takes only pods that tolerate its unschedulable taint."""
    if not node.unschedulable or any(tolerates(t, UNSCHEDULABLE_TAINT) for t in pod.tolerations):
        return PASS
    return (UNSCHEDULABLE,)


def taints_tolerated(pod: PodInfo, node: NodeInfo) -> Reasons:
    """NoSchedule and NoExecute taints keep pods off; PreferNoSchedule only scores."""
    for taint in node.taints:
        if taint.effect in ("NoSchedule", "NoExecute") and not any(tolerates(t, taint) for t in pod.tolerations):
            return (f"node(s) had untolerated taint {{{taint.key}: {taint.value}}}",)
    return PASS


def term_matches(term: Term, node: NodeInfo) -> bool:
    """Expressions and fields ANDed; a term with neither matches nothing (as in Kubernetes)."""
    labels, fields = term
    if not labels and not fields:
        return False
    for req in labels:
        if not req.matches(node.labels):
            return False
    if fields:
        name = {"metadata.name": node.name}
        return all(req.matches(name) for req in fields)
    return True


def node_affinity(pod: PodInfo, node: NodeInfo) -> Reasons:
    """nodeSelector (every pair) and required node affinity (any term) must both match."""
    labels = node.labels
    for key, value in pod.node_selector:
        if labels.get(key) != value:
            return (AFFINITY_MISMATCH,)
    if pod.required is not None and not any(term_matches(t, node) for t in pod.required):
        return (AFFINITY_MISMATCH,)
    return PASS


def host_ports_free(pod: PodInfo, node: NodeInfo) -> Reasons:
    if pod.host_ports and host_port_conflict(node, pod.host_ports):
        return (PORTS_IN_USE,)
    return PASS


def _checked(resource: str, node: NodeInfo) -> bool:
    """Extended resources (`domain/name`) must be offered; others only when the node declares them."""
    return "/" in resource or resource in node.alloc_other


def resources_fit(pod: PodInfo, node: NodeInfo) -> Reasons:
    """Requests against allocatable minus what bound and assumed pods request."""
    out: list[str] = []
    if node.alloc_pods is not None and node.pod_count >= node.alloc_pods:
        out.append(TOO_MANY_PODS)
    if pod.cpu and node.cpu + pod.cpu > node.alloc_cpu:
        out.append("Insufficient cpu")
    if pod.memory and node.memory + pod.memory > node.alloc_memory:
        out.append("Insufficient memory")
    if pod.gpus and node.free_gpus < pod.gpus:
        out.append(f"Insufficient {GPU_RESOURCE}")
    for name, n in pod.other:
        if _checked(name, node) and node.other.get(name, 0) + n > node.alloc_other.get(name, 0):
            out.append(f"Insufficient {name}")
    return tuple(out) if out else PASS


def offers_resources(pod: PodInfo, node: NodeInfo) -> Reasons:
    """Static: the node offers every resource the pod asks for at all (whatever the amount)."""
    out: list[str] = []
    if pod.gpus and node.alloc_gpus <= 0:
        out.append(f"Insufficient {GPU_RESOURCE}")
    for name, _ in pod.other:
        if _checked(name, node) and node.alloc_other.get(name, 0) <= 0:
            out.append(f"Insufficient {name}")
    return tuple(out) if out else PASS


STATIC: tuple[Filter, ...] = (node_ready, node_schedulable, taints_tolerated, node_affinity)
DYNAMIC: tuple[Filter, ...] = (host_ports_free, resources_fit)
ALL: tuple[Filter, ...] = STATIC + DYNAMIC


def first_failure(pod: PodInfo, node: NodeInfo, filters: tuple[Filter, ...] = ALL) -> Reasons:
    """The reasons of the first filter that rejects the node; () when every filter passes."""
    for f in filters:
        reasons = f(pod, node)
        if reasons:
            return reasons
    return PASS
