"""`schedule(snapshot, pods) -> Plan`: placement, GPU devices, failure messages, no double-booking."""

from __future__ import annotations

from collections import Counter

from orchestrator.model.pods import Affinity, NodeAffinity, NodeSelectorRequirement, NodeSelectorTerm, \
    PreferredSchedulingTerm
from orchestrator.scheduler.pods import pod_info
from orchestrator.scheduler.planning import Planner, failure_message, nodes_to_find, schedule
from tests.scheduler.factories import gpu_uuid, info, make_node, make_pod, snapshot_of


def cluster():  # type: ignore[no-untyped-def]
    """The issue's scenario: 2 GPU nodes (4 GPUs each, tainted) and 2 CPU nodes."""
    return snapshot_of(make_node("gpu-0", gpus=4), make_node("gpu-1", gpus=4),
                       make_node("cpu-0", cpu="2"), make_node("cpu-1", cpu="2"))


def notebook(i: int):  # type: ignore[no-untyped-def]
    return info(name=f"notebook-{i}", cpu="500m", memory="1Gi", gpus=1, owner="notebooks")


def web(i: int, cpu: str = "250m"):  # type: ignore[no-untyped-def]
    return info(name=f"web-{i}", cpu=cpu, memory="128Mi", owner="web")


def test_gpu_scenario() -> None:
    snap = cluster()
    plan = schedule(snap, [notebook(i) for i in range(8)] + [web(i) for i in range(6)])
    assert not plan.failures
    by_pod = {a.pod.name: a for a in plan.assignments}
    notebooks = [by_pod[f"notebook-{i}"] for i in range(8)]
    assert {a.node for a in notebooks} == {"gpu-0", "gpu-1"}
    devices = [d for a in notebooks for d in a.devices]
    assert len(devices) == 8 and len(set(devices)) == 8
    assert all(d.startswith(f"GPU-{a.node}-") for a in notebooks for d in a.devices)
    assert {by_pod[f"web-{i}"].node for i in range(6)} <= {"cpu-0", "cpu-1"}

    ninth = schedule(snap, [notebook(8)])
    assert not ninth.assignments
    assert ninth.failures[0].message == "0/4 nodes are available: 4 Insufficient nvidia.com/gpu."


def test_failure_message_lists_every_reason_like_kubernetes() -> None:
    snap = cluster()
    plan = schedule(snap, [web(0, cpu="3")])
    assert plan.failures[0].message == (
        "0/4 nodes are available: 2 Insufficient cpu, 2 node(s) had untolerated taint {nvidia.com/gpu: present}.")
    assert plan.failures[0].reasons == {"Insufficient cpu": 2,
                                        "node(s) had untolerated taint {nvidia.com/gpu: present}": 2}


def test_failure_message_formats() -> None:
    assert failure_message(0, {}) == "no nodes available to schedule pods"
    assert failure_message(12, {"node(s) were unschedulable": 2, "Insufficient cpu": 10}) == \
        "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) were unschedulable."
    assert schedule(snapshot_of(), [web(0)]).failures[0].message == "no nodes available to schedule pods"


def test_devices_are_the_lowest_free_indexes() -> None:
    holders = [make_pod("a", gpus=1, node_name="gpu-0", devices=[gpu_uuid("gpu-0", 0)]),
               make_pod("b", gpus=1, node_name="gpu-0", devices=[gpu_uuid("gpu-0", 2)])]
    snap = snapshot_of(make_node("gpu-0", gpus=4), pods=tuple(holders))
    plan = schedule(snap, [info(name="two", gpus=2)])
    assert plan.assignments[0].devices == (gpu_uuid("gpu-0", 1), gpu_uuid("gpu-0", 3))
    snap.delete_pod(holders[0])
    plan = schedule(snap, [info(name="one", gpus=1)])
    assert plan.assignments[0].devices == (gpu_uuid("gpu-0", 0),)


def test_one_batch_never_double_books_devices() -> None:
    snap = snapshot_of(make_node("gpu-0", gpus=4))
    plan = schedule(snap, [info(name=f"nb-{i}", gpus=1) for i in range(10)])
    assert len(plan.assignments) == 4 and len(plan.failures) == 6
    assert len({d for a in plan.assignments for d in a.devices}) == 4
    assert all(f.message == "0/1 nodes are available: 1 Insufficient nvidia.com/gpu." for f in plan.failures)


def test_gpu_pods_pack_and_replicas_spread() -> None:
    snap = snapshot_of(*(make_node(f"gpu-{i}", gpus=4) for i in range(3)))
    plan = schedule(snap, [info(name=f"nb-{i}", gpus=1) for i in range(4)])
    assert len({a.node for a in plan.assignments}) == 1  # packed onto one node
    snap = snapshot_of(*(make_node(f"n-{i}") for i in range(4)))
    plan = schedule(snap, [info(name=f"web-{i}", cpu="100m", owner="web") for i in range(4)])
    assert len({a.node for a in plan.assignments}) == 4  # spread over all four


def test_preferred_affinity_steers() -> None:
    pref = Affinity(node_affinity=NodeAffinity(preferred_during_scheduling_ignored_during_execution=[
        PreferredSchedulingTerm(weight=100, preference=NodeSelectorTerm(match_expressions=[
            NodeSelectorRequirement(key="zone", operator="In", values=["b"])]))]))
    snap = snapshot_of(make_node("a", labels={"zone": "a"}), make_node("b", labels={"zone": "b"}))
    assert schedule(snap, [info(affinity=pref)]).assignments[0].node == "b"


def test_node_changes_invalidate_the_cached_candidates() -> None:
    snap = snapshot_of(make_node("n-0", cpu="1"))
    planner = Planner()
    assert planner.schedule(snap, [info(name="p-0", cpu="2")]).failures
    snap.set_node(make_node("n-1", cpu="4"))
    assert planner.schedule(snap, [info(name="p-1", cpu="2")]).assignments[0].node == "n-1"


def test_invalid_requests_fail_with_the_reason() -> None:
    pod = make_pod(cpu="1")
    pod.spec.containers[0].resources.requests["cpu"] = "lots"  # type: ignore[union-attr]
    plan = schedule(snapshot_of(make_node()), [pod_info(pod)])
    assert plan.failures[0].message.startswith("invalid resource request")


def test_nodes_to_find_is_kube_schedulers() -> None:
    assert nodes_to_find(50) == 50
    assert nodes_to_find(100) == 100
    assert nodes_to_find(1000) == 420
    assert nodes_to_find(5000) == 500
    assert nodes_to_find(200, 10) == 100
    assert nodes_to_find(1000, 100) == 1000


def test_a_thousand_nodes_fill_without_overcommit() -> None:
    snap = snapshot_of(*(make_node(f"n-{i}", cpu="2", memory="4Gi", pods="20", gpus=2 if i % 2 else 0)
                         for i in range(1000)))
    pods = [info(name=f"p-{i}", cpu="500m", memory="512Mi", owner=f"rs-{i % 7}") for i in range(3000)]
    pods += [info(name=f"g-{i}", cpu="100m", gpus=1) for i in range(1200)]
    plan = schedule(snap, pods)
    assert len(plan.assignments) == 2000 + 1000  # 500 CPU nodes x 4 pods, 500 GPU nodes x 2 devices
    messages = Counter(f.message for f in plan.failures)
    assert messages == {"0/1000 nodes are available: 500 Insufficient cpu, "
                        "500 node(s) had untolerated taint {nvidia.com/gpu: present}.": 1000,
                        "0/1000 nodes are available: 1000 Insufficient nvidia.com/gpu.": 200}
    per_node = Counter(a.node for a in plan.assignments)
    for name, node in snap.nodes.items():
        assert node.cpu <= node.alloc_cpu and node.memory <= node.alloc_memory
        assert node.pod_count == per_node[name]
    devices = [(a.node, d) for a in plan.assignments for d in a.devices]
    assert len(devices) == len(set(devices)) == 1000


def test_pods_of_one_shape_share_static_work_but_not_fit() -> None:
    big, small = info(name="big", cpu="3"), info(name="small", cpu="1")
    assert big.signature == small.signature and big.fit_key != small.fit_key
    plan = schedule(snapshot_of(make_node("n", cpu="2")), [big, small])
    assert [f.pod.name for f in plan.failures] == ["big"]
    assert [a.pod.name for a in plan.assignments] == ["small"]


def test_gpu_pods_skip_nodes_without_gpus_statically() -> None:
    snap = snapshot_of(make_node("cpu-0"), make_node("gpu-0", gpus=2))
    planner = Planner()
    planner.schedule(snap, [info(name="nb", gpus=1)])
    (group,) = planner._groups.values()
    assert [n.name for n, _ in group.candidates] == ["gpu-0"]
    assert group.reasons == {"Insufficient nvidia.com/gpu": 1}


def test_cached_static_work_plus_dynamic_checks_equal_the_full_filter_chain() -> None:
    import random

    from orchestrator.model.nodes import Taint
    from orchestrator.model.pods import Toleration
    from orchestrator.scheduler import filters

    rng = random.Random(3)
    nodes = []
    for i in range(60):
        taints = [Taint(key="dedicated", value="db", effect="NoSchedule")] if rng.random() < 0.2 else []
        nodes.append(make_node(f"n-{i}", cpu=rng.choice(["1", "2", "4"]), gpus=rng.choice([0, 0, 2]),
                               labels={"zone": rng.choice("ab")}, taints=taints, ready=rng.random() > 0.1,
                               unschedulable=rng.random() < 0.1))
    bound = [make_pod(f"b-{i}", cpu="500m", node_name=f"n-{rng.randrange(60)}", host_port=rng.choice([0, 80]))
             for i in range(40)]
    snap = snapshot_of(*nodes, pods=tuple(bound))
    planner = Planner()
    for j in range(200):
        tol = [Toleration(key="dedicated", operator="Exists")] if rng.random() < 0.3 else None
        pod = info(name=f"p-{j}", cpu=rng.choice(["", "500m", "3"]), gpus=rng.choice([0, 1]),
                   node_selector=rng.choice([None, {"zone": "a"}]), tolerations=tol, host_port=rng.choice([0, 80]))
        group = planner._group(snap, pod)
        fast = {n.name for n, _ in group.candidates
                if not filters.resources_fit(pod, n) and not filters.host_ports_free(pod, n)}
        full = {n.name for n in snap.schedulable_nodes() if not filters.first_failure(pod, n)}
        assert fast == full
        reasons = planner._reasons(group, pod)
        if not full:
            assert sum(reasons.values()) >= len(snap.schedulable_nodes())
