"""Each filter on its own: pure functions of (PodInfo, NodeInfo)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.model.nodes import Taint
from orchestrator.model.pods import (Affinity, NodeAffinity, NodeSelector, NodeSelectorRequirement,
                                     NodeSelectorTerm, Toleration)
from orchestrator.scheduler import filters
from orchestrator.scheduler.pods import pod_info
from orchestrator.scheduler.snapshot import NodeInfo
from tests.scheduler.factories import info, make_node, make_pod, snapshot_of


def node(*args: Any, bound: Any = (), **kwargs: Any) -> NodeInfo:
    n = make_node(*args, **kwargs)
    return snapshot_of(n, pods=tuple(bound)).nodes[n.metadata.name]


def required(*terms: NodeSelectorTerm) -> Affinity:
    return Affinity(node_affinity=NodeAffinity(
        required_during_scheduling_ignored_during_execution=NodeSelector(node_selector_terms=list(terms))))


def expr(key: str, op: str, *values: str) -> NodeSelectorTerm:
    return NodeSelectorTerm(match_expressions=[NodeSelectorRequirement(key=key, operator=op, values=list(values))])


def test_ready() -> None:
    assert filters.node_ready(info(), node(ready=True)) == ()
    assert filters.node_ready(info(), node(ready=False)) == ("node(s) were not ready",)


def test_cordoned_node_takes_only_pods_tolerating_unschedulable() -> None:
    cordoned = node(unschedulable=True)
    assert filters.node_schedulable(info(), cordoned) == ("node(s) were unschedulable",)
    tol = Toleration(key="node.kubernetes.io/unschedulable", operator="Exists", effect="NoSchedule")
    assert filters.node_schedulable(info(tolerations=[tol]), cordoned) == ()
    assert filters.node_schedulable(info(), node()) == ()


@pytest.mark.parametrize(("cpu", "memory", "gpus", "expected"), [
    ("1", "1Gi", 0, ()),
    ("4", "16Gi", 0, ()),
    ("4100m", "1Gi", 0, ("Insufficient cpu",)),
    ("1", "17Gi", 0, ("Insufficient memory",)),
    ("5", "17Gi", 0, ("Insufficient cpu", "Insufficient memory")),
    ("1", "1Gi", 1, ("Insufficient nvidia.com/gpu",)),
])
def test_resources_on_an_empty_cpu_node(cpu: str, memory: str, gpus: int, expected: tuple[str, ...]) -> None:
    assert filters.resources_fit(info(cpu=cpu, memory=memory, gpus=gpus), node(cpu="4", memory="16Gi")) == expected


def test_resources_count_bound_pods_but_not_finished_ones() -> None:
    bound = [make_pod(f"b-{i}", cpu="1", memory="1Gi", node_name="node-0", phase="Running") for i in range(3)]
    done = make_pod("done", cpu="1", memory="1Gi", node_name="node-0", phase="Succeeded")
    n = node(cpu="4", memory="16Gi", bound=(*bound, done))
    assert n.cpu == 3000
    assert filters.resources_fit(info(cpu="1"), n) == ()
    assert filters.resources_fit(info(cpu="1100m"), n) == ("Insufficient cpu",)


def test_too_many_pods() -> None:
    bound = [make_pod(f"b-{i}", node_name="node-0") for i in range(2)]
    assert filters.resources_fit(info(), node(bound=bound, pods="2")) == ("Too many pods",)


def test_gpus_fit_by_free_devices() -> None:
    holders = [make_pod(f"nb-{i}", gpus=1, node_name="node-0", devices=[f"GPU-node-0-{i:02d}"]) for i in range(3)]
    n = node(gpus=4, bound=holders)
    assert n.free_gpus == 1
    assert filters.resources_fit(info(gpus=1), n) == ()
    assert filters.resources_fit(info(gpus=2), n) == ("Insufficient nvidia.com/gpu",)


def test_extended_resources_must_be_offered_but_undeclared_plain_ones_are_not_checked() -> None:
    n = node()
    assert filters.resources_fit(info(extra={"example.com/fpga": "1"}), n) == ("Insufficient example.com/fpga",)
    assert filters.resources_fit(info(extra={"ephemeral-storage": "1Gi"}), n) == ()


def test_node_selector() -> None:
    n = node(labels={"disk": "ssd", "zone": "a"})
    assert filters.node_affinity(info(node_selector={"disk": "ssd"}), n) == ()
    assert filters.node_affinity(info(node_selector={"disk": "hdd"}), n) == (filters.AFFINITY_MISMATCH,)
    assert filters.node_affinity(info(node_selector={"gpu": "yes"}), n) == (filters.AFFINITY_MISMATCH,)


@pytest.mark.parametrize(("term", "fits"), [
    (expr("zone", "In", "a", "b"), True),
    (expr("zone", "In", "c"), False),
    (expr("zone", "NotIn", "c"), True),
    (expr("zone", "NotIn", "a"), False),
    (expr("missing", "NotIn", "a"), True),
    (expr("zone", "Exists"), True),
    (expr("missing", "Exists"), False),
    (expr("missing", "DoesNotExist"), True),
    (expr("zone", "DoesNotExist"), False),
    (expr("cores", "Gt", "8"), True),
    (expr("cores", "Gt", "16"), False),
    (expr("cores", "Lt", "17"), True),
    (expr("cores", "Lt", "16"), False),
    (expr("zone", "Gt", "1"), False),  # not an integer label
    (expr("cores", "Gt", "many"), False),  # not an integer value
    (NodeSelectorTerm(), False),  # an empty term matches nothing
    (NodeSelectorTerm(match_fields=[NodeSelectorRequirement(key="metadata.name", operator="In",
                                                            values=["node-0"])]), True),
    (NodeSelectorTerm(match_fields=[NodeSelectorRequirement(key="metadata.name", operator="NotIn",
                                                            values=["node-0"])]), False),
])
def test_required_node_affinity(term: NodeSelectorTerm, fits: bool) -> None:
    n = node(labels={"zone": "a", "cores": "16"})
    expected = () if fits else (filters.AFFINITY_MISMATCH,)
    assert filters.node_affinity(info(affinity=required(term)), n) == expected


def test_required_terms_are_ored_and_expressions_anded() -> None:
    n = node(labels={"zone": "a", "disk": "ssd"})
    both = NodeSelectorTerm(match_expressions=[NodeSelectorRequirement(key="zone", operator="In", values=["a"]),
                                               NodeSelectorRequirement(key="disk", operator="In", values=["hdd"])])
    assert filters.node_affinity(info(affinity=required(both)), n) == (filters.AFFINITY_MISMATCH,)
    assert filters.node_affinity(info(affinity=required(both, expr("disk", "In", "ssd"))), n) == ()


def test_taints() -> None:
    gpu = node(gpus=4)
    assert filters.taints_tolerated(info(), gpu) == ("node(s) had untolerated taint {nvidia.com/gpu: present}",)
    assert filters.taints_tolerated(info(gpus=1), gpu) == ()  # admission's toleration
    no_exec = node(taints=[Taint(key="dedicated", value="db", effect="NoExecute")])
    assert filters.taints_tolerated(info(), no_exec) == ("node(s) had untolerated taint {dedicated: db}",)
    eq = Toleration(key="dedicated", operator="Equal", value="db", effect="NoExecute")
    assert filters.taints_tolerated(info(tolerations=[eq]), no_exec) == ()
    wrong = Toleration(key="dedicated", operator="Equal", value="web")
    assert filters.taints_tolerated(info(tolerations=[wrong]), no_exec) != ()
    everything = Toleration(operator="Exists")
    assert filters.taints_tolerated(info(tolerations=[everything]), no_exec) == ()
    prefer = node(taints=[Taint(key="spot", effect="PreferNoSchedule")])
    assert filters.taints_tolerated(info(), prefer) == ()  # only scores


def test_tolerates_effect_matching() -> None:
    taint = Taint(key="k", value="v", effect="NoSchedule")
    assert filters.tolerates(Toleration(key="k", operator="Exists"), taint)
    assert not filters.tolerates(Toleration(key="k", operator="Exists", effect="NoExecute"), taint)
    assert filters.tolerates(Toleration(key="k", value="v"), taint)  # operator "" means Equal


def test_host_ports() -> None:
    holder = make_pod("holder", node_name="node-0", host_port=8080)
    n = node(bound=[holder])
    assert filters.host_ports_free(info(host_port=8080), n) == (filters.PORTS_IN_USE,)
    assert filters.host_ports_free(info(host_port=9090), n) == ()
    assert filters.host_ports_free(info(), n) == ()


def test_first_failure_follows_kube_plugin_order() -> None:
    n = node(gpus=4, ready=True, labels={"a": "b"})
    pod = info(cpu="100", node_selector={"a": "c"})
    assert filters.first_failure(pod, n) == ("node(s) had untolerated taint {nvidia.com/gpu: present}",)
    assert filters.first_failure(pod_info(make_pod(cpu="100", gpus=1)), n) == ("Insufficient cpu",)
