"""ReplicaSet plan (pure): keep `replicas` active pods matching the selector.

Adopt matching orphans, release owned pods that stopped matching, create from the
template (generateName `<rs>-`, controller ownerReference) or delete the pods that
matter least first (`pods.deletion_rank`), and report status. Pods being deleted or
finished do not count. Nothing is created or deleted while the ReplicaSet is being
deleted (the garbage collector owns that).
"""

from __future__ import annotations

from orchestrator.controllers import pods as podutil
from orchestrator.controllers.actions import Create, Delete, Patch, Plan, UpdateStatus
from orchestrator.controllers.owners import adoption_patch, claim, controller_ref_to, release_patch
from orchestrator.model.apps import ReplicaSet, ReplicaSetStatus
from orchestrator.model.base import clone
from orchestrator.model.pods import Pod
from orchestrator.model.selectors import SelectorError, Selector, from_label_selector


def selector_of(rs: ReplicaSet) -> Selector:
    try:
        return from_label_selector(rs.spec.selector)
    except SelectorError:
        return Selector.nothing()


def replicaset_status(rs: ReplicaSet, pods: list[Pod], *, now: float) -> ReplicaSetStatus:
    active = [p for p in pods if podutil.is_active(p)]
    template_labels = rs.spec.template.metadata.labels
    mrs = rs.spec.min_ready_seconds
    return ReplicaSetStatus(
        replicas=len(active),
        fully_labeled_replicas=sum(1 for p in active
                                   if all(p.metadata.labels.get(k) == v for k, v in template_labels.items())),
        ready_replicas=sum(1 for p in active if podutil.is_ready(p)),
        available_replicas=sum(1 for p in active if podutil.is_available(p, min_ready_seconds=mrs, now=now)),
        terminating_replicas=sum(1 for p in pods if podutil.is_terminating(p)) or None,
        observed_generation=rs.metadata.generation,
        conditions=list(rs.status.conditions))


def plan_replicaset(rs: ReplicaSet, *, owned: list[Pod], orphans: list[Pod], now: float, burst: int = 500) -> Plan:
    plan = Plan()
    ns, uid = rs.metadata.namespace, rs.metadata.uid
    mine, adopt, release = claim(rs, selector_of(rs), owned=owned, orphans=orphans)
    for p in adopt:
        plan.actions.append(Patch("Pod", ns, p.metadata.name, adoption_patch(p, rs)))
    for p in release:
        plan.actions.append(Patch("Pod", ns, p.metadata.name, release_patch(p, uid)))
    active = [p for p in mine if podutil.is_active(p)]
    want = rs.spec.replicas if rs.spec.replicas is not None else 1
    diff = len(active) - want
    if rs.metadata.deletion_timestamp is None:
        if diff < 0:
            ref = controller_ref_to(rs)
            for _ in range(min(-diff, burst)):
                pod = podutil.pod_from_template(rs.spec.template, namespace=ns, generate_name=f"{rs.metadata.name}-",
                                                owner=ref)
                plan.actions.append(Create(pod, owner=rs))
        elif diff > 0:
            for p in sorted(active, key=podutil.deletion_rank)[:min(diff, burst)]:
                plan.actions.append(Delete("Pod", ns, p.metadata.name, owner=rs))
    status = replicaset_status(rs, mine, now=now)
    if status != rs.status:
        out = clone(rs)
        out.status = status
        plan.actions.append(UpdateStatus(out))
    for p in active:
        plan.later(podutil.available_in(p, min_ready_seconds=rs.spec.min_ready_seconds, now=now))
    return plan
