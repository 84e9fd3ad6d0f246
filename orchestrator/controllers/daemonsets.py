"""DaemonSet plan (pure): one pod on every node the template fits.

A node is eligible when the template's nodeSelector and required node affinity match it
and its NoSchedule/NoExecute taints are tolerated (with the tolerations Kubernetes gives
every daemon pod: not-ready, unreachable, unschedulable). A pod already on a node stays
while only NoSchedule taints are untolerated (Kubernetes' shouldContinueRunning): they keep
new pods off, NoExecute evicts. Each pod is created for one node through a required node
affinity on `metadata.name` (as Kubernetes has done since 1.12) and bound by the
scheduler, so it is checked to fit (CPU, memory, host ports, GPUs get devices) and a pod
that does not fit says why in a FailedScheduling event. Extra pods, pods on nodes they may
not stay on or that vanished, and failed pods are deleted. Template changes roll out node by node
(RollingUpdate, at most maxUnavailable nodes without an available pod) or wait for
someone to delete the old pod (OnDelete). Pods carry `controller-revision-hash`.
"""

from __future__ import annotations

from orchestrator.controllers import pods as podutil
from orchestrator.controllers import rollouts as ro
from orchestrator.controllers.actions import Create, Delete, Patch, Plan, UpdateStatus
from orchestrator.controllers.owners import adoption_patch, claim, controller_ref_to, release_patch
from orchestrator.controllers.placement import NOT_READY_TAINT, UNREACHABLE_TAINT, UNSCHEDULABLE_TAINT, fits_node
from orchestrator.model.apps import DaemonSet, DaemonSetStatus
from orchestrator.model.base import clone
from orchestrator.model.nodes import Node
from orchestrator.model.pods import (Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
                                     Pod, PodSpec, Toleration)
from orchestrator.model.selectors import Selector, SelectorError, from_label_selector

REVISION_HASH = "controller-revision-hash"
DAEMON_TOLERATIONS = (
    Toleration(key=NOT_READY_TAINT, operator="Exists", effect="NoExecute"),
    Toleration(key=UNREACHABLE_TAINT, operator="Exists", effect="NoExecute"),
    Toleration(key=UNSCHEDULABLE_TAINT, operator="Exists", effect="NoSchedule"),
)


def selector_of(ds: DaemonSet) -> Selector:
    try:
        return from_label_selector(ds.spec.selector)
    except SelectorError:
        return Selector.nothing()


def daemon_spec(ds: DaemonSet) -> PodSpec:
    """The template's pod spec plus the daemon tolerations it lacks."""
    spec = clone(ds.spec.template.spec)
    for tol in DAEMON_TOLERATIONS:
        if tol not in spec.tolerations:
            spec.tolerations.append(tol)
    return spec


def target_node(pod: Pod) -> str:
    """The node a daemon pod is for: spec.nodeName once bound, before that the node its
    required affinity names (Kubernetes' GetTargetNodeName)."""
    if pod.spec.node_name:
        return pod.spec.node_name
    aff = pod.spec.affinity.node_affinity if pod.spec.affinity is not None else None
    required = aff.required_during_scheduling_ignored_during_execution if aff is not None else None
    for term in required.node_selector_terms if required is not None else []:
        for f in term.match_fields:
            if f.key == "metadata.name" and f.operator == "In" and len(f.values) == 1:
                return f.values[0]
    return ""


def pinned_to(spec: PodSpec, node_name: str) -> PodSpec:
    """The spec with its required node affinity replaced by "this node" (the template's own
    node affinity was checked when the node was found eligible)."""
    out = clone(spec)
    term = NodeSelectorTerm(match_fields=[NodeSelectorRequirement(key="metadata.name", operator="In",
                                                                  values=[node_name])])
    affinity = out.affinity if out.affinity is not None else Affinity()
    node_affinity = affinity.node_affinity if affinity.node_affinity is not None else NodeAffinity()
    node_affinity.required_during_scheduling_ignored_during_execution = NodeSelector(node_selector_terms=[term])
    affinity.node_affinity = node_affinity
    out.affinity = affinity
    return out


def eligible_nodes(ds: DaemonSet, nodes: list[Node], *,
                   effects: tuple[str, ...] = ("NoSchedule", "NoExecute")) -> list[Node]:
    spec = daemon_spec(ds)
    return [n for n in nodes if n.metadata.deletion_timestamp is None and fits_node(spec, n, effects=effects)]


def plan_daemonset(ds: DaemonSet, *, nodes: list[Node], owned: list[Pod], orphans: list[Pod], now: float) -> Plan:
    plan = Plan()
    ns, name = ds.metadata.namespace, ds.metadata.name
    pods, adopt, release = claim(ds, selector_of(ds), owned=owned, orphans=orphans)
    plan.actions += [Patch("Pod", ns, p.metadata.name, adoption_patch(p, ds)) for p in adopt]
    plan.actions += [Patch("Pod", ns, p.metadata.name, release_patch(p, ds.metadata.uid)) for p in release]
    current = ro.template_hash(ds.spec.template)
    mrs = ds.spec.min_ready_seconds
    eligible = {n.metadata.name for n in eligible_nodes(ds, nodes)}
    may_stay = {n.metadata.name for n in eligible_nodes(ds, nodes, effects=("NoExecute",))}
    known = {n.metadata.name for n in nodes}
    by_node: dict[str, list[Pod]] = {}
    for p in pods:
        if not podutil.is_terminating(p):
            by_node.setdefault(target_node(p), []).append(p)
    creating = ds.metadata.deletion_timestamp is None
    deletes: list[Pod] = []
    keep: dict[str, Pod] = {}
    for node_name, here in by_node.items():
        if node_name not in may_stay:
            deletes += here  # ineligible, vanished (pod GC agrees) or unscheduled: not ours to keep
            continue
        failed = [p for p in here if p.status.phase == "Failed"]
        deletes += failed
        alive = sorted((p for p in here if p.status.phase != "Failed"),
                       key=lambda p: (p.metadata.labels.get(REVISION_HASH) != current,
                                      p.metadata.creation_timestamp or "", p.metadata.name))
        if alive:
            keep[node_name] = alive[0]
            deletes += alive[1:]
    keep = {n: p for n, p in keep.items() if n in eligible}  # the rest stay put, counted as misscheduled
    deletes += _rolling(ds, keep, eligible, current, now)
    if creating:
        spec = daemon_spec(ds)
        ref = controller_ref_to(ds)
        for node_name in sorted(eligible - set(keep)):
            if node_name not in known:
                continue
            pod = podutil.pod_from_template(ds.spec.template, namespace=ns, generate_name=f"{name}-", owner=ref,
                                            labels={REVISION_HASH: current})
            pod.spec = pinned_to(spec, node_name)
            plan.actions.append(Create(pod, owner=ds))
    plan.actions += [Delete("Pod", ns, p.metadata.name, owner=ds) for p in deletes]
    status = DaemonSetStatus(
        desired_number_scheduled=len(eligible),
        current_number_scheduled=len(keep),
        number_misscheduled=sum(1 for n in by_node if n not in eligible),
        number_ready=sum(1 for p in keep.values() if podutil.is_ready(p)),
        number_available=sum(1 for p in keep.values() if podutil.is_available(p, min_ready_seconds=mrs, now=now)),
        updated_number_scheduled=sum(1 for p in keep.values() if p.metadata.labels.get(REVISION_HASH) == current),
        observed_generation=ds.metadata.generation,
        collision_count=ds.status.collision_count,
        conditions=list(ds.status.conditions))
    status.number_unavailable = max(status.desired_number_scheduled - status.number_available, 0)
    if status != ds.status:
        out = clone(ds)
        out.status = status
        plan.actions.append(UpdateStatus(out))
    for p in keep.values():
        plan.later(podutil.available_in(p, min_ready_seconds=mrs, now=now))
    return plan


def _rolling(ds: DaemonSet, keep: dict[str, Pod], eligible: set[str], current: str, now: float) -> list[Pod]:
    """Old-template pods to replace now: unavailable ones freely, then available ones while
    fewer than maxUnavailable nodes are without an available pod."""
    st = ds.spec.update_strategy
    if st is not None and st.type == "OnDelete":
        return []
    ru = st.rolling_update if st is not None else None
    budget = ro.scaled_value(ru.max_unavailable if ru else 1, len(eligible), round_up=True) or 1
    mrs = ds.spec.min_ready_seconds
    unavailable = sum(1 for n in eligible
                      if n not in keep or not podutil.is_available(keep[n], min_ready_seconds=mrs, now=now))
    out: list[Pod] = []
    old = sorted(((n, p) for n, p in keep.items() if p.metadata.labels.get(REVISION_HASH) != current),
                 key=lambda np: np[0])
    for node_name, p in old:
        if not podutil.is_available(p, min_ready_seconds=mrs, now=now):
            out.append(p)
        elif unavailable < budget:
            out.append(p)
            unavailable += 1
    for p in out:
        keep.pop(target_node(p), None)
    return out
