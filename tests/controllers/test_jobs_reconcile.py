"""Jobs against the real in-process server: the fake kubelet makes job pods succeed."""

from __future__ import annotations

from typing import Any

from orchestrator.model.errors import NotFound
from tests.controllers.conftest import Cluster, PodWatch, eventually
from tests.controllers.kubelet import FAIL_LABEL
from tests.controllers.manifests import job


async def condition(c: Cluster, name: str) -> str:
    j = await c.api.get("Job", name, namespace="default")
    return next((f"{x.type}/{x.reason}" for x in j.status.conditions if x.status == "True"), "")


async def reasons(c: Cluster, name: str) -> list[str]:
    return [e.reason for e in (await c.api.list("Event", namespace="default")).items
            if e.involved_object.name == name]


async def test_completions_4_parallelism_2_completes_never_running_more_than_2(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    created = await cluster.api.create(job("pi", completions=4, parallelism=2))

    def check(pods: dict[str, Any]) -> None:
        running = [p for p in pods.values() if p.status.phase in ("Pending", "Running")
                   and p.metadata.deletion_timestamp is None]
        assert len(running) <= 2, f"{len(running)} job pods at once"

    async with PodWatch(cluster.api, check, label_selector=f"controller-uid={created.metadata.uid}"):
        assert await eventually(lambda: condition(cluster, "pi"), what="a finished job") == "Complete/"
    j = await cluster.api.get("Job", "pi", namespace="default")
    assert (j.status.succeeded, j.status.failed, j.status.active) == (4, 0, 0)
    assert j.status.completion_time and j.status.start_time
    pods = (await cluster.api.list("Pod", namespace="default", label_selector="job-name=pi")).items
    assert len(pods) == 4 and all(p.status.phase == "Succeeded" for p in pods)
    assert all(p.metadata.labels["controller-uid"] == j.metadata.uid for p in pods)
    assert "Completed" in await reasons(cluster, "pi")


async def test_an_indexed_job_runs_each_index_once(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    await cluster.api.create(job("shards", completions=3, parallelism=2, completionMode="Indexed"))
    assert await eventually(lambda: condition(cluster, "shards"), what="a finished job") == "Complete/"
    j = await cluster.api.get("Job", "shards", namespace="default")
    assert (j.status.succeeded, j.status.completed_indexes) == (3, "0-2")
    pods = (await cluster.api.list("Pod", namespace="default", label_selector="job-name=shards")).items
    index = "batch.kubernetes.io/job-completion-index"
    assert sorted(p.metadata.annotations[index] for p in pods) == ["0", "1", "2"]
    assert all(p.metadata.name.startswith(f"shards-{p.metadata.annotations[index]}-") for p in pods)


async def test_backoff_limit_fails_the_job(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    await cluster.api.create(job("bad", completions=1, parallelism=1, backoffLimit=2, labels={FAIL_LABEL: "true"}))
    assert await eventually(lambda: condition(cluster, "bad"), what="a failed job") == "Failed/BackoffLimitExceeded"
    j = await cluster.api.get("Job", "bad", namespace="default")
    assert j.status.failed == 3 and j.status.succeeded == 0
    assert "BackoffLimitExceeded" in await reasons(cluster, "bad")


async def test_a_finished_job_goes_away_after_its_ttl_with_its_pods(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    await cluster.api.create(job("short", completions=1, parallelism=1, ttlSecondsAfterFinished=1))
    await eventually(lambda: condition(cluster, "short"), what="a finished job")
    await eventually(lambda: _job_gone(cluster, "short"), timeout=10, what="the job deleted after its ttl")
    await eventually(lambda: _no_pods(cluster, "short"), what="its pods collected")


async def test_active_deadline_fails_a_job_that_runs_too_long(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    cluster.kubelet.job_seconds = 60
    await cluster.api.create(job("slow", completions=1, parallelism=1, activeDeadlineSeconds=1))
    assert await eventually(lambda: condition(cluster, "slow"), what="deadline") == "Failed/DeadlineExceeded"
    await eventually(lambda: _no_active(cluster, "slow"), what="its pod stopped")


async def _job_gone(c: Cluster, name: str) -> bool:
    try:
        await c.api.get("Job", name, namespace="default")
    except NotFound:
        return True
    return False


async def _no_pods(c: Cluster, name: str) -> bool:
    return not (await c.api.list("Pod", namespace="default", label_selector=f"job-name={name}")).items


async def _no_active(c: Cluster, name: str) -> bool:
    pods = (await c.api.list("Pod", namespace="default", label_selector=f"job-name={name}")).items
    return all(p.metadata.deletion_timestamp or p.status.phase in ("Succeeded", "Failed") for p in pods)
