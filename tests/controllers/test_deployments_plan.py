"""Deployment plan: ReplicaSets per template, revisions, conditions, history (pure)."""

from __future__ import annotations

from typing import Any

from orchestrator.controllers.actions import Create, Delete, Patch, Record, UpdateStatus
from orchestrator.controllers.clock import format_time
from orchestrator.controllers.deployment_status import TIMED_OUT
from orchestrator.controllers.deployments import new_replicaset, plan_deployment
from orchestrator.controllers.rollouts import HASH_LABEL, REVISION, REVISION_HISTORY, template_hash
from orchestrator.model.apps import Deployment, ReplicaSet
from orchestrator.model.base import Condition
from orchestrator.model.pods import Pod
from tests.controllers.factories import NOW, make_deployment, make_pod, meta


def rs_for(d: Deployment, *, replicas: int, revision: int, image: str | None = None, created: float = NOW - 100) -> ReplicaSet:
    src = d
    if image is not None:
        src = make_deployment(d.metadata.name, image=image)
    rs = new_replicaset(src, replicas=replicas, revision=revision)
    rs.metadata = meta(rs.metadata.name, labels=rs.metadata.labels, owners=rs.metadata.owner_references,
                       annotations=rs.metadata.annotations, created=created)
    rs.metadata.owner_references[0].uid = d.metadata.uid
    return rs


def pods_for(rs: ReplicaSet, n: int, *, ready: bool = True) -> list[Pod]:
    return [make_pod(f"{rs.metadata.name}-{i}", owner=rs, ready=ready) for i in range(n)]


def status_of(plan: Any) -> Any:
    return plan.of(UpdateStatus)[0].obj.status


def cond(status: Any, type_: str) -> Condition:
    return next(c for c in status.conditions if c.type == type_)


def test_a_new_deployment_creates_its_replicaset_named_by_template_hash() -> None:
    d = make_deployment(replicas=5)
    plan = plan_deployment(d, owned=[], orphans=[], pods={}, now=NOW)
    (create,) = plan.of(Create)
    rs = create.obj
    h = template_hash(d.spec.template)
    assert rs.metadata.name == f"web-{h}"
    assert rs.spec.replicas == 5
    assert rs.metadata.annotations[REVISION] == "1"
    assert rs.spec.template.metadata.labels == {"app": "web", HASH_LABEL: h}
    assert rs.spec.selector.match_labels == {"app": "web", HASH_LABEL: h}
    assert rs.metadata.owner_references[0].uid == d.metadata.uid
    assert any(r.reason == "ScalingReplicaSet" and "to 5" in r.message for r in plan.of(Record))
    assert cond(status_of(plan), "Progressing").reason == "NewReplicaSetCreated"
    assert isinstance(plan.actions[-1], Patch) and plan.actions[-1].kind == "Deployment"  # revision, after status


def test_an_image_change_surges_the_new_replicaset_and_trims_the_old_one() -> None:
    d = make_deployment(replicas=5, image="v2")  # 25%: surge 2, unavailable 1
    old = rs_for(d, replicas=5, revision=1, image="v1")
    plan = plan_deployment(d, owned=[old], orphans=[], pods={old.metadata.uid: pods_for(old, 5)}, now=NOW)
    (create,) = plan.of(Create)
    assert create.obj.spec.replicas == 2 and create.obj.metadata.annotations[REVISION] == "2"
    scale = [p for p in plan.of(Patch) if p.kind == "ReplicaSet"]
    assert [(p.name, p.patch["spec"]["replicas"]) for p in scale] == [(old.metadata.name, 4)]


def test_new_pods_becoming_available_let_the_old_replicaset_shrink() -> None:
    d = make_deployment(replicas=5, image="v2")
    old = rs_for(d, replicas=4, revision=1, image="v1")
    new = rs_for(d, replicas=2, revision=2)
    pods = {old.metadata.uid: pods_for(old, 4), new.metadata.uid: pods_for(new, 2)}

    def scaled(plan: Any) -> dict[str, int]:
        return {p.name: p.patch["spec"]["replicas"] for p in plan.of(Patch) if p.kind == "ReplicaSet" and "spec" in p.patch}

    # 6 pods < 5 + surge 2: the new one grows first
    assert scaled(plan_deployment(d, owned=[old, new], orphans=[], pods=pods, now=NOW)) == {new.metadata.name: 3}
    new.spec.replicas = 3
    pods[new.metadata.uid].append(make_pod("starting", owner=new, ready=False))
    plan = plan_deployment(d, owned=[old, new], orphans=[], pods=pods, now=NOW)
    assert scaled(plan) == {old.metadata.name: 2}  # 4 + 2 available, at least 4 must stay: 2 old may go
    assert not plan.of(Create)


def test_a_rollback_reuses_the_old_replicaset_and_moves_its_revision_up() -> None:
    d = make_deployment(replicas=2, image="v1")
    back = rs_for(d, replicas=0, revision=1, created=NOW - 500)
    current = rs_for(d, replicas=2, revision=2, image="v2")
    plan = plan_deployment(d, owned=[back, current], orphans=[],
                           pods={current.metadata.uid: pods_for(current, 2)}, now=NOW)
    assert not plan.of(Create)
    rev = next(p for p in plan.of(Patch) if p.name == back.metadata.name and "metadata" in p.patch
               and REVISION in p.patch["metadata"]["annotations"])
    assert rev.patch["metadata"]["annotations"] == {REVISION: "3", REVISION_HISTORY: "1"}


def test_a_complete_rollout_reports_available_and_cleans_up_history() -> None:
    d = make_deployment(replicas=2)
    d.spec.revision_history_limit = 1
    new = rs_for(d, replicas=2, revision=4)
    olds = [rs_for(d, replicas=0, revision=r, image=f"v{r}") for r in (1, 2, 3)]
    plan = plan_deployment(d, owned=[*olds, new], orphans=[], pods={new.metadata.uid: pods_for(new, 2)}, now=NOW)
    st = status_of(plan)
    assert (st.replicas, st.updated_replicas, st.ready_replicas, st.available_replicas, st.unavailable_replicas) == (
        2, 2, 2, 2, 0)
    assert cond(st, "Available").status == "True"
    assert cond(st, "Progressing").reason == "NewReplicaSetAvailable"
    assert sorted(x.name for x in plan.of(Delete)) == sorted(rs.metadata.name for rs in olds[:2])


def test_no_progress_for_the_deadline_fails_the_rollout() -> None:
    d = make_deployment(replicas=2, image="v2")
    d.spec.progress_deadline_seconds = 60
    old = rs_for(d, replicas=2, revision=1, image="v1")
    new = rs_for(d, replicas=1, revision=2)
    pods = {old.metadata.uid: pods_for(old, 2), new.metadata.uid: pods_for(new, 1, ready=False)}
    d.status.replicas, d.status.updated_replicas, d.status.available_replicas, d.status.ready_replicas = 3, 1, 2, 2
    d.status.observed_generation = 1
    d.status.conditions = [Condition(type="Progressing", status="True", reason="ReplicaSetUpdated",
                                     last_update_time=format_time(NOW - 30), last_transition_time=format_time(NOW - 30))]
    plan = plan_deployment(d, owned=[old, new], orphans=[], pods=pods, now=NOW)
    assert not plan.of(UpdateStatus) or cond(status_of(plan), "Progressing").reason != TIMED_OUT
    assert plan.requeue_after is not None and 29 <= plan.requeue_after <= 32  # come back at the deadline
    later = plan_deployment(d, owned=[old, new], orphans=[], pods=pods, now=NOW + 31)
    c = cond(status_of(later), "Progressing")
    assert (c.status, c.reason) == ("False", TIMED_OUT)


def test_recreate_scales_old_to_zero_and_waits_for_its_pods_to_go() -> None:
    d = make_deployment(replicas=3, image="v2", strategy="Recreate")
    old = rs_for(d, replicas=3, revision=1, image="v1")
    plan = plan_deployment(d, owned=[old], orphans=[], pods={old.metadata.uid: pods_for(old, 3)}, now=NOW)
    assert plan.of(Create)[0].obj.spec.replicas == 0
    assert [(p.name, p.patch["spec"]["replicas"]) for p in plan.of(Patch) if p.kind == "ReplicaSet"] == [
        (old.metadata.name, 0)]
    old.spec.replicas = 0
    new = rs_for(d, replicas=0, revision=2)
    waiting = plan_deployment(d, owned=[old, new], orphans=[], pods={old.metadata.uid: pods_for(old, 1)}, now=NOW)
    assert not [p for p in waiting.of(Patch) if p.kind == "ReplicaSet" and "spec" in p.patch]
    go = plan_deployment(d, owned=[old, new], orphans=[], pods={}, now=NOW)
    assert [(p.name, p.patch["spec"]["replicas"]) for p in go.of(Patch) if p.kind == "ReplicaSet"] == [
        (new.metadata.name, 3)]


def test_paused_deployments_roll_nothing_out() -> None:
    d = make_deployment(replicas=2, image="v2")
    d.spec.paused = True
    old = rs_for(d, replicas=2, revision=1, image="v1")
    plan = plan_deployment(d, owned=[old], orphans=[], pods={old.metadata.uid: pods_for(old, 2)}, now=NOW)
    assert not plan.of(Create) and not [p for p in plan.of(Patch) if p.kind == "ReplicaSet"]
    assert cond(status_of(plan), "Progressing").reason == "DeploymentPaused"


def test_scaling_to_zero_and_back() -> None:
    d = make_deployment(replicas=0)
    rs = rs_for(d, replicas=3, revision=1)
    plan = plan_deployment(d, owned=[rs], orphans=[], pods={rs.metadata.uid: pods_for(rs, 3)}, now=NOW)
    assert [p.patch["spec"]["replicas"] for p in plan.of(Patch) if p.kind == "ReplicaSet"] == [0]
    d.spec.replicas = 4
    rs.spec.replicas = 0
    plan = plan_deployment(d, owned=[rs], orphans=[], pods={}, now=NOW)
    assert [p.patch["spec"]["replicas"] for p in plan.of(Patch) if p.kind == "ReplicaSet"] == [4]


def test_a_resize_mid_rollout_is_spread_over_old_and_new() -> None:
    d = make_deployment(replicas=10, image="v2", surge=3, unavailable=2)
    old = rs_for(d, replicas=8, revision=1, image="v1", created=NOW - 200)
    new = rs_for(d, replicas=5, revision=2, created=NOW - 100)
    for rs in (old, new):
        rs.metadata.annotations.update({"deployment.kubernetes.io/desired-replicas": "10",
                                        "deployment.kubernetes.io/max-replicas": "13"})
    d.spec.replicas = 15
    plan = plan_deployment(d, owned=[old, new], orphans=[],
                           pods={old.metadata.uid: pods_for(old, 8), new.metadata.uid: pods_for(new, 5, ready=False)},
                           now=NOW)
    scale = {p.name: p.patch for p in plan.of(Patch) if p.kind == "ReplicaSet"}
    # 15 + surge 3 = 18 allowed: old round(8*18/13) = 11, new round(5*18/13) = 7
    assert {n: p["spec"]["replicas"] for n, p in scale.items()} == {old.metadata.name: 11, new.metadata.name: 7}
    assert all(p["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "15"
               for p in scale.values())
    # once re-annotated, the rollout carries on as usual
    for rs, n in ((old, 11), (new, 7)):
        rs.spec.replicas = n
        rs.metadata.annotations.update({"deployment.kubernetes.io/desired-replicas": "15",
                                        "deployment.kubernetes.io/max-replicas": "18"})
    after = plan_deployment(d, owned=[old, new], orphans=[],
                            pods={old.metadata.uid: pods_for(old, 11), new.metadata.uid: pods_for(new, 7)}, now=NOW)
    moved = {p.name: p.patch["spec"]["replicas"] for p in after.of(Patch) if p.kind == "ReplicaSet"}
    assert moved == {old.metadata.name: 6}  # rolling again: at 18 = 15 + surge, old shrinks to 15 - 2 available

