"""DaemonSet plan: eligibility, following nodes, rolling updates (pure)."""

from __future__ import annotations

from orchestrator.controllers.actions import Create, Delete, UpdateStatus
from orchestrator.controllers.daemonsets import REVISION_HASH, plan_daemonset, target_node
from orchestrator.controllers.rollouts import template_hash
from orchestrator.model.apps import DaemonSet
from orchestrator.model.nodes import Taint
from orchestrator.model.pods import (Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm,
                                     Pod, Toleration)
from tests.controllers.factories import NOW, make_ds, make_node, make_pod


def ds_pod(ds: DaemonSet, name: str, node: str, *, current: bool = True, **kw: object) -> Pod:
    labels = {**ds.spec.template.metadata.labels,
              REVISION_HASH: template_hash(ds.spec.template) if current else "old"}
    return make_pod(name, owner=ds, node=node, labels=labels, **kw)  # type: ignore[arg-type]


def test_one_pod_per_node_pinned_by_affinity() -> None:
    ds = make_ds()
    nodes = [make_node("n1"), make_node("n2"), make_node("n3")]
    plan = plan_daemonset(ds, nodes=nodes, owned=[ds_pod(ds, "p1", "n1")], orphans=[], now=NOW)
    created = sorted(target_node(c.obj) for c in plan.of(Create))
    assert created == ["n2", "n3"]
    pod = plan.of(Create)[0].obj
    assert pod.metadata.labels[REVISION_HASH] == template_hash(ds.spec.template)
    assert {t.key for t in pod.spec.tolerations} >= {"node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"}
    st = plan.of(UpdateStatus)[0].obj.status
    assert (st.desired_number_scheduled, st.current_number_scheduled, st.number_ready) == (3, 1, 1)


def test_pods_are_pinned_for_the_scheduler_and_a_pending_one_counts() -> None:
    ds = make_ds(node_selector={"disk": "ssd"})
    nodes = [make_node("n1", labels={"disk": "ssd"}), make_node("n2", labels={"disk": "ssd"})]
    (first, second) = plan_daemonset(ds, nodes=nodes, owned=[], orphans=[], now=NOW).of(Create)
    pod = first.obj
    assert pod.spec.node_name == "" and pod.spec.node_selector == {"disk": "ssd"}
    (term,) = pod.spec.affinity.node_affinity.required_during_scheduling_ignored_during_execution.node_selector_terms
    assert [(f.key, f.operator, f.values) for f in term.match_fields] == [("metadata.name", "In", ["n1"])]
    pending = make_pod("pending", owner=ds, node="", phase="Pending", labels={
        **ds.spec.template.metadata.labels, REVISION_HASH: template_hash(ds.spec.template)})
    pending.spec = pod.spec
    again = plan_daemonset(ds, nodes=nodes, owned=[pending], orphans=[], now=NOW)
    assert [target_node(c.obj) for c in again.of(Create)] == ["n2"] and not again.of(Delete)


def test_node_selector_affinity_and_taints_decide_eligibility() -> None:
    ds = make_ds(node_selector={"disk": "ssd"})
    nodes = [make_node("ssd", labels={"disk": "ssd"}), make_node("hdd", labels={"disk": "hdd"}),
             make_node("tainted", labels={"disk": "ssd"}, taints=[Taint(key="gpu", effect="NoSchedule")]),
             make_node("unreachable", labels={"disk": "ssd"},
                       taints=[Taint(key="node.kubernetes.io/unreachable", effect="NoExecute")]),
             make_node("soft", labels={"disk": "ssd"}, taints=[Taint(key="x", effect="PreferNoSchedule")])]
    created = sorted(target_node(c.obj) for c in plan_daemonset(ds, nodes=nodes, owned=[], orphans=[],
                                                                  now=NOW).of(Create))
    assert created == ["soft", "ssd", "unreachable"]
    tolerant = make_ds(tolerations=[Toleration(key="gpu", operator="Exists")])
    created = {target_node(c.obj) for c in plan_daemonset(tolerant, nodes=nodes, owned=[], orphans=[],
                                                            now=NOW).of(Create)}
    assert "tainted" in created and "hdd" in created
    term = NodeSelectorTerm(match_expressions=[NodeSelectorRequirement(key="disk", operator="NotIn", values=["hdd"])])
    aff = make_ds(affinity=Affinity(node_affinity=NodeAffinity(
        required_during_scheduling_ignored_during_execution=NodeSelector(node_selector_terms=[term]))))
    created = {target_node(c.obj) for c in plan_daemonset(aff, nodes=nodes, owned=[], orphans=[], now=NOW).of(Create)}
    assert "hdd" not in created and "ssd" in created


def test_pods_on_gone_or_ineligible_nodes_and_extras_are_deleted() -> None:
    ds = make_ds(node_selector={"role": "edge"})
    nodes = [make_node("edge", labels={"role": "edge"}), make_node("core", labels={"role": "core"})]
    pods = [ds_pod(ds, "keep", "edge", created=NOW - 500), ds_pod(ds, "extra", "edge"), ds_pod(ds, "wrong", "core"),
            ds_pod(ds, "gone", "vanished")]
    plan = plan_daemonset(ds, nodes=nodes, owned=pods, orphans=[], now=NOW)
    assert sorted(d.name for d in plan.of(Delete)) == ["extra", "gone", "wrong"]
    assert not plan.of(Create)
    assert plan.of(UpdateStatus)[0].obj.status.number_misscheduled == 2


def test_a_no_schedule_taint_keeps_new_pods_off_but_running_ones_stay() -> None:
    """Kubernetes' shouldRun / shouldContinueRunning: a NoSchedule taint (a down node's
    `unreachable:NoSchedule`, a taint an admin adds) creates nothing there and deletes nothing;
    an untolerated NoExecute taint removes the pod."""
    ds = make_ds()
    down = [Taint(key="node.kubernetes.io/unreachable", effect="NoSchedule"),
            Taint(key="node.kubernetes.io/unreachable", effect="NoExecute")]
    nodes = [make_node("down", taints=down), make_node("drained", taints=[Taint(key="maint", effect="NoSchedule")]),
             make_node("evicting", taints=[Taint(key="maint", effect="NoExecute")]), make_node("empty-down", taints=down)]
    pods = [ds_pod(ds, "on-down", "down"), ds_pod(ds, "on-drained", "drained"), ds_pod(ds, "on-evicting", "evicting")]
    plan = plan_daemonset(ds, nodes=nodes, owned=pods, orphans=[], now=NOW)
    assert [d.name for d in plan.of(Delete)] == ["on-evicting"]
    assert not plan.of(Create)
    st = plan.of(UpdateStatus)[0].obj.status
    assert (st.desired_number_scheduled, st.current_number_scheduled, st.number_misscheduled) == (0, 0, 3)


def test_a_failed_daemon_pod_is_replaced() -> None:
    ds = make_ds()
    plan = plan_daemonset(ds, nodes=[make_node("n1")], owned=[ds_pod(ds, "dead", "n1", phase="Failed")], orphans=[],
                          now=NOW)
    assert [d.name for d in plan.of(Delete)] == ["dead"]
    assert [target_node(c.obj) for c in plan.of(Create)] == ["n1"]


def test_rolling_update_replaces_at_most_max_unavailable_nodes_at_once() -> None:
    ds = make_ds()
    nodes = [make_node(f"n{i}") for i in range(4)]
    pods = [ds_pod(ds, f"p{i}", f"n{i}", current=False) for i in range(4)]
    plan = plan_daemonset(ds, nodes=nodes, owned=pods, orphans=[], now=NOW)
    assert len(plan.of(Delete)) == 1 and len(plan.of(Create)) == 1  # maxUnavailable 1
    pods[0] = ds_pod(ds, "new0", "n0", ready=False)  # replaced, not ready yet: nothing else goes
    assert not plan_daemonset(ds, nodes=nodes, owned=pods, orphans=[], now=NOW).of(Delete)
    assert ds.spec.update_strategy is not None
    ds.spec.update_strategy.type = "OnDelete"
    assert not plan_daemonset(ds, nodes=nodes, owned=[ds_pod(ds, f"p{i}", f"n{i}", current=False) for i in range(4)],
                              orphans=[], now=NOW).of(Delete)
