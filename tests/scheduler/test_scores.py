"""Each score on its own, and the planner's inlined hot path against the declared weights."""

from __future__ import annotations

import random

import pytest

from orchestrator.model.nodes import Taint
from orchestrator.model.pods import (Affinity, NodeAffinity, NodeSelectorRequirement, NodeSelectorTerm,
                                     PreferredSchedulingTerm, Toleration)
from orchestrator.scheduler import scores
from tests.scheduler.factories import info, make_node, make_pod, snapshot_of


def node(name: str = "node-0", bound: tuple = (), **kwargs):  # type: ignore[no-untyped-def, type-arg]
    n = make_node(name, **kwargs)
    return snapshot_of(n, pods=bound).nodes[name]


def test_least_allocated_prefers_the_emptier_node() -> None:
    pod = info(cpu="1", memory="1Gi")
    empty = node(cpu="4", memory="16Gi")
    busy = node(cpu="4", memory="16Gi", bound=(make_pod("b", cpu="2", memory="8Gi", node_name="node-0"),))
    assert scores.least_allocated(pod, empty) == pytest.approx(50 * (3 / 4) + 50 * (15 / 16))
    assert scores.least_allocated(pod, empty) > scores.least_allocated(pod, busy)


def test_gpu_pods_pack_onto_partly_used_gpu_nodes() -> None:
    holder = make_pod("nb-0", gpus=1, node_name="node-0", devices=["GPU-node-0-00"])
    used = node(gpus=4, bound=(holder,))
    idle = node(gpus=4)
    gpu_pod = info(gpus=1)
    assert scores.gpu_packing(gpu_pod, used) == 25.0
    assert scores.gpu_packing(gpu_pod, idle) == 0.0
    assert scores.score(gpu_pod, used) > scores.score(gpu_pod, idle)


def test_pods_without_gpus_prefer_nodes_without_gpus() -> None:
    plain = info(cpu="100m")
    assert scores.gpu_packing(plain, node(gpus=0)) == 100.0
    assert scores.gpu_packing(plain, node(gpus=4, gpu_taint=False)) == 0.0
    assert scores.score(plain, node(gpus=0)) > scores.score(plain, node(gpus=4, gpu_taint=False))


def test_spread_prefers_nodes_with_fewer_replicas_of_the_owner() -> None:
    two = node(bound=tuple(make_pod(f"web-{i}", owner="web", node_name="node-0") for i in range(2)))
    none = node()
    pod = info(owner="web")
    assert scores.spread(pod, none) == 100.0
    assert scores.spread(pod, two) == pytest.approx(100 / 3)
    assert scores.spread(info(owner="other"), two) == 100.0


def test_preferred_affinity_weights() -> None:
    def term(key: str, value: str) -> NodeSelectorTerm:
        return NodeSelectorTerm(match_expressions=[NodeSelectorRequirement(key=key, operator="In", values=[value])])

    aff = Affinity(node_affinity=NodeAffinity(preferred_during_scheduling_ignored_during_execution=[
        PreferredSchedulingTerm(weight=80, preference=term("zone", "a")),
        PreferredSchedulingTerm(weight=20, preference=term("disk", "ssd"))]))
    pod = info(affinity=aff)
    assert scores.preferred_affinity(pod, node(labels={"zone": "a", "disk": "ssd"})) == 100.0
    assert scores.preferred_affinity(pod, node(labels={"zone": "a"})) == 80.0
    assert scores.preferred_affinity(pod, node(labels={"disk": "ssd"})) == 20.0
    assert scores.preferred_affinity(pod, node()) == 0.0
    assert scores.preferred_affinity(info(), node()) == 0.0


def test_prefer_no_schedule_taints() -> None:
    spot = node(taints=[Taint(key="spot", effect="PreferNoSchedule")])
    assert scores.prefer_no_schedule(info(), spot) == 50.0
    assert scores.prefer_no_schedule(info(), node()) == 100.0
    tol = Toleration(key="spot", operator="Exists")
    assert scores.prefer_no_schedule(info(tolerations=[tol]), spot) == 100.0


def test_inlined_dynamic_score_equals_the_declared_sum() -> None:
    rng = random.Random(7)
    for i in range(200):
        gpus = rng.choice([0, 0, 4, 8])
        bound = tuple(make_pod(f"b-{j}", cpu=f"{rng.randint(1, 900)}m", memory=f"{rng.randint(1, 900)}Mi",
                               owner=rng.choice(["", "a", "b"]), node_name=f"n-{i}",
                               gpus=1 if gpus and j < gpus else 0,
                               devices=[f"GPU-n-{i}-{j:02d}"] if gpus and j < gpus else None)
                      for j in range(rng.randint(0, 6)))
        n = node(f"n-{i}", bound=bound, cpu=rng.choice(["4", "16", "0"]), memory="16Gi", gpus=gpus)
        pod = info(cpu=f"{rng.randint(0, 2000)}m", memory=f"{rng.randint(0, 2000)}Mi",
                   gpus=rng.choice([0, 1]), owner=rng.choice(["", "a", "b"]))
        declared = sum(w * f(pod, n) for w, f in scores.DYNAMIC)
        assert scores.dynamic_score(pod, n) == pytest.approx(declared)
