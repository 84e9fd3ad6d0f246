"""Deployment plan (pure): ReplicaSets per pod template, rolled by RollingUpdate or Recreate.

The new ReplicaSet is the one whose template equals the Deployment's (ignoring the
`pod-template-hash` label); it is named `<deployment>-<hash>` and carries revision
max(old)+1 (a rollback reuses an old ReplicaSet and moves its revision up, keeping the
old number in `revision-history`). Old ReplicaSets are scaled down as `rollouts` allows
and, once the rollout is complete, those beyond revisionHistoryLimit with no pods are
deleted. Paused: status only.
"""

from __future__ import annotations

from orchestrator.controllers import deployment_status as ds
from orchestrator.controllers import rollouts as ro
from orchestrator.controllers.actions import Create, Delete, Patch, Plan, Record, UpdateStatus
from orchestrator.controllers.clock import parse_time
from orchestrator.controllers.owners import adoption_patch, claim, controller_ref_to, release_patch
from orchestrator.controllers.pods import available_in, is_finished
from orchestrator.model.apps import Deployment, ReplicaSet, ReplicaSetSpec
from orchestrator.model.base import Condition, ObjectMeta, clone
from orchestrator.model.pods import Pod
from orchestrator.model.selectors import Selector, SelectorError, from_label_selector
from orchestrator.model.templates import LabelSelector


def selector_of(d: Deployment) -> Selector:
    try:
        return from_label_selector(d.spec.selector)
    except SelectorError:
        return Selector.nothing()


def max_unavailable(d: Deployment) -> int:
    want = d.spec.replicas or 0
    st = d.spec.strategy
    if st is None or st.type != "RollingUpdate" or want == 0:
        return 0
    ru = st.rolling_update
    _, unavailable = ro.fenceposts(ru.max_surge if ru else "25%", ru.max_unavailable if ru else "25%", want)
    return min(unavailable, want)


def surge_of(d: Deployment) -> tuple[int, int]:
    st = d.spec.strategy
    ru = st.rolling_update if st is not None else None
    return ro.fenceposts(ru.max_surge if ru else "25%", ru.max_unavailable if ru else "25%", d.spec.replicas or 0)


def new_replicaset(d: Deployment, *, replicas: int, revision: int) -> ReplicaSet:
    h = ro.template_hash(d.spec.template, d.status.collision_count)
    template = clone(d.spec.template)
    template.metadata.labels[ro.HASH_LABEL] = h
    selector = clone(d.spec.selector) if d.spec.selector is not None else LabelSelector()
    selector.match_labels[ro.HASH_LABEL] = h
    surge, _ = surge_of(d)
    annotations = {ro.REVISION: str(revision), ro.DESIRED_REPLICAS: str(d.spec.replicas or 0),
                   ro.MAX_REPLICAS: str((d.spec.replicas or 0) + surge)}
    if ro.CHANGE_CAUSE in d.metadata.annotations:
        annotations[ro.CHANGE_CAUSE] = d.metadata.annotations[ro.CHANGE_CAUSE]
    meta = ObjectMeta(name=f"{d.metadata.name}-{h}", namespace=d.metadata.namespace,
                      labels=dict(template.metadata.labels), annotations=annotations,
                      owner_references=[controller_ref_to(d)])
    return ReplicaSet(api_version="apps/v1", kind="ReplicaSet", metadata=meta,
                      spec=ReplicaSetSpec(replicas=replicas, selector=selector, template=template,
                                          min_ready_seconds=d.spec.min_ready_seconds))


def plan_deployment(d: Deployment, *, owned: list[ReplicaSet], orphans: list[ReplicaSet],
                    pods: dict[str, list[Pod]], now: float) -> Plan:
    """`pods`: the pods each ReplicaSet controls, by ReplicaSet uid."""
    plan = Plan()
    ns = d.metadata.namespace
    all_rs, adopt, release = claim(d, selector_of(d), owned=owned, orphans=orphans)
    plan.actions += [Patch("ReplicaSet", ns, rs.metadata.name, adoption_patch(rs, d)) for rs in adopt]
    plan.actions += [Patch("ReplicaSet", ns, rs.metadata.name, release_patch(rs, d.metadata.uid)) for rs in release]
    mrs = d.spec.min_ready_seconds
    counts = {rs.metadata.uid: ds.count_pods(pods.get(rs.metadata.uid, []), min_ready_seconds=mrs, now=now)
              for rs in all_rs}
    matching = sorted((rs for rs in all_rs if ro.same_template(rs.spec.template, d.spec.template)),
                      key=lambda rs: (rs.metadata.creation_timestamp or "", rs.metadata.name))
    new_rs = matching[0] if matching else None
    old = [rs for rs in all_rs if rs is not new_rs]
    conditions = list(d.status.conditions)
    targets: dict[str, int] = {}
    active = d.metadata.deletion_timestamp is None and not d.spec.paused
    if active:
        new_rs, conditions = _sync_new(plan, d, new_rs, old, counts, pods, conditions, now)
        all_rs = [*old, new_rs] if new_rs is not None else old
        targets = _scale(plan, d, new_rs, old, counts, pods)
    status = ds.deployment_status(d, all_rs=all_rs, new_rs=new_rs, counts=counts, spec_replicas=targets,
                                  max_unavailable=max_unavailable(d), conditions=conditions, now=now)
    if active and not targets and ds.is_complete(d, status):
        _cleanup(plan, d, old, pods)
    if status != d.status:
        out = clone(d)
        out.status = status
        plan.actions.append(UpdateStatus(out))
    # The Deployment's own annotation goes last: writing it first would make the status write stale.
    plan.actions.sort(key=lambda a: isinstance(a, Patch) and a.kind == "Deployment")
    plan.later(ds.deadline_in(d, status, now))
    for rs in all_rs:
        for p in pods.get(rs.metadata.uid, []):
            plan.later(available_in(p, min_ready_seconds=mrs, now=now))
    return plan


def _view(rs: ReplicaSet, counts: dict[str, ds.Counts], pods: dict[str, list[Pod]]) -> ro.RSView:
    c = counts.get(rs.metadata.uid, ds.Counts())
    replicas = rs.spec.replicas or 0
    return ro.RSView(name=rs.metadata.name, replicas=replicas, available=min(replicas, c.available),
                     created=parse_time(rs.metadata.creation_timestamp) or 0.0,
                     pods=sum(1 for p in pods.get(rs.metadata.uid, []) if not is_finished(p)),
                     desired=_int_annotation(rs, ro.DESIRED_REPLICAS), max_replicas=_int_annotation(rs, ro.MAX_REPLICAS))


def _int_annotation(rs: ReplicaSet, key: str) -> int | None:
    value = rs.metadata.annotations.get(key, "")
    return int(value) if value.isdigit() else None


def _sync_new(plan: Plan, d: Deployment, new_rs: ReplicaSet | None, old: list[ReplicaSet],
              counts: dict[str, ds.Counts], pods: dict[str, list[Pod]], conditions: list[Condition],
              now: float) -> tuple[ReplicaSet | None, list[Condition]]:
    """Create the new ReplicaSet, or bring its revision up to date."""
    ns = d.metadata.namespace
    revision = max((ro.revision_number(rs) for rs in old), default=0) + 1
    if new_rs is None:
        want = d.spec.replicas or 0
        if d.spec.strategy is not None and d.spec.strategy.type == "Recreate":
            initial = 0
        else:
            surge, _ = surge_of(d)
            views = [_view(rs, counts, pods) for rs in old]
            initial = ro.new_replicas(replicas=want, surge=surge, views=views, new=ro.RSView("", 0, 0))
        rs = new_replicaset(d, replicas=initial, revision=revision)
        plan.actions.append(Create(rs))
        if initial:
            plan.actions.append(Record(d, "ScalingReplicaSet", f"Scaled up replica set {rs.metadata.name} from 0 to {initial}"))
        conditions = ds.set_condition(conditions, ds.condition(
            ds.PROGRESSING, "True", ds.NEW_RS_CREATED, f'Created new replica set "{rs.metadata.name}"', now))
        _annotate_revision(plan, d, revision)
        return rs, conditions
    have = ro.revision_number(new_rs)
    patch: dict[str, object] = {}
    if have < revision:
        ann = {ro.REVISION: str(revision)}
        if have:
            history = new_rs.metadata.annotations.get(ro.REVISION_HISTORY, "")
            ann[ro.REVISION_HISTORY] = f"{history},{have}" if history else str(have)
        patch["metadata"] = {"annotations": ann}
    if new_rs.spec.min_ready_seconds != d.spec.min_ready_seconds:
        patch["spec"] = {"minReadySeconds": d.spec.min_ready_seconds}
    if patch:
        plan.actions.append(Patch("ReplicaSet", ns, new_rs.metadata.name, patch))
    _annotate_revision(plan, d, max(have, revision))
    if ds.get_condition(conditions, ds.PROGRESSING) is None:
        conditions = ds.set_condition(conditions, ds.condition(
            ds.PROGRESSING, "True", ds.FOUND_NEW_RS, f'Found new replica set "{new_rs.metadata.name}"', now))
    return new_rs, conditions


def _annotate_revision(plan: Plan, d: Deployment, revision: int) -> None:
    if d.metadata.annotations.get(ro.REVISION) != str(revision):
        plan.actions.append(Patch("Deployment", d.metadata.namespace, d.metadata.name,
                                  {"metadata": {"annotations": {ro.REVISION: str(revision)}}}))


def _scale(plan: Plan, d: Deployment, new_rs: ReplicaSet | None, old: list[ReplicaSet],
           counts: dict[str, ds.Counts], pods: dict[str, list[Pod]]) -> dict[str, int]:
    want = d.spec.replicas or 0
    old_views = [_view(rs, counts, pods) for rs in old]
    new_view = _view(new_rs, counts, pods) if new_rs is not None else None
    if new_view is not None and new_rs is not None and not new_rs.metadata.uid:
        new_view.available, new_view.pods = 0, 0  # created in this pass
    surge, unavailable = surge_of(d)
    if d.spec.strategy is not None and d.spec.strategy.type == "Recreate":
        targets, _ = ro.recreate_step(replicas=want, new=new_view, old=old_views)
    elif new_view is not None and new_rs is not None and new_rs.metadata.uid and \
            sum(v.replicas > 0 for v in [*old_views, new_view]) > 1 and \
            ro.is_scaling_event(want, [*old_views, new_view]):
        targets = ro.proportional_step(replicas=want, surge=surge, views=[*old_views, new_view],
                                       status_replicas=d.status.replicas or 0)
    elif new_view is not None:
        targets = ro.rolling_step(replicas=want, surge=surge, unavailable=unavailable, new=new_view, old=old_views)
    else:
        targets = {}
    by_name = {rs.metadata.name: rs for rs in [*old, *([new_rs] if new_rs is not None else [])]}
    for name, target in targets.items():
        rs = by_name[name]
        before = rs.spec.replicas or 0
        if not rs.metadata.uid:  # the new ReplicaSet, not created yet: size it in the Create
            rs.spec.replicas = target
            plan.actions.append(Record(d, "ScalingReplicaSet", f"Scaled up replica set {name} from {before} to {target}"))
            continue
        plan.actions.append(Patch("ReplicaSet", d.metadata.namespace, name, {
            "metadata": {"annotations": {ro.DESIRED_REPLICAS: str(want), ro.MAX_REPLICAS: str(want + surge)}},
            "spec": {"replicas": target}}))
        if target == before:
            continue  # re-annotated only
        verb = "up" if target > before else "down"
        plan.actions.append(Record(d, "ScalingReplicaSet", f"Scaled {verb} replica set {name} from {before} to {target}"))
    return targets


def _cleanup(plan: Plan, d: Deployment, old: list[ReplicaSet], pods: dict[str, list[Pod]]) -> None:
    limit = d.spec.revision_history_limit
    if limit is None:
        return
    alive = sorted((rs for rs in old if rs.metadata.deletion_timestamp is None), key=ro.revision_number)
    for rs in alive[:max(len(alive) - limit, 0)]:
        if (rs.spec.replicas or 0) == 0 and not pods.get(rs.metadata.uid):
            plan.actions.append(Delete("ReplicaSet", d.metadata.namespace, rs.metadata.name))
