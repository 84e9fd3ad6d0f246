"""PodSync against the real in-process server, on the ``sim`` runtime (no processes)."""

from __future__ import annotations

from pathlib import Path

from orchestrator.runtime.sim import SimRuntime
from tests.agent.podsync_support import (
    condition,
    create_pod,
    eventually,
    events_for,
    get_pod,
    join,
    phase,
    pod_manifest,
    pod_where,
    podsync,
    state_of,
)
from tests.server.conftest import Api, api  # noqa: F401 - the fixture

NODE = "node-a"


async def test_pending_to_running_with_status(api: Api, tmp_path: Path) -> None:
    token = await join(api, NODE)
    runtime = SimRuntime()
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path):
        await create_pod(api, pod_manifest("web", node=NODE, command=["sleep", "3600"]))
        pod = await pod_where(api, "web", lambda p: phase(p) == "Running" and condition(p, "Ready") == "True",
                              what="Running and Ready")
        st = pod["status"]
        cs = state_of(pod)
        assert cs["ready"] is True and cs["started"] is True and cs.get("restartCount", 0) == 0
        assert "running" in cs["state"] and cs["containerID"].startswith("sim://")
        assert cs["imageID"] == "sim:orch-test/busybox:latest"
        assert st["hostIP"] == "127.0.0.1" and st["podIP"].startswith("10.88.") and st["startTime"]
        assert {c["type"] for c in st["conditions"]} == {"PodScheduled", "Initialized", "ContainersReady", "Ready"}
        reasons = [e["reason"] for e in await eventually(lambda: _events_with(api, "web", "Started"))]
        assert {"Pulled", "Created", "Started"} <= set(reasons)
    await runtime.close()


async def _events_with(api: Api, name: str, reason: str) -> list[dict[str, object]] | None:
    events = await events_for(api, name)
    return events if any(e["reason"] == reason for e in events) else None


async def test_job_pod_succeeds_and_failed_one_fails(api: Api, tmp_path: Path) -> None:
    token = await join(api, NODE)
    runtime = SimRuntime()
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path):
        await create_pod(api, pod_manifest("ok", node=NODE, command=["true"], restart="Never",
                                           labels={"orch.io/sim-run-seconds": "0.2"}))
        await create_pod(api, pod_manifest("bad", node=NODE, command=["false"], restart="Never",
                                           labels={"orch.io/sim-run-seconds": "0.2", "orch.io/sim-exit-code": "3"}))
        ok = await pod_where(api, "ok", lambda p: phase(p) == "Succeeded", what="Succeeded")
        term = state_of(ok)["state"]["terminated"]
        assert term.get("exitCode", 0) == 0 and term["reason"] == "Completed"
        assert condition(ok, "Ready") == "False"
        bad = await pod_where(api, "bad", lambda p: phase(p) == "Failed", what="Failed")
        term = state_of(bad)["state"]["terminated"]
        assert term["exitCode"] == 3 and term["reason"] == "Error" and state_of(bad).get("restartCount", 0) == 0
    await runtime.close()


async def test_graceful_deletion_removes_containers_then_the_pod(api: Api, tmp_path: Path) -> None:
    token = await join(api, NODE)
    runtime = SimRuntime()
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path):
        created = await create_pod(api, pod_manifest("gone", node=NODE, command=["sleep", "3600"]))
        await pod_where(api, "gone", lambda p: phase(p) == "Running", what="Running")
        status, body = await api.call("DELETE", "/api/v1/namespaces/default/pods/gone")
        assert status == 202 and body["metadata"]["deletionTimestamp"], body  # marked, not gone
        await eventually(lambda: _absent(api, "gone"), what="the pod object to go")
        assert await runtime.list(pod_uid=created["metadata"]["uid"]) == []
        killing = await eventually(lambda: _events_with(api, "gone", "Killing"), what="a Killing event")
        assert any("Stopping container main" in e["message"] for e in killing)
    await runtime.close()


async def _absent(api: Api, name: str) -> bool:
    return await get_pod(api, name) is None


async def test_adoption_after_restart_and_strays_removed(api: Api, tmp_path: Path) -> None:
    token = await join(api, NODE)
    runtime = SimRuntime()
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path):
        await create_pod(api, pod_manifest("keep", node=NODE, command=["sleep", "3600"]))
        running = await pod_where(api, "keep", lambda p: condition(p, "Ready") == "True", what="Ready")
        doomed = await create_pod(api, pod_manifest("doomed", node=NODE, command=["sleep", "3600"]))
        await pod_where(api, "doomed", lambda p: phase(p) == "Running", what="Running")
    before = {i.id for i in await runtime.list()}
    # while no agent runs: one pod is force-deleted
    status, _ = await api.call("DELETE", "/api/v1/namespaces/default/pods/doomed?gracePeriodSeconds=0")
    assert status == 200
    rv = running["metadata"]["resourceVersion"]
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path):
        await eventually(lambda: _no_containers(runtime, doomed["metadata"]["uid"]), what="the stray removed")
        pod = await get_pod(api, "keep")
        assert pod is not None
        infos = await runtime.list(pod_uid=pod["metadata"]["uid"])
        assert len(infos) == 1 and infos[0].id in before and infos[0].state == "running"  # adopted, not re-made
        assert pod["metadata"]["resourceVersion"] == rv  # nothing changed, so nothing was written
        assert state_of(pod).get("restartCount", 0) == 0 and condition(pod, "Ready") == "True"
    await runtime.close()


async def _no_containers(runtime: SimRuntime, uid: str) -> bool:
    return await runtime.list(pod_uid=uid) == []


async def test_active_deadline_fails_the_pod_and_stops_it(api: Api, tmp_path: Path) -> None:
    token = await join(api, NODE)
    runtime = SimRuntime()
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path):
        manifest = pod_manifest("late", node=NODE, command=["sleep", "3600"])
        manifest["spec"]["activeDeadlineSeconds"] = 1
        created = await create_pod(api, manifest)
        pod = await pod_where(api, "late", lambda p: phase(p) == "Failed", timeout=5, what="Failed")
        assert pod["status"]["reason"] == "DeadlineExceeded"
        (info,) = await runtime.list(pod_uid=created["metadata"]["uid"])
        assert info.state == "exited"  # stopped, kept for its logs
    await runtime.close()


async def test_containers_of_another_node_on_a_shared_engine_are_left_alone(api: Api, tmp_path: Path) -> None:
    from orchestrator.runtime.base import ContainerSpec

    token = await join(api, NODE)
    runtime = SimRuntime()
    theirs = await runtime.create(ContainerSpec(pod_uid="other-uid", pod_name="x", namespace="default",
                                                container_name="main", image="i", labels={"orch.io/node": "other"}))
    stray = await runtime.create(ContainerSpec(pod_uid="gone-uid", pod_name="y", namespace="default",
                                               container_name="main", image="i", labels={"orch.io/node": NODE}))
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path):
        await eventually(lambda: _no_containers(runtime, "gone-uid"), what="our stray removed")
        assert [i.id for i in await runtime.list()] == [theirs] and stray != theirs
    await runtime.close()


async def test_init_containers_run_first_then_the_app(api: Api, tmp_path: Path) -> None:
    token = await join(api, NODE)
    runtime = SimRuntime()
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path):
        manifest = pod_manifest("staged", node=NODE, command=["work"], restart="Never",
                                labels={"orch.io/sim-run-seconds": "0.2"})
        manifest["spec"]["initContainers"] = [{"name": "setup", "image": "busybox", "command": ["prepare"]}]
        await create_pod(api, manifest)
        early = await pod_where(api, "staged", lambda p: bool(p["status"].get("initContainerStatuses")),
                                what="the init container's status")
        assert phase(early) == "Pending" and condition(early, "Initialized") == "False"
        pod = await pod_where(api, "staged", lambda p: phase(p) == "Succeeded", what="Succeeded")
        init = pod["status"]["initContainerStatuses"][0]
        assert init["state"]["terminated"]["reason"] == "Completed" and condition(pod, "Initialized") == "True"
        assert state_of(pod)["state"]["terminated"]["reason"] == "Completed"
    await runtime.close()


async def test_a_container_removed_by_hand_is_made_again_counting_on(api: Api, tmp_path: Path) -> None:
    token = await join(api, NODE)
    runtime = SimRuntime()
    async with podsync(api, runtime=runtime, node=NODE, token=token, data_dir=tmp_path):
        created = await create_pod(api, pod_manifest("again", node=NODE, command=["sleep", "3600"]))
        await pod_where(api, "again", lambda p: phase(p) == "Running", what="Running")
        (info,) = await runtime.list(pod_uid=created["metadata"]["uid"])
        await runtime.remove(info.id)
        pod = await pod_where(api, "again", lambda p: state_of(p).get("restartCount", 0) == 1
                              and "running" in state_of(p)["state"], what="made again")
        assert state_of(pod)["containerID"] != f"sim://{info.id}"
    await runtime.close()
