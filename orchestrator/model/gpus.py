"""GPU names shared by the agent, the scheduler, admission and the runtimes.

A pod asks for GPUs in `resources.limits["nvidia.com/gpu"]` (whole numbers). GPU nodes
carry the taint `nvidia.com/gpu:NoSchedule` (when the operator chooses to keep plain
work off them); admission gives every pod that asks for a GPU a toleration for it. The
scheduler's binding records the exact device UUIDs on the pod, in the annotation
`orch.io/gpu-devices` (comma-separated, in device-index order); the agent hands exactly
those devices to the runtime. Node labels follow NVIDIA's GPU feature discovery.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Protocol

GPU_RESOURCE = "nvidia.com/gpu"
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_EFFECT = "NoSchedule"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"
GPU_MEMORY_LABEL = "nvidia.com/gpu.memory"  # MiB of one device
GPU_COUNT_LABEL = "nvidia.com/gpu.count"
GPU_DEVICES_ANNOTATION = "orch.io/gpu-devices"

_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class _HasMeta(Protocol):
    @property
    def metadata(self) -> _Meta: ...


class _Meta(Protocol):
    @property
    def annotations(self) -> Mapping[str, str]: ...


class _Device(Protocol):
    @property
    def index(self) -> int: ...
    @property
    def uuid(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def memory_mib(self) -> int: ...


def assigned_gpus(pod: _HasMeta) -> list[str]:
    """The device UUIDs the scheduler gave this pod (empty when none)."""
    raw = pod.metadata.annotations.get(GPU_DEVICES_ANNOTATION, "")
    return [u for u in (s.strip() for s in raw.split(",")) if u]


def gpu_devices_annotation(uuids: Iterable[str]) -> dict[str, str]:
    """The annotation that records an assignment (merge it into metadata.annotations)."""
    return {GPU_DEVICES_ANNOTATION: ",".join(uuids)}


def label_safe(text: str) -> str:
    """A model name as a label value: `NVIDIA H100 80GB HBM3` -> `NVIDIA-H100-80GB-HBM3`."""
    return _LABEL_UNSAFE.sub("-", text.strip()).strip("-_.")[:63].rstrip("-_.")


def gpu_node_labels(devices: Iterable[_Device]) -> dict[str, str]:
    """Node labels for a set of devices: product and memory of the first, and the count."""
    devs = sorted(devices, key=lambda d: d.index)
    if not devs:
        return {}
    return {
        GPU_PRODUCT_LABEL: label_safe(devs[0].model),
        GPU_MEMORY_LABEL: str(devs[0].memory_mib),
        GPU_COUNT_LABEL: str(len(devs)),
    }
