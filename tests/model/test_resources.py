"""pod_requests(), qos_class() and GPU helpers."""

from __future__ import annotations

from orchestrator.model.gpus import GPU_COUNT_LABEL, GPU_MEMORY_LABEL, GPU_PRODUCT_LABEL, GPU_RESOURCE, gpu_devices_annotation, gpu_node_labels, label_safe, assigned_gpus
from orchestrator.model.nodes import GpuDevice
from orchestrator.model.resources import pod_requests, qos_class, resource_list, sum_requests

from tests.model.factories import container, make_pod


def test_requests_sum_containers_in_integer_units() -> None:
    pod = make_pod(spec={"containers": [
        container(name="a", resources={"requests": {"cpu": "250m", "memory": "128Mi"}}),
        container(name="b", resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {GPU_RESOURCE: 2}}),
        container(name="c")]})
    assert pod_requests(pod) == {"cpu": 1250, "memory": 128 * 2**20 + 2**30, GPU_RESOURCE: 2}


def test_requests_default_to_limits() -> None:
    pod = make_pod(spec={"containers": [container(resources={"limits": {"cpu": "2", "memory": "1G"},
                                                             "requests": {"cpu": "500m"}})]})
    assert pod_requests(pod) == {"cpu": 500, "memory": 10**9}


def test_init_containers_take_the_max() -> None:
    pod = make_pod(spec={
        "containers": [container(name="a", resources={"requests": {"cpu": "1", "memory": "1Gi"}})],
        "initContainers": [container(name="i", resources={"requests": {"cpu": "3", "memory": "1Mi"}}),
                           container(name="sidecar", restartPolicy="Always", resources={"requests": {"memory": "1Gi"}})]})
    assert pod_requests(pod) == {"cpu": 3000, "memory": 2 * 2**30}


def test_empty_pod_requests_nothing() -> None:
    assert pod_requests(make_pod(spec={"containers": [container()]})) == {}
    assert sum_requests([make_pod(), make_pod()]) == {"cpu": 500, "memory": 256 * 2**20}


def test_resource_list() -> None:
    assert resource_list({"cpu": "63500m", "memory": "2Gi", "pods": "110", GPU_RESOURCE: "8"}) == {
        "cpu": 63500, "memory": 2**31, "pods": 110, GPU_RESOURCE: 8}


def test_qos_class() -> None:
    assert qos_class(make_pod(spec={"containers": [container()]}).spec) == "BestEffort"
    assert qos_class(make_pod().spec) == "Burstable"
    guaranteed = make_pod(spec={"containers": [container(resources={"limits": {"cpu": "1", "memory": "1Gi"}})]})
    assert qos_class(guaranteed.spec) == "Guaranteed"
    gpu_only = make_pod(spec={"containers": [container(resources={"limits": {GPU_RESOURCE: "1"}})]})
    assert qos_class(gpu_only.spec) == "BestEffort"
    junk = make_pod(spec={"containers": [container(resources={"limits": {"cpu": "x", "memory": "1Gi"},
                                                              "requests": {"cpu": "1"}})]})
    assert qos_class(junk.spec) == "Burstable"


def test_gpu_labels_and_annotation() -> None:
    devices = [GpuDevice(index=1, uuid="GPU-b", model="NVIDIA H100 80GB HBM3", memory_mib=81559),
               GpuDevice(index=0, uuid="GPU-a", model="NVIDIA H100 80GB HBM3", memory_mib=81559)]
    assert gpu_node_labels(devices) == {GPU_PRODUCT_LABEL: "NVIDIA-H100-80GB-HBM3", GPU_MEMORY_LABEL: "81559",
                                        GPU_COUNT_LABEL: "2"}
    assert gpu_node_labels([]) == {}
    assert label_safe(" Tesla T4 (PCIe) ") == "Tesla-T4-PCIe"
    pod = make_pod()
    pod.metadata.annotations.update(gpu_devices_annotation(["GPU-a", "GPU-b"]))
    assert assigned_gpus(pod) == ["GPU-a", "GPU-b"]
