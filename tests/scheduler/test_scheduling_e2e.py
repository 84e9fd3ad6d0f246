"""The scheduler in a real (in-process) server: pods created over HTTP get bound by it."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.scheduler.conftest import add_node, add_pod, eventually, events_for, get_pod
from tests.server.conftest import Api


async def bound_node(api: Api, name: str) -> str:
    return (await get_pod(api, name))["spec"].get("nodeName", "")


async def all_bound(api: Api, names: list[str]) -> dict[str, dict[str, Any]]:
    pods = {n: await get_pod(api, n) for n in names}
    return pods if all(p["spec"].get("nodeName") for p in pods.values()) else {}


async def test_the_gpu_scenario(cluster: Api) -> None:
    api = cluster
    for name in ("gpu-0", "gpu-1"):
        await add_node(api, name, cpu="16", memory="64Gi", gpus=4)
    for name in ("cpu-0", "cpu-1"):
        await add_node(api, name, cpu="8", memory="32Gi")

    notebooks = [f"notebook-{i}" for i in range(8)]
    webs = [f"web-{i}" for i in range(6)]
    for n in notebooks:
        await add_pod(api, n, cpu="1", memory="2Gi", gpus=1)
    for n in webs:
        await add_pod(api, n, cpu="500m", memory="256Mi")

    pods = await eventually(lambda: all_bound(api, notebooks + webs), what="notebooks and web pods bound")
    devices: dict[str, str] = {}
    for n in notebooks:
        node = pods[n]["spec"]["nodeName"]
        assert node in ("gpu-0", "gpu-1")
        uuids = pods[n]["metadata"]["annotations"]["orch.io/gpu-devices"].split(",")
        assert len(uuids) == 1 and uuids[0].startswith(f"GPU-{node}-")
        devices[n] = uuids[0]
    assert len(set(devices.values())) == 8
    assert {pods[n]["spec"]["nodeName"] for n in webs} <= {"cpu-0", "cpu-1"}
    assert all("orch.io/gpu-devices" not in pods[n]["metadata"].get("annotations", {}) for n in webs)

    await add_pod(api, "notebook-8", cpu="1", memory="2Gi", gpus=1)

    async def failed_event() -> list[dict[str, Any]]:
        return [e for e in await events_for(api, "notebook-8") if e["reason"] == "FailedScheduling"]

    events = await eventually(failed_event, what="a FailedScheduling event for notebook-8")
    assert events[0]["type"] == "Warning"
    assert events[0]["message"] == "0/4 nodes are available: 4 Insufficient nvidia.com/gpu."
    assert await bound_node(api, "notebook-8") == ""
    await asyncio.sleep(0.3)  # nothing changed: no new attempt, no second event
    assert len(await failed_event()) == 1 and (await failed_event())[0].get("count", 1) == 1

    scheduled = [e for e in await events_for(api, "notebook-0") if e["reason"] == "Scheduled"]
    node0 = pods["notebook-0"]["spec"]["nodeName"]
    assert scheduled and scheduled[0]["message"] == f"Successfully assigned default/notebook-0 to {node0}"

    status, body = await api.call("DELETE", "/api/v1/namespaces/default/pods/notebook-0?gracePeriodSeconds=0")
    assert status == 200, body
    await eventually(lambda: bound_node(api, "notebook-8"), what="notebook-8 bound after notebook-0 went away")
    ninth = await get_pod(api, "notebook-8")
    assert ninth["spec"]["nodeName"] == node0
    assert ninth["metadata"]["annotations"]["orch.io/gpu-devices"] == devices["notebook-0"]


async def test_pods_wait_for_a_node_and_cordon_keeps_them_off(cluster: Api) -> None:
    api = cluster
    await add_pod(api, "early")
    await asyncio.sleep(0.2)
    assert await bound_node(api, "early") == ""
    failed = [e for e in await events_for(api, "early") if e["reason"] == "FailedScheduling"]
    assert failed and failed[0]["message"] == "no nodes available to schedule pods"
    await add_node(api, "n-0")
    assert await eventually(lambda: bound_node(api, "early")) == "n-0"

    status, body = await api.call("PATCH", "/api/v1/nodes/n-0", json={"spec": {"unschedulable": True}},
                                  headers={"Content-Type": "application/merge-patch+json"})
    assert status == 200, body
    await add_node(api, "n-1")
    for i in range(4):
        await add_pod(api, f"later-{i}")
    for i in range(4):
        assert await eventually(lambda: bound_node(api, f"later-{i}")) == "n-1"


async def test_sixteen_pods_racing_for_four_gpus_through_the_scheduler(cluster: Api) -> None:
    api = cluster
    await add_node(api, "gpu-0", gpus=4)
    await asyncio.gather(*(add_pod(api, f"nb-{i}", gpus=1) for i in range(16)))

    async def four_bound() -> list[dict[str, Any]]:
        pods = [await get_pod(api, f"nb-{i}") for i in range(16)]
        bound = [p for p in pods if p["spec"].get("nodeName")]
        return bound if len(bound) == 4 else []

    bound = await eventually(four_bound, what="4 pods bound")
    await asyncio.sleep(0.3)
    bound = await four_bound()
    assert len(bound) == 4
    uuids = {p["metadata"]["annotations"]["orch.io/gpu-devices"] for p in bound}
    assert uuids == {f"GPU-gpu-0-{i:02d}" for i in range(4)}
