"""DaemonSets following nodes, node leases expiring, evictions, pod GC, garbage collection
of other kinds: against the real in-process server."""

from __future__ import annotations

from typing import Any

from orchestrator.model.errors import NotFound
from orchestrator.model.nodes import Taint
from tests.controllers.conftest import Cluster, eventually
from tests.controllers.manifests import configmap, daemonset, replicaset, typed


async def pods_by_node(c: Cluster, app: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in (await c.api.list("Pod", namespace="default", label_selector=f"app={app}")).items:
        if p.metadata.deletion_timestamp is None:
            out.setdefault(p.spec.node_name, []).append(p.metadata.name)
    return out


async def test_a_daemonset_follows_nodes_joining_and_leaving(cluster: Cluster) -> None:
    k = cluster.kubelet
    await k.add_node("n1")
    await k.add_node("n2")
    await k.add_node("gpu", taints=[Taint(key="nvidia.com/gpu", value="present", effect="NoSchedule")])
    await cluster.api.create(daemonset("agent"))
    await eventually(lambda: _nodes_are(cluster, {"n1", "n2"}), what="a pod on n1 and n2 (not the tainted node)")
    await k.add_node("n3")
    await eventually(lambda: _nodes_are(cluster, {"n1", "n2", "n3"}), what="a pod on the new node")
    await k.remove_node("n2")
    await eventually(lambda: _nodes_are(cluster, {"n1", "n3"}), what="the pod of the node that left gone")
    ds = await eventually(lambda: _ds_counted(cluster), what="status counts")
    assert (ds.status.desired_number_scheduled, ds.status.current_number_scheduled) == (2, 2)


async def _nodes_are(c: Cluster, want: set[str]) -> bool:
    by_node = await pods_by_node(c, "agent")
    return set(by_node) == want and all(len(v) == 1 for v in by_node.values())


async def _ds_counted(c: Cluster) -> Any:
    ds = await c.api.get("DaemonSet", "agent", namespace="default")
    return ds if ds.status.number_ready == 2 and ds.status.desired_number_scheduled == 2 else None


async def test_a_node_whose_lease_expires_is_tainted_and_its_pods_move(cluster: Cluster) -> None:
    k = cluster.kubelet
    await k.add_node("a")
    await k.add_node("b")
    await cluster.api.create(replicaset("web", replicas=4))
    await eventually(lambda: _spread(cluster), what="pods on both nodes")
    on_a = set((await pods_by_node(cluster, "web"))["a"])
    k.dead.add("a")  # its agent stops: no more lease renewals
    node = await eventually(lambda: _unknown(cluster, "a"), timeout=10, what="Ready=Unknown and the taint")
    assert any(t.key == "node.kubernetes.io/unreachable" and t.effect == "NoExecute" for t in node.spec.taints)
    by_node = await eventually(lambda: _all_on(cluster, "b", 4), timeout=10, what="pods evicted and recreated on b")
    assert not on_a & set(by_node["b"])
    events = [(e.reason, e.involved_object.name) for e in (await cluster.api.list("Event", namespace="default")).items]
    assert {name for reason, name in events if reason == "TaintManagerEviction"} == on_a
    k.dead.discard("a")  # back again: lease renewed -> Ready, taint removed
    await eventually(lambda: _healthy(cluster, "a"), timeout=10, what="the node back to Ready without the taint")


async def _spread(c: Cluster) -> bool:
    by_node = await pods_by_node(c, "web")
    return sum(map(len, by_node.values())) == 4 and set(by_node) == {"a", "b"}


async def _unknown(c: Cluster, name: str) -> Any:
    node = await c.api.get("Node", name)
    ready = next(x for x in node.status.conditions if x.type == "Ready")
    tainted = any(t.key == "node.kubernetes.io/unreachable" for t in node.spec.taints)
    return node if ready.status == "Unknown" and ready.reason == "NodeStatusUnknown" and tainted else None


async def _all_on(c: Cluster, node: str, n: int) -> Any:
    pods = (await c.api.list("Pod", namespace="default", label_selector="app=web")).items
    live = [p for p in pods if p.metadata.deletion_timestamp is None]
    ok = len(pods) == n and all(p.spec.node_name == node and p.status.phase == "Running" for p in live)
    return await pods_by_node(c, "web") if ok else None


async def _healthy(c: Cluster, name: str) -> bool:
    node = await c.api.get("Node", name)
    ready = next(x for x in node.status.conditions if x.type == "Ready")
    return ready.status == "True" and not node.spec.taints


async def test_evictions_pause_when_most_nodes_fail_at_once(cluster: Cluster) -> None:
    k = cluster.kubelet
    for n in ("a", "b", "c"):
        await k.add_node(n)
    await cluster.api.create(replicaset("web", replicas=3))
    await eventually(lambda: _one_each(cluster), what="a pod per node")
    k.dead.update({"a", "b"})
    await eventually(lambda: _unknown(cluster, "a"), timeout=10, what="a unreachable")
    await eventually(lambda: _unknown(cluster, "b"), timeout=10, what="b unreachable")
    await eventually(lambda: _paused_event(cluster), timeout=10, what="an EvictionsPaused event")
    by_node = await pods_by_node(cluster, "web")
    assert set(by_node) == {"a", "b", "c"}  # nothing evicted


async def _one_each(c: Cluster) -> bool:
    by_node = await pods_by_node(c, "web")
    return set(by_node) == {"a", "b", "c"} and all(len(v) == 1 for v in by_node.values())


async def _paused_event(c: Cluster) -> bool:
    return any(e.reason == "EvictionsPaused" for e in (await c.api.list("Event", namespace="default")).items)


async def test_pods_bound_to_a_node_that_no_longer_exists_are_deleted(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    pod = typed({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "stray", "namespace": "default"},
                 "spec": {"nodeName": "ghost", "containers": [{"name": "c", "image": "busybox"}]}})
    await cluster.api.create(pod)
    await eventually(lambda: _pod_gone(cluster, "stray"), what="the pod on a missing node force-deleted")


async def test_dependents_of_any_kind_are_collected(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    owner = await cluster.api.create(replicaset("owner", replicas=1))
    await cluster.api.create(configmap("settings", owners=[owner]))
    await cluster.api.delete("ReplicaSet", "owner", namespace="default")
    await eventually(lambda: _cm_gone(cluster, "settings"), what="the configmap of a deleted owner collected")


async def _pod_gone(c: Cluster, name: str) -> bool:
    try:
        await c.api.get("Pod", name, namespace="default")
    except NotFound:
        return True
    return False


async def _cm_gone(c: Cluster, name: str) -> bool:
    try:
        await c.api.get("ConfigMap", name, namespace="default")
    except NotFound:
        return True
    return False
