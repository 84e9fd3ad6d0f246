"""Node lifecycle decisions: Ready condition, taints, evictions, pausing (pure)."""

from __future__ import annotations

import pytest

from orchestrator.controllers.actions import Delete, Patch, Record, UpdateStatus
from orchestrator.controllers.clock import format_micro
from orchestrator.controllers.node_health import eviction_time, evictions_paused, plan_node, plan_orphaned_pods
from orchestrator.model.nodes import Taint
from orchestrator.model.pods import Toleration
from tests.controllers.factories import NOW, make_node, make_pod

UNREACHABLE = "node.kubernetes.io/unreachable"


def unreachable(added: float) -> Taint:
    return Taint(key=UNREACHABLE, effect="NoExecute", time_added=format_micro(added))


def test_a_stale_node_becomes_unknown_and_tainted() -> None:
    node = make_node("n1")
    plan = plan_node(node, stale=True, pods=[], now=NOW, paused=False, default_toleration_s=300)
    ready = plan.of(UpdateStatus)[0].obj.status.conditions[-1]
    assert (ready.type, ready.status, ready.reason) == ("Ready", "Unknown", "NodeStatusUnknown")
    (patch,) = plan.of(Patch)
    assert patch.patch["spec"]["taints"] == [{"key": UNREACHABLE, "effect": "NoSchedule"},
                                             {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": format_micro(NOW)}]
    assert plan.of(Record)[0].reason == "NodeNotReady"


def test_a_not_ready_node_gets_the_not_ready_taint() -> None:
    plan = plan_node(make_node("n1", ready="False"), stale=False, pods=[], now=NOW, paused=False,
                     default_toleration_s=300)
    assert not plan.of(UpdateStatus)  # the agent owns Ready=False
    taints = plan.of(Patch)[0].patch["spec"]["taints"]
    assert [(t["key"], t["effect"]) for t in taints] == [("node.kubernetes.io/not-ready", "NoSchedule"),
                                                         ("node.kubernetes.io/not-ready", "NoExecute")]


def test_a_fresh_node_is_restored_and_untainted() -> None:
    node = make_node("n1", ready="Unknown", reason="NodeStatusUnknown",
                     taints=[unreachable(NOW - 10), Taint(key=UNREACHABLE, effect="NoSchedule"),
                             Taint(key="dedicated", value="x", effect="NoSchedule")])
    plan = plan_node(node, stale=False, pods=[], now=NOW, paused=False, default_toleration_s=300)
    assert plan.of(UpdateStatus)[0].obj.status.conditions[-1].status == "True"
    assert plan.of(Patch)[0].patch["spec"]["taints"] == [{"key": "dedicated", "value": "x", "effect": "NoSchedule"}]


def test_pods_are_evicted_after_their_toleration() -> None:
    node = make_node("n1", ready="Unknown", reason="NodeStatusUnknown", taints=[unreachable(NOW - 10)])
    default = make_pod("default")
    short = make_pod("short", tolerations=[Toleration(key=UNREACHABLE, operator="Exists", effect="NoExecute",
                                                      toleration_seconds=5)])
    forever = make_pod("forever", tolerations=[Toleration(key=UNREACHABLE, operator="Exists", effect="NoExecute")])
    gone = make_pod("gone", deleting=True)
    plan = plan_node(node, stale=True, pods=[default, short, forever, gone], now=NOW, paused=False,
                     default_toleration_s=30)
    (d,) = plan.of(Delete)
    assert (d.name, d.grace) == ("short", 0)
    assert [r.reason for r in plan.of(Record)] == ["TaintManagerEviction"]
    assert plan.requeue_after is not None and 19 <= plan.requeue_after <= 21  # `default` goes at 30 s
    later = plan_node(node, stale=True, pods=[default, forever], now=NOW + 21, paused=False, default_toleration_s=30)
    assert [x.name for x in later.of(Delete)] == ["default"]


def test_an_untolerated_no_execute_taint_evicts_at_once() -> None:
    node = make_node("n1", taints=[Taint(key="maintenance", effect="NoExecute", time_added=format_micro(NOW))])
    plan = plan_node(node, stale=False, pods=[make_pod("p")], now=NOW, paused=False, default_toleration_s=300)
    assert [d.name for d in plan.of(Delete)] == ["p"]
    tol = Toleration(key="maintenance", operator="Exists")
    assert eviction_time(make_pod("q", tolerations=[tol]), node.spec.taints, default_toleration_s=300, now=NOW) is None


def test_paused_evictions_only_record_why() -> None:
    node = make_node("n1", ready="Unknown", reason="NodeStatusUnknown", taints=[unreachable(NOW - 100)])
    plan = plan_node(node, stale=True, pods=[make_pod("p")], now=NOW, paused=True, default_toleration_s=1,
                     why_paused="3 of 4 nodes are unhealthy")
    assert not plan.of(Delete)
    assert plan.of(Record)[0].reason == "EvictionsPaused"


@pytest.mark.parametrize(("total", "unhealthy", "paused"), [
    (2, 1, False), (3, 1, False), (3, 2, True), (4, 2, False), (4, 3, True), (1, 1, True), (10, 5, False),
    (10, 6, True), (100, 54, False), (100, 55, True), (5, 0, False), (0, 0, False),
])
def test_evictions_pause_when_more_than_about_half_the_nodes_are_down(total: int, unhealthy: int,
                                                                      paused: bool) -> None:
    assert evictions_paused(total=total, unhealthy=unhealthy, threshold=0.55) is paused


def test_pods_of_vanished_nodes_are_force_deleted() -> None:
    plan = plan_orphaned_pods([make_pod("a"), make_pod("b", deleting=True)])
    assert [(d.name, d.grace) for d in plan.of(Delete)] == [("a", 0), ("b", 0)]
