"""Which nodes a pod may run on (pure): nodeSelector, required node affinity, taints.

The DaemonSet controller and the node lifecycle controller ask these; the scheduler has
its own filters (same rules) in its own package.
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.model.nodes import Node, Taint
from orchestrator.model.pods import NodeSelectorRequirement, NodeSelectorTerm, PodSpec, Toleration

NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"
UNSCHEDULABLE_TAINT = "node.kubernetes.io/unschedulable"


def tolerates(tol: Toleration, taint: Taint) -> bool:
    if tol.effect and tol.effect != taint.effect:
        return False
    if tol.operator == "Exists":
        return not tol.key or tol.key == taint.key
    return tol.key == taint.key and tol.value == taint.value


def untolerated(taints: Iterable[Taint], tolerations: list[Toleration], *, effects: tuple[str, ...]) -> list[Taint]:
    return [t for t in taints if t.effect in effects and not any(tolerates(tol, t) for tol in tolerations)]


def _number(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def requirement_matches(req: NodeSelectorRequirement, value: str | None) -> bool:
    op = req.operator
    if op == "In":
        return value is not None and value in req.values
    if op == "NotIn":
        return value is None or value not in req.values
    if op == "Exists":
        return value is not None
    if op == "DoesNotExist":
        return value is None
    if op in ("Gt", "Lt") and value is not None and len(req.values) == 1:
        have, bound = _number(value), _number(req.values[0])
        if have is None or bound is None:
            return False
        return have > bound if op == "Gt" else have < bound
    return False


def term_matches(term: NodeSelectorTerm, node: Node) -> bool:
    if not term.match_expressions and not term.match_fields:
        return False  # an empty term matches nothing
    labels = node.metadata.labels
    if not all(requirement_matches(r, labels.get(r.key)) for r in term.match_expressions):
        return False
    return all(requirement_matches(r, node.metadata.name if r.key == "metadata.name" else None)
               for r in term.match_fields)


def affinity_matches(spec: PodSpec, node: Node) -> bool:
    aff = spec.affinity.node_affinity if spec.affinity is not None else None
    required = aff.required_during_scheduling_ignored_during_execution if aff is not None else None
    if required is None:
        return True
    return any(term_matches(t, node) for t in required.node_selector_terms)


def selector_matches(spec: PodSpec, node: Node) -> bool:
    labels = node.metadata.labels
    return all(labels.get(k) == v for k, v in spec.node_selector.items())


def fits_node(spec: PodSpec, node: Node, *, effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> bool:
    """nodeSelector, required node affinity, and no untolerated taint of those effects (a pod
    already running only has to tolerate NoExecute: NoSchedule keeps new pods off)."""
    return (selector_matches(spec, node) and affinity_matches(spec, node)
            and not untolerated(node.spec.taints, spec.tolerations, effects=effects))
