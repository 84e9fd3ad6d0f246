"""`schedule(snapshot, pods) -> Plan`: where each pending pod goes, decided in memory.

Pure apart from the snapshot it updates: each placement is `assume`d at once, so later
pods in the batch see the resources, ports and GPU devices it took, and one batch never
double-books. No I/O; the applier commits the plan.

Per pod the cost is kept well below O(nodes):
- Static filters and scores (taints, selector/affinity, readiness, cordon, "offers
  GPUs at all", PreferNoSchedule, "is a GPU node") are computed once per pod
  *signature* (replicas of one template share it) and snapshot generation: a candidate
  list with static scores.
- Like kube-scheduler's percentageOfNodesToScore, the search walks the candidates from
  a rotating start and stops once it has found `nodes_to_find` feasible nodes (adaptive:
  50% - nodes/125, at least 5%, at least 100 nodes), then takes the best of those.
- Within a batch, a pod whose fit_key (signature, amounts, host ports) already failed
  fails the same way without a search: nodes only fill up during a batch.

GPU pods get the lowest-index free devices of the chosen node.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.scheduler import filters, scores
from orchestrator.scheduler.pods import PodInfo
from orchestrator.scheduler.snapshot import NodeInfo, Snapshot

MIN_FEASIBLE_NODES = 100
MIN_PERCENTAGE = 5
MAX_GROUPS = 4096  # signatures cached per snapshot generation


@dataclass(slots=True)
class Assignment:
    pod: PodInfo
    node: str
    devices: tuple[str, ...] = ()


@dataclass(slots=True)
class Failure:
    pod: PodInfo
    message: str
    reasons: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Plan:
    assignments: list[Assignment] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


def failure_message(total_nodes: int, reasons: dict[str, int]) -> str:
    """Kubernetes' FitError wording: counts per reason, sorted as strings."""
    if total_nodes == 0:
        return "no nodes available to schedule pods"
    parts = sorted(f"{n} {reason}" for reason, n in reasons.items())
    return f"0/{total_nodes} nodes are available: {', '.join(parts)}."


def nodes_to_find(total: int, percentage: int = 0) -> int:
    """kube-scheduler's numFeasibleNodesToFind (percentage 0: adaptive)."""
    if total < MIN_FEASIBLE_NODES:
        return total
    if percentage <= 0:
        percentage = max(MIN_PERCENTAGE, 50 - total // 125)
    return max(MIN_FEASIBLE_NODES, total * min(percentage, 100) // 100)


@dataclass(slots=True)
class _Group:
    """Static results for one pod signature at one snapshot generation."""

    candidates: list[tuple[NodeInfo, float]]  # nodes passing the static filters, with static scores
    reasons: dict[str, int]  # static failures, per reason
    total: int
    start: int = 0


class Planner:
    """Keeps the per-signature caches between batches; `schedule` is the entry point."""

    def __init__(self, *, percentage_of_nodes_to_score: int = 0) -> None:
        self.percentage = percentage_of_nodes_to_score
        self._groups: dict[bytes, _Group] = {}
        self._generation = -1

    def schedule(self, snapshot: Snapshot, pods: list[PodInfo]) -> Plan:
        if snapshot.generation != self._generation:
            self._groups.clear()
            self._generation = snapshot.generation
        plan = Plan()
        failed: dict[tuple[object, ...], tuple[str, dict[str, int]]] = {}
        for pod in pods:
            if pod.invalid:
                plan.failures.append(Failure(pod=pod, message=pod.invalid))
                continue
            known = failed.get(pod.fit_key)
            if known is not None:
                plan.failures.append(Failure(pod=pod, message=known[0], reasons=known[1]))
                continue
            group = self._group(snapshot, pod)
            node = self._pick(group, pod)
            if node is None:
                reasons = self._reasons(group, pod)
                message = failure_message(group.total, reasons)
                failed[pod.fit_key] = (message, reasons)
                plan.failures.append(Failure(pod=pod, message=message, reasons=reasons))
                continue
            devices = tuple(node.free_devices()[:pod.gpus]) if pod.gpus and node.devices else ()
            snapshot.assume(pod, node.name, devices)
            plan.assignments.append(Assignment(pod=pod, node=node.name, devices=devices))
        return plan

    def _group(self, snapshot: Snapshot, pod: PodInfo) -> _Group:
        group = self._groups.get(pod.signature)
        if group is not None:
            return group
        if len(self._groups) >= MAX_GROUPS:
            self._groups.clear()
        candidates: list[tuple[NodeInfo, float]] = []
        reasons: dict[str, int] = {}
        nodes = snapshot.schedulable_nodes()
        for node in nodes:
            failed = filters.first_failure(pod, node, filters.STATIC)
            if not failed and not pod.host_ports:  # with host ports, kube reports ports before resources
                failed = filters.offers_resources(pod, node)
            if failed:
                for r in failed:
                    reasons[r] = reasons.get(r, 0) + 1
            else:
                candidates.append((node, scores.static_score(pod, node)))
        group = self._groups[pod.signature] = _Group(candidates=candidates, reasons=reasons, total=len(nodes))
        return group

    def _pick(self, group: _Group, pod: PodInfo) -> NodeInfo | None:
        cands = group.candidates
        n = len(cands)
        if not n:
            return None
        want = nodes_to_find(group.total, self.percentage)
        fits, dynamic = filters.resources_fit, scores.dynamic_score
        ports = pod.host_ports
        best: NodeInfo | None = None
        best_score = -1.0
        found = 0
        start = group.start
        examined = 0
        for examined in range(n):
            i = start + examined
            node, static = cands[i - n if i >= n else i]
            if fits(pod, node) or (ports and filters.host_ports_free(pod, node)):
                continue
            s = static + dynamic(pod, node)
            if s > best_score:
                best, best_score = node, s
            found += 1
            if found >= want:
                break
        group.start = (start + examined + 1) % n
        return best

    def _reasons(self, group: _Group, pod: PodInfo) -> dict[str, int]:
        reasons = dict(group.reasons)
        for node, _ in group.candidates:
            for r in filters.first_failure(pod, node, filters.DYNAMIC):
                reasons[r] = reasons.get(r, 0) + 1
        return reasons


def schedule(snapshot: Snapshot, pods: list[PodInfo], *, planner: Planner | None = None) -> Plan:
    """Place `pods` (in the order given) on the snapshot's nodes; the snapshot is updated."""
    return (planner or Planner()).schedule(snapshot, pods)
