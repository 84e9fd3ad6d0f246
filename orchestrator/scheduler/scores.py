"""Scores: how good is this (feasible) node for this pod? Pure functions, 0..100 each.

The planner picks the node with the highest weighted sum. Weights follow
kube-scheduler's defaults where a plugin exists there (TaintToleration 3,
NodeAffinity 2, spreading 2, least-allocated 1) plus orch's GPU packing (2).

Each score is a function of this node alone (no normalisation over the candidate set),
so a score can be computed for a sample of nodes and cached where it is static:
STATIC scores read only the Node object (cached per pod signature), DYNAMIC ones also
read what pods hold on it.
"""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.scheduler.filters import term_matches, tolerates
from orchestrator.scheduler.pods import PodInfo
from orchestrator.scheduler.snapshot import NodeInfo

Score = Callable[[PodInfo, NodeInfo], float]
MAX = 100.0


def least_allocated(pod: PodInfo, node: NodeInfo) -> float:
    """The share of CPU and memory left free once the pod is placed (kube's LeastAllocated)."""
    total = 0.0
    if node.alloc_cpu > 0:
        total += max(0, node.alloc_cpu - node.cpu - pod.cpu) / node.alloc_cpu
    if node.alloc_memory > 0:
        total += max(0, node.alloc_memory - node.memory - pod.memory) / node.alloc_memory
    return total * MAX / 2


def gpu_packing(pod: PodInfo, node: NodeInfo) -> float:
    """GPU pods prefer GPU nodes already partly in use (keeping whole nodes free for big
    jobs); pods without GPUs prefer nodes that have none (keeping GPU nodes for GPU work)."""
    if not pod.gpus:
        return 0.0 if node.has_gpus else MAX
    if node.alloc_gpus <= 0:
        return 0.0
    return min(node.gpus, node.alloc_gpus) * MAX / node.alloc_gpus


def spread(pod: PodInfo, node: NodeInfo) -> float:
    """Replicas of one owner spread over nodes: fewer of its pods here, higher the score."""
    if not pod.owner:
        return MAX
    return MAX / (1 + node.owners.get(pod.owner, 0))


def preferred_affinity(pod: PodInfo, node: NodeInfo) -> float:
    """The weight of the preferred node-affinity terms this node matches, of all of them."""
    if not pod.preferred:
        return 0.0
    total = sum(abs(w) for w, _ in pod.preferred)
    got = sum(w for w, term in pod.preferred if term_matches(term, node))
    return max(0.0, got * MAX / total)


def prefer_no_schedule(pod: PodInfo, node: NodeInfo) -> float:
    """Fewer untolerated PreferNoSchedule taints, higher the score."""
    n = sum(1 for t in node.taints if t.effect == "PreferNoSchedule"
            and not any(tolerates(tol, t) for tol in pod.tolerations))
    return MAX / (1 + n)


def _static_gpu(pod: PodInfo, node: NodeInfo) -> float:
    return 0.0 if pod.gpus else gpu_packing(pod, node)


def _dynamic_gpu(pod: PodInfo, node: NodeInfo) -> float:
    return gpu_packing(pod, node) if pod.gpus else 0.0


STATIC: tuple[tuple[float, Score], ...] = (
    (3.0, prefer_no_schedule), (2.0, preferred_affinity), (2.0, _static_gpu))
DYNAMIC: tuple[tuple[float, Score], ...] = ((1.0, least_allocated), (2.0, _dynamic_gpu), (2.0, spread))


def static_score(pod: PodInfo, node: NodeInfo) -> float:
    return sum(w * f(pod, node) for w, f in STATIC)


def dynamic_score(pod: PodInfo, node: NodeInfo) -> float:
    """The hot path: one call per sampled feasible node per pod; DYNAMIC's sum, inlined for speed."""
    total = 0.0
    if node.alloc_cpu > 0:
        free = node.alloc_cpu - node.cpu - pod.cpu
        total += 50.0 * free / node.alloc_cpu if free > 0 else 0.0
    if node.alloc_memory > 0:
        free = node.alloc_memory - node.memory - pod.memory
        total += 50.0 * free / node.alloc_memory if free > 0 else 0.0
    if pod.gpus:
        total += 2.0 * gpu_packing(pod, node)
    if pod.owner:
        total += 2.0 * MAX / (1 + node.owners.get(pod.owner, 0))
    else:
        total += 2.0 * MAX
    return total


def score(pod: PodInfo, node: NodeInfo) -> float:
    """The weighted total the planner maximises (static + dynamic)."""
    return static_score(pod, node) + dynamic_score(pod, node)
