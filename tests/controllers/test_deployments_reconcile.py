"""Deployments and ReplicaSets against the real in-process server and store."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from orchestrator.cli import rollout
from orchestrator.cli.common import CliError
from orchestrator.controllers.pods import is_ready
from orchestrator.model.errors import NotFound
from tests.controllers.conftest import Cluster, PodWatch, eventually
from tests.controllers.manifests import deployment, replicaset


async def pods_of(c: Cluster, app: str) -> list[Any]:
    return (await c.api.list("Pod", namespace="default", label_selector=f"app={app}")).items


async def rolled_out(c: Cluster, name: str = "web") -> bool:
    d = await c.api.get("Deployment", name, namespace="default")
    message, done = rollout.status_message(d)
    return done


def available(pods: dict[str, Any]) -> int:
    return sum(1 for p in pods.values() if p.metadata.deletion_timestamp is None and is_ready(p))


def active(pods: dict[str, Any]) -> int:
    return sum(1 for p in pods.values() if p.metadata.deletion_timestamp is None)


async def test_a_replicaset_keeps_its_pods(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    await cluster.api.create(replicaset("rs", replicas=3))
    await eventually(lambda: _ready_count(cluster, "rs", 3), what="3 ready pods")
    victim = (await pods_of(cluster, "rs"))[0]
    await cluster.api.delete("Pod", victim.metadata.name, namespace="default", grace_period_seconds=0)
    await eventually(lambda: _ready_count(cluster, "rs", 3), what="a replacement")
    rs = await cluster.api.get("ReplicaSet", "rs", namespace="default")
    assert (rs.status.replicas, rs.status.ready_replicas, rs.status.available_replicas) == (3, 3, 3)
    assert all(p.metadata.owner_references[0].uid == rs.metadata.uid for p in await pods_of(cluster, "rs"))


async def _ready_count(c: Cluster, app: str, n: int) -> bool:
    pods = [p for p in await pods_of(c, app) if p.metadata.deletion_timestamp is None]
    return len(pods) == n and all(is_ready(p) for p in pods)


async def test_a_deployment_rolls_out_an_image_change_without_dropping_below_min_available(cluster: Cluster) -> None:
    for i in range(3):
        await cluster.kubelet.add_node(f"n{i}")
    await cluster.api.create(deployment("web", replicas=5))  # 25%/25%: surge 2, unavailable 1
    await eventually(lambda: rolled_out(cluster), what="5 available")
    d = await cluster.api.get("Deployment", "web", namespace="default")
    assert (d.status.available_replicas, d.status.updated_replicas, d.status.replicas) == (5, 5, 5)
    assert {c.type: c.reason for c in d.status.conditions} == {"Available": "MinimumReplicasAvailable",
                                                              "Progressing": "NewReplicaSetAvailable"}
    seen: list[tuple[int, int]] = []

    def check(pods: dict[str, Any]) -> None:
        seen.append((available(pods), active(pods)))
        assert available(pods) >= 4, f"only {available(pods)} available"
        assert active(pods) <= 7, f"{active(pods)} pods at once"

    async with PodWatch(cluster.api, check, label_selector="app=web") as watch:
        await cluster.api.patch("Deployment", "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "main", "image": "nginx:1.26", "command": ["sleep", "3600"]}]}}}}, namespace="default")
        await eventually(lambda: rolled_out(cluster), what="the rollout")
    assert watch.events > 10 and min(a for a, _ in seen) >= 4
    images = {p.spec.containers[0].image for p in await pods_of(cluster, "web") if p.metadata.deletion_timestamp is None}
    assert images == {"nginx:1.26"}
    rss = (await cluster.api.list("ReplicaSet", namespace="default")).items
    by_rev = {r.metadata.annotations["deployment.kubernetes.io/revision"]: r.spec.replicas for r in rss}
    assert by_rev == {"1": 0, "2": 5}
    d = await cluster.api.get("Deployment", "web", namespace="default")
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "2"


async def test_rollout_undo_restores_the_previous_template(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    await cluster.api.create(deployment("web", replicas=2, image="app:v1"))
    await eventually(lambda: rolled_out(cluster), what="v1")
    await cluster.api.patch("Deployment", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "app:v2"}]}}}}, namespace="default")
    await eventually(lambda: rolled_out(cluster), what="v2")
    args = argparse.Namespace(to_revision=0)
    assert await rollout.undo(cluster.client, "default", "web", args) == 0
    await eventually(lambda: rolled_out(cluster), what="the rollback")
    d = await cluster.api.get("Deployment", "web", namespace="default")
    assert d.spec.template.spec.containers[0].image == "app:v1"
    assert d.metadata.annotations["deployment.kubernetes.io/revision"] == "3"
    assert len((await cluster.api.list("ReplicaSet", namespace="default")).items) == 2  # v1's was reused
    images = {p.spec.containers[0].image for p in await pods_of(cluster, "web") if p.metadata.deletion_timestamp is None}
    assert images == {"app:v1"}
    assert await rollout.undo(cluster.client, "default", "web", argparse.Namespace(to_revision=2)) == 0
    await eventually(lambda: rolled_out(cluster), what="back to v2")


async def test_scale_to_zero_and_back(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    await cluster.api.create(deployment("web", replicas=3))
    await eventually(lambda: rolled_out(cluster), what="3 replicas")
    await cluster.client.scale("deployments", "web", 0, namespace="default")
    await eventually(lambda: _gone(cluster, "web"), what="no pods")
    await eventually(lambda: rolled_out(cluster), what="0 replicas")
    await cluster.client.scale("deployments", "web", 4, namespace="default")
    await eventually(lambda: _ready_count(cluster, "web", 4), what="4 pods again")
    await eventually(lambda: rolled_out(cluster), what="4 replicas")
    assert len((await cluster.api.list("ReplicaSet", namespace="default")).items) == 1


async def _gone(c: Cluster, app: str) -> bool:
    return not await pods_of(c, app)


async def test_deleting_a_deployment_with_each_propagation_policy(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    for name in ("bg", "fg", "orphan"):
        await cluster.api.create(deployment(name, replicas=2))
    for name in ("bg", "fg", "orphan"):
        await eventually(lambda name=name: rolled_out(cluster, name), what=f"{name} rolled out")

    await cluster.api.delete("Deployment", "bg", namespace="default", propagation_policy="Background")
    await eventually(lambda: _gone(cluster, "bg"), what="background: pods gone")
    assert not [r for r in (await cluster.api.list("ReplicaSet", namespace="default")).items
                if r.metadata.name.startswith("bg-")]

    await cluster.api.delete("Deployment", "fg", namespace="default", propagation_policy="Foreground")
    d = await cluster.api.get("Deployment", "fg", namespace="default")
    assert d.metadata.deletion_timestamp and "foregroundDeletion" in d.metadata.finalizers  # kept until...
    await eventually(lambda: _deployment_gone(cluster, "fg"), what="foreground: the deployment goes last")
    assert await _gone(cluster, "fg")

    pods_before = {p.metadata.name for p in await pods_of(cluster, "orphan")}
    await cluster.api.delete("Deployment", "orphan", namespace="default", propagation_policy="Orphan")
    await eventually(lambda: _deployment_gone(cluster, "orphan"), what="orphan: the deployment goes")
    rs = [r for r in (await cluster.api.list("ReplicaSet", namespace="default")).items
          if r.metadata.name.startswith("orphan-")]
    assert len(rs) == 1 and rs[0].metadata.owner_references == []
    assert {p.metadata.name for p in await pods_of(cluster, "orphan")} == pods_before  # still there


async def _deployment_gone(c: Cluster, name: str) -> bool:
    try:
        await c.api.get("Deployment", name, namespace="default")
    except NotFound:
        return True
    return False


async def test_rollout_status_follows_until_done(cluster: Cluster, capsys: Any) -> None:
    await cluster.kubelet.add_node("n1")
    await cluster.api.create(deployment("web", replicas=3))
    args = argparse.Namespace(watch="true", timeout=20.0)
    assert await rollout.status(cluster.client, "default", "web", args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == 'deployment "web" successfully rolled out'
    assert all(line.startswith(("Waiting for deployment", "deployment")) for line in lines)


async def test_rollout_status_fails_once_the_progress_deadline_passes(cluster: Cluster) -> None:
    # no nodes: the pods never run
    await cluster.api.create(deployment("stuck", replicas=2, progressDeadlineSeconds=1))
    with pytest.raises(CliError, match='deployment "stuck" exceeded its progress deadline'):
        await rollout.status(cluster.client, "default", "stuck", argparse.Namespace(watch="true", timeout=20.0))
    d = await cluster.api.get("Deployment", "stuck", namespace="default")
    progressing = next(c for c in d.status.conditions if c.type == "Progressing")
    assert (progressing.status, progressing.reason) == ("False", "ProgressDeadlineExceeded")


async def test_restart_pause_and_resume(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    await cluster.api.create(deployment("web", replicas=2))
    await eventually(lambda: rolled_out(cluster), what="2 replicas")
    before = {p.metadata.name for p in await pods_of(cluster, "web")}
    none = argparse.Namespace()
    assert await rollout.restart(cluster.client, "default", "web", none) == 0
    await eventually(lambda: _replaced(cluster, before), what="every pod replaced")
    await eventually(lambda: rolled_out(cluster), what="the restart rolled out")
    assert await rollout.set_paused(cluster.client, "default", "web", True) == 0
    await cluster.api.patch("Deployment", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "image": "paused:2"}]}}}}, namespace="default")
    await eventually(lambda: _observed(cluster, "web"), what="the paused change observed")
    assert len((await cluster.api.list("ReplicaSet", namespace="default")).items) == 2  # nothing new while paused
    assert await rollout.set_paused(cluster.client, "default", "web", False) == 0
    await eventually(lambda: rolled_out(cluster), what="the resumed rollout")
    assert {p.spec.containers[0].image for p in await pods_of(cluster, "web")
            if p.metadata.deletion_timestamp is None} == {"paused:2"}


async def _replaced(c: Cluster, before: set[str]) -> bool:
    now = {p.metadata.name for p in await pods_of(c, "web") if p.metadata.deletion_timestamp is None}
    return len(now) == 2 and not now & before


async def _observed(c: Cluster, name: str) -> bool:
    d = await c.api.get("Deployment", name, namespace="default")
    return d.status.observed_generation == d.metadata.generation


async def test_scaling_a_stuck_rollout_grows_old_and_new_in_proportion(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    await cluster.api.create(deployment("web", replicas=4))  # 25%/25%: surge 1, unavailable 1
    await eventually(lambda: rolled_out(cluster), what="4 available")
    # the new template fits no node: its pods stay Pending and the rollout stalls part way
    await cluster.api.patch("Deployment", "web", {"spec": {"template": {"spec": {"nodeSelector": {"zone": "none"}}}}},
                            namespace="default")

    async def sizes(total: int) -> dict[str, int] | None:
        rss = (await cluster.api.list("ReplicaSet", namespace="default")).items
        out = {r.metadata.annotations["deployment.kubernetes.io/revision"]: r.spec.replicas or 0 for r in rss}
        return out if len(out) == 2 and sum(out.values()) == total else None

    stalled = await eventually(lambda: sizes(5), what="the rollout to stall at 4 + surge 1")
    assert stalled["1"] >= 3 and stalled["2"] >= 1, stalled
    await cluster.api.patch("Deployment", "web", {"spec": {"replicas": 12}}, namespace="default")

    grown = await eventually(lambda: sizes(15), what="both ReplicaSets to grow to 12 + surge 3")
    # each grew by about its share: neither template got all of the 10 new replicas
    assert grown["1"] > stalled["1"] and grown["2"] > stalled["2"], (stalled, grown)
