"""16 bindings racing for 4 GPUs on one node: never more than 4 bound, no device twice.

Raced at two levels: raw HTTP binding requests against the server (the atomic,
compare-and-swap write the applier relies on), and the whole scheduler running out of
process style, over the HTTP client, planning one pod per cycle while earlier bindings
are still in flight (the snapshot's assumed pods are what keeps devices apart).
"""

from __future__ import annotations

import asyncio
from typing import Any

from orchestrator.aio.metrics import Metrics
from orchestrator.client import Client
from orchestrator.client.events import EventRecorder
from orchestrator.scheduler import SchedulerSettings, run_scheduler
from orchestrator.scheduler.binding import binding_body
from tests.scheduler.conftest import add_node, add_pod, eventually, get_pod
from tests.server.conftest import Api


async def test_raw_http_bindings_race_and_only_one_per_pod_wins(api: Api) -> None:
    await add_node(api, "gpu-0", gpus=4)
    pods = [await add_pod(api, f"nb-{i}", gpus=1) for i in range(4)]

    async def bind(pod: dict[str, Any], device: int) -> int:
        name = pod["metadata"]["name"]
        body = binding_body(namespace="default", name=name, node_name="gpu-0",
                            resource_version=pod["metadata"]["resourceVersion"],
                            annotations={"orch.io/gpu-devices": f"GPU-gpu-0-{device:02d}"})
        status, _ = await api.call("POST", f"/api/v1/namespaces/default/pods/{name}/binding", json=body)
        return status

    # 16 requests, 4 per pod, each pod on its own device: only the pod's CAS decides.
    attempts = [(p, i) for i, p in enumerate(pods) for _ in range(4)]
    statuses = await asyncio.gather(*(bind(p, d) for p, d in attempts))
    assert sorted(statuses) == [201] * 4 + [409] * 12
    for i, p in enumerate(pods):
        got = await get_pod(api, p["metadata"]["name"])
        assert got["spec"]["nodeName"] == "gpu-0"
        assert got["metadata"]["annotations"]["orch.io/gpu-devices"] == f"GPU-gpu-0-{i:02d}"
        # a binding with the pod's old resourceVersion is refused too
        body = binding_body(namespace="default", name=p["metadata"]["name"], node_name="gpu-0",
                            resource_version=p["metadata"]["resourceVersion"], annotations={})
        status, _ = await api.call("POST", f"/api/v1/namespaces/default/pods/{p['metadata']['name']}/binding",
                                   json=body)
        assert status == 409


async def test_two_schedulers_racing_for_one_device_never_share_it(api: Api) -> None:
    """8 pods, 2 proposing each of 4 devices, all at once (two schedulers with stale views):
    the server's ledger lets exactly one pod have each device."""
    await add_node(api, "gpu-0", gpus=4)
    pods = [await add_pod(api, f"nb-{i}", gpus=1) for i in range(8)]

    async def bind(pod: dict[str, Any], device: int) -> tuple[int, str]:
        name = pod["metadata"]["name"]
        body = binding_body(namespace="default", name=name, node_name="gpu-0",
                            resource_version=pod["metadata"]["resourceVersion"],
                            annotations={"orch.io/gpu-devices": f"GPU-gpu-0-{device:02d}"})
        status, answer = await api.call("POST", f"/api/v1/namespaces/default/pods/{name}/binding", json=body)
        return status, answer.get("message", "")

    answers = await asyncio.gather(*(bind(p, i % 4) for i, p in enumerate(pods)))
    assert sorted(status for status, _ in answers) == [201] * 4 + [409] * 4, answers
    assert all("is in use by pod default/nb-" in message for status, message in answers if status == 409), answers
    bound = [await get_pod(api, p["metadata"]["name"]) for p in pods]
    devices = [p["metadata"]["annotations"]["orch.io/gpu-devices"] for p in bound if p["spec"].get("nodeName")]
    assert sorted(devices) == [f"GPU-gpu-0-{i:02d}" for i in range(4)]


async def test_the_scheduler_over_http_never_binds_more_than_four(api: Api) -> None:
    await add_node(api, "gpu-0", gpus=4)
    await asyncio.gather(*(add_pod(api, f"nb-{i}", gpus=1) for i in range(16)))
    settings = SchedulerSettings(batch_size=1, binds_in_flight=16, initial_backoff_s=0.05, max_backoff_s=0.2)
    async with Client(api.url, api.token) as client:
        recorder = EventRecorder(client, component="default-scheduler")
        task = asyncio.create_task(run_scheduler(client, metrics=Metrics(), recorder=recorder, settings=settings))
        try:
            async def bound() -> list[dict[str, Any]]:
                pods = [await get_pod(api, f"nb-{i}") for i in range(16)]
                assert not task.done(), task  # the scheduler must not have died
                return [p for p in pods if p["spec"].get("nodeName")]

            await eventually(lambda: _at_least(bound, 4), what="4 pods bound")
            # more cluster changes: each moves the waiting pods back for another try
            await add_node(api, "cpu-0")
            await asyncio.sleep(0.5)
            got = await bound()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert len(got) == 4
    devices = [p["metadata"]["annotations"]["orch.io/gpu-devices"] for p in got]
    assert sorted(devices) == [f"GPU-gpu-0-{i:02d}" for i in range(4)]


async def _at_least(fetch: Any, n: int) -> list[Any]:
    got = await fetch()
    return got if len(got) >= n else []
