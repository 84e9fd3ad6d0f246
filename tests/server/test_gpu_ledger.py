"""The server's GPU ledger: whoever binds (or creates a pod already bound), a device is held
by one running pod at a time; devices come free when the pod finishes or goes."""

from __future__ import annotations

from typing import Any

from tests.scheduler.conftest import add_node, add_pod, get_pod, pod_doc
from tests.server.conftest import Api

PODS = "/api/v1/namespaces/default/pods"


async def _bind(api: Api, name: str, node: str, devices: str | None = None) -> tuple[int, dict[str, Any]]:
    meta: dict[str, Any] = {"name": name}
    if devices is not None:
        meta["annotations"] = {"orch.io/gpu-devices": devices}
    return await api.call("POST", f"{PODS}/{name}/binding",
                          json={"apiVersion": "v1", "kind": "Binding", "metadata": meta,
                                "target": {"apiVersion": "v1", "kind": "Node", "name": node}})


def _devices(pod: dict[str, Any]) -> str:
    return pod["metadata"].get("annotations", {}).get("orch.io/gpu-devices", "")


async def test_a_binding_without_devices_gets_free_ones_until_none_are_left(api: Api) -> None:
    await add_node(api, "g", gpus=2)
    for name in ("a", "b", "c"):
        await add_pod(api, name, gpus=1)
    assert (await _bind(api, "a", "g", "GPU-g-00"))[0] == 201
    assert (await _bind(api, "b", "g"))[0] == 201
    assert _devices(await get_pod(api, "b")) == "GPU-g-01"
    status, body = await _bind(api, "c", "g")
    assert status == 409 and "has 0 free GPU(s) of 2" in body["message"], body
    assert not (await get_pod(api, "c"))["spec"].get("nodeName")  # nothing half-written

    # a finished pod gives its device back; so does a deleted one
    status, _ = await api.call("PATCH", f"{PODS}/a/status", data='{"status":{"phase":"Succeeded"}}',
                               headers={"Content-Type": "application/merge-patch+json"})
    assert status == 200
    assert (await _bind(api, "c", "g"))[0] == 201 and _devices(await get_pod(api, "c")) == "GPU-g-00"
    await add_pod(api, "d", gpus=1)
    assert (await _bind(api, "d", "g"))[0] == 409
    status, _ = await api.call("DELETE", f"{PODS}/b?gracePeriodSeconds=0")
    assert status == 200
    assert (await _bind(api, "d", "g", "GPU-g-01"))[0] == 201


async def test_bad_device_proposals_are_refused_with_the_reason(api: Api) -> None:
    await add_node(api, "g", gpus=2)
    await add_pod(api, "two", gpus=2)
    await add_pod(api, "none")
    status, body = await _bind(api, "two", "g", "GPU-g-00")
    assert status == 422 and "1 device(s) given" in body["message"] and "requests 2" in body["message"], body
    status, body = await _bind(api, "two", "g", "GPU-g-00,GPU-g-00")
    assert status == 422 and "distinct" in body["message"], body
    status, body = await _bind(api, "two", "g", "GPU-g-00,GPU-other")
    assert status == 409 and 'GPU-other is not a device of node "g"' in body["message"], body
    status, body = await _bind(api, "none", "g", "GPU-g-00")
    assert status == 422 and "requests no nvidia.com/gpu" in body["message"], body
    status, body = await _bind(api, "two", "missing-node")
    assert status == 409 and 'node "missing-node" not found' in body["message"], body
    assert (await _bind(api, "two", "g", "GPU-g-01,GPU-g-00"))[0] == 201


async def test_a_pod_created_on_a_node_gets_devices_and_they_cannot_be_changed(api: Api) -> None:
    await add_node(api, "g", gpus=1)
    doc = pod_doc("direct", gpus=1)
    doc["spec"]["nodeName"] = "g"
    status, body = await api.call("POST", PODS, json=doc)
    assert status == 201 and _devices(body) == "GPU-g-00", body
    second = pod_doc("second", gpus=1)
    second["spec"]["nodeName"] = "g"
    status, body = await api.call("POST", PODS, json=second)
    assert status == 409 and "0 free GPU(s)" in body["message"], body
    status, _ = await api.call("GET", f"{PODS}/second")
    assert status == 404
    status, body = await api.call("PATCH", f"{PODS}/direct", data='{"metadata":{"annotations":'
                                  '{"orch.io/gpu-devices":"GPU-g-07"}}}',
                                  headers={"Content-Type": "application/merge-patch+json"})
    assert status == 422 and "cannot change" in body["message"], body


async def test_the_ledger_is_rebuilt_from_the_pods_after_a_restart(api: Api) -> None:
    await add_node(api, "g", gpus=1)
    await add_pod(api, "held", gpus=1)
    assert (await _bind(api, "held", "g"))[0] == 201
    api.state.objects.gpus._holders = None  # what a fresh server process starts with
    await add_pod(api, "late", gpus=1)
    status, body = await _bind(api, "late", "g", "GPU-g-00")
    assert status == 409 and "in use by pod default/held" in body["message"], body
