"""ReplicaSet plan: pure, no event loop."""

from __future__ import annotations

from orchestrator.controllers.actions import Create, Delete, Patch, UpdateStatus
from orchestrator.controllers.replicasets import plan_replicaset
from tests.controllers.factories import NOW, make_pod, make_rs


def test_creates_missing_pods_from_the_template_with_a_controller_reference() -> None:
    rs = make_rs(replicas=3)
    plan = plan_replicaset(rs, owned=[make_pod("a", owner=rs)], orphans=[], now=NOW)
    creates = plan.of(Create)
    assert len(creates) == 2
    pod = creates[0].obj
    assert pod.metadata.generate_name == "web-abc-"
    assert pod.metadata.namespace == "default"
    assert pod.metadata.labels == {"app": "web"}
    ref = pod.metadata.owner_references[0]
    assert (ref.kind, ref.name, ref.uid, ref.controller, ref.block_owner_deletion) == (
        "ReplicaSet", "web-abc", rs.metadata.uid, True, True)
    assert creates[0].owner is rs  # SuccessfulCreate is recorded on the ReplicaSet
    assert not plan.of(Delete)


def test_deletes_extra_pods_unscheduled_then_pending_then_not_ready_then_newest() -> None:
    rs = make_rs(replicas=2)
    pods = [
        make_pod("old-ready", owner=rs, created=NOW - 500, ready_since=NOW - 400),
        make_pod("new-ready", owner=rs, created=NOW - 50, ready_since=NOW - 40),
        make_pod("not-ready", owner=rs, ready=False),
        make_pod("pending", owner=rs, phase="Pending"),
        make_pod("unscheduled", owner=rs, phase="Pending", node=""),
    ]
    plan = plan_replicaset(rs, owned=pods, orphans=[], now=NOW)
    assert [d.name for d in plan.of(Delete)] == ["unscheduled", "pending", "not-ready"]
    plan = plan_replicaset(make_rs(replicas=1), owned=[], orphans=[], now=NOW)
    rs1 = make_rs(replicas=1)
    plan = plan_replicaset(rs1, owned=[make_pod("old", owner=rs1, ready_since=NOW - 400),
                                       make_pod("young", owner=rs1, ready_since=NOW - 10)], orphans=[], now=NOW)
    assert [d.name for d in plan.of(Delete)] == ["young"]  # ready for less time goes first


def test_terminating_and_finished_pods_do_not_count() -> None:
    rs = make_rs(replicas=2)
    pods = [make_pod("a", owner=rs), make_pod("b", owner=rs, deleting=True), make_pod("c", owner=rs, phase="Failed"),
            make_pod("d", owner=rs, phase="Succeeded")]
    plan = plan_replicaset(rs, owned=pods, orphans=[], now=NOW)
    assert len(plan.of(Create)) == 1
    status = plan.of(UpdateStatus)[0].obj.status
    assert (status.replicas, status.ready_replicas, status.terminating_replicas) == (1, 1, 1)


def test_adopts_matching_orphans_and_releases_pods_that_stop_matching() -> None:
    rs = make_rs(replicas=2)
    orphan = make_pod("orphan")
    other = make_pod("other", labels={"app": "db"})
    strayed = make_pod("strayed", owner=rs, labels={"app": "moved"})
    plan = plan_replicaset(rs, owned=[strayed], orphans=[orphan, other], now=NOW)
    patches = {p.name: p.patch for p in plan.of(Patch)}
    assert set(patches) == {"orphan", "strayed"}
    assert patches["orphan"]["metadata"]["ownerReferences"][0]["uid"] == rs.metadata.uid
    assert patches["orphan"]["metadata"]["resourceVersion"] == orphan.metadata.resource_version
    assert patches["strayed"]["metadata"]["ownerReferences"] == []
    assert len(plan.of(Create)) == 1  # the adopted orphan counts


def test_a_replicaset_being_deleted_neither_creates_nor_adopts() -> None:
    rs = make_rs(replicas=3)
    rs.metadata.deletion_timestamp = "2024-01-01T00:00:00Z"
    plan = plan_replicaset(rs, owned=[], orphans=[make_pod("orphan")], now=NOW)
    assert not plan.of(Create) and not plan.of(Patch)


def test_status_counts_available_after_min_ready_seconds_and_asks_to_come_back() -> None:
    rs = make_rs(replicas=2)
    rs.spec.min_ready_seconds = 30
    pods = [make_pod("a", owner=rs, ready_since=NOW - 60), make_pod("b", owner=rs, ready_since=NOW - 10)]
    plan = plan_replicaset(rs, owned=pods, orphans=[], now=NOW)
    st = plan.of(UpdateStatus)[0].obj.status
    assert (st.replicas, st.ready_replicas, st.available_replicas, st.observed_generation) == (2, 2, 1, 1)
    assert plan.requeue_after is not None and 19 <= plan.requeue_after <= 21


def test_nothing_to_do_means_no_actions() -> None:
    rs = make_rs(replicas=1)
    pods = [make_pod("a", owner=rs)]
    first = plan_replicaset(rs, owned=pods, orphans=[], now=NOW)
    rs.status = first.of(UpdateStatus)[0].obj.status
    assert plan_replicaset(rs, owned=pods, orphans=[], now=NOW).actions == []


def test_creates_at_most_burst_pods_per_pass() -> None:
    rs = make_rs(replicas=1000)
    assert len(plan_replicaset(rs, owned=[], orphans=[], now=NOW, burst=500).of(Create)) == 500
