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
