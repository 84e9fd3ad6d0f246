"""PodDisruptionBudgets: the status the disruption controller keeps (pure), and evictions
over real HTTP against a real in-process server with its controllers."""

from __future__ import annotations

import asyncio
from typing import Any

from orchestrator.controllers.disruption import budget_status
from orchestrator.model.policy import PodDisruptionBudget
from orchestrator.model.templates import LabelSelector
from tests.controllers.conftest import Cluster, eventually
from tests.controllers.factories import NOW, make_pod, make_rs
from tests.controllers.manifests import deployment, typed


def pdb(**spec: Any) -> PodDisruptionBudget:
    b = PodDisruptionBudget(api_version="policy/v1", kind="PodDisruptionBudget")
    b.metadata.name, b.metadata.namespace, b.metadata.generation = "web", "default", 1
    b.spec.selector = LabelSelector(match_labels={"app": "web"})
    for k, v in spec.items():
        setattr(b.spec, k, v)
    return b


def test_budget_arithmetic() -> None:
    rs = make_rs(replicas=4)
    pods = [make_pod(f"p{i}", owner=rs) for i in range(3)] + [make_pod("sick", owner=rs, ready=False)]
    scale = lambda p: 4  # noqa: E731 - the ReplicaSet wants 4
    st = budget_status(pdb(min_available=2), pods, scale=scale, now=NOW)
    assert (st.expected_pods, st.desired_healthy, st.current_healthy, st.disruptions_allowed) == (4, 2, 3, 1)
    assert st.conditions[0].type == "DisruptionAllowed" and st.conditions[0].status == "True"
    st = budget_status(pdb(max_unavailable="50%"), pods[:2], scale=scale, now=NOW)  # 2 pods gone: still 4 expected
    assert (st.expected_pods, st.desired_healthy, st.disruptions_allowed) == (4, 2, 0)
    assert st.conditions[0].reason == "InsufficientPods"
    st = budget_status(pdb(min_available="60%"), pods, scale=lambda p: None, now=NOW)  # no scale known: pod count
    assert (st.expected_pods, st.desired_healthy) == (4, 3)
    spent = pdb(min_available=1)
    spent.status.disrupted_pods = {"p0": "2023-11-14T22:13:19Z"}  # an eviction in flight: not healthy
    assert budget_status(spent, pods, scale=scale, now=NOW).current_healthy == 2


async def _evict(c: Cluster, name: str) -> tuple[int, dict[str, Any]]:
    async with c.client.session.post(f"{c.url}/api/v1/namespaces/default/pods/{name}/eviction",
                                     json={"apiVersion": "policy/v1", "kind": "Eviction",
                                           "metadata": {"name": name}},
                                     headers={"Authorization": f"Bearer {c.token}"}) as resp:
        return resp.status, await resp.json()


async def test_evictions_spend_the_budget_and_wait_for_replacements(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    await cluster.api.create(deployment("web", replicas=3))
    await cluster.api.create(typed({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                    "metadata": {"name": "web", "namespace": "default"},
                                    "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "web"}}}}))

    async def allowed(n: int) -> Any:
        b = await cluster.api.get("PodDisruptionBudget", "web", namespace="default")
        return b if b.status.disruptions_allowed == n and b.status.current_healthy == 3 else None

    await eventually(lambda: allowed(1), what="1 disruption allowed")
    pods = [p.metadata.name for p in (await cluster.api.list("Pod", namespace="default")).items]
    # two at once: exactly one may go (the budget's status is spent atomically)
    results = await asyncio.gather(_evict(cluster, pods[0]), _evict(cluster, pods[1]))
    assert sorted(status for status, _ in results) == [201, 429], results
    refused = next(body for status, body in results if status == 429)
    assert "violate the pod's disruption budget" in refused["message"]
    assert refused["details"]["causes"][0]["reason"] == "DisruptionBudget"
    await eventually(lambda: allowed(1), what="the replacement Ready and the budget back")
    live = [p.metadata.name for p in (await cluster.api.list("Pod", namespace="default")).items
            if p.metadata.deletion_timestamp is None]
    status, _ = await _evict(cluster, live[0])
    assert status == 201
    status, body = await _evict(cluster, "no-such-pod")
    assert status == 404


async def test_two_budgets_on_one_pod_and_bad_budgets_are_refused(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    await cluster.api.create(deployment("web", replicas=1))
    for name in ("a", "b"):
        await cluster.api.create(typed({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                        "metadata": {"name": name, "namespace": "default"},
                                        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "web"}}}}))

    async def running() -> Any:
        pods = (await cluster.api.list("Pod", namespace="default")).items
        return pods[0].metadata.name if pods and pods[0].status.phase == "Running" else None

    name = await eventually(running, what="a running pod")
    status, body = await _evict(cluster, name)
    assert status == 409 and "more than one PodDisruptionBudget (a, b)" in body["message"], body
    async with cluster.client.session.post(
            f"{cluster.url}/apis/policy/v1/namespaces/default/poddisruptionbudgets",
            json={"metadata": {"name": "both"}, "spec": {"minAvailable": 1, "maxUnavailable": "150%"}},
            headers={"Authorization": f"Bearer {cluster.token}"}) as resp:
        body = await resp.json()
    assert resp.status == 422 and "cannot be both set" in body["message"] and "150%" in body["message"], body
