"""Valid-by-default Nodes and Pods for the scheduler tests (typed objects, as informers hold them)."""

from __future__ import annotations

import itertools
from typing import Any

from orchestrator.model.base import Condition, ObjectMeta, OwnerReference
from orchestrator.model.containers import Container, ContainerPort, ResourceRequirements
from orchestrator.model.gpus import GPU_RESOURCE, GPU_TAINT_KEY, gpu_devices_annotation
from orchestrator.model.nodes import GpuDevice, Node, NodeSpec, NodeStatus, Taint
from orchestrator.model.pods import Pod, PodSpec, PodStatus, Toleration
from orchestrator.scheduler.pods import PodInfo, pod_info
from orchestrator.scheduler.snapshot import Snapshot

_rv = itertools.count(1)
GPU_TAINT = Taint(key=GPU_TAINT_KEY, value="present", effect="NoSchedule")


def gpu_uuid(node: str, index: int) -> str:
    return f"GPU-{node}-{index:02d}"


def make_node(name: str = "node-0", *, cpu: str = "4", memory: str = "16Gi", pods: str = "110", gpus: int = 0,
              labels: dict[str, str] | None = None, taints: list[Taint] | None = None, ready: bool = True,
              unschedulable: bool = False, gpu_taint: bool | None = None) -> Node:
    alloc: dict[str, Any] = {"cpu": cpu, "memory": memory, "pods": pods}
    devices = [GpuDevice(index=i, uuid=gpu_uuid(name, i), model="NVIDIA H100", memory_mib=81559) for i in range(gpus)]
    if gpus:
        alloc[GPU_RESOURCE] = str(gpus)
    taints = list(taints or [])
    if gpus and (gpu_taint is None or gpu_taint):
        taints.append(GPU_TAINT)
    return Node(api_version="v1", kind="Node",
                metadata=ObjectMeta(name=name, labels=labels or {}, resource_version=str(next(_rv)), uid=f"uid-{name}"),
                spec=NodeSpec(unschedulable=unschedulable, taints=taints),
                status=NodeStatus(capacity=dict(alloc), allocatable=dict(alloc), gpus=devices,
                                  conditions=[Condition(type="Ready", status="True" if ready else "False")]))


def make_pod(name: str = "web-0", *, namespace: str = "default", cpu: str = "", memory: str = "", gpus: int = 0,
             node_name: str = "", owner: str = "", host_port: int = 0, node_selector: dict[str, str] | None = None,
             tolerations: list[Toleration] | None = None, affinity: Any = None, priority: int | None = None,
             phase: str = "Pending", devices: list[str] | None = None, created: str = "2024-01-01T00:00:00Z",
             extra: dict[str, str] | None = None) -> Pod:
    requests: dict[str, Any] = {}
    if cpu:
        requests["cpu"] = cpu
    if memory:
        requests["memory"] = memory
    limits: dict[str, Any] = dict(extra or {})
    if gpus:
        limits[GPU_RESOURCE] = str(gpus)
    ports = [ContainerPort(container_port=8080, host_port=host_port)] if host_port else []
    container = Container(name="main", image="busybox", ports=ports,
                          resources=ResourceRequirements(requests=requests, limits=limits))
    tols = list(tolerations or [])
    if gpus and not tolerations:  # what GPU admission adds
        tols.append(Toleration(key=GPU_TAINT_KEY, operator="Exists", effect="NoSchedule"))
    meta = ObjectMeta(name=name, namespace=namespace, uid=f"uid-{namespace}-{name}", resource_version=str(next(_rv)),
                      creation_timestamp=created,
                      annotations=gpu_devices_annotation(devices) if devices else {},
                      owner_references=[OwnerReference(api_version="apps/v1", kind="ReplicaSet", name=owner,
                                                       uid=f"uid-{owner}", controller=True)] if owner else [])
    return Pod(api_version="v1", kind="Pod", metadata=meta,
               spec=PodSpec(containers=[container], node_name=node_name, node_selector=node_selector or {},
                            tolerations=tols, affinity=affinity, priority=priority),
               status=PodStatus(phase=phase))


def info(**kwargs: Any) -> PodInfo:
    return pod_info(make_pod(**kwargs))


def snapshot_of(*nodes: Node, pods: tuple[Pod, ...] = ()) -> Snapshot:
    snap = Snapshot()
    for n in nodes:
        snap.set_node(n)
    for p in pods:
        snap.update_pod(p)
    return snap
