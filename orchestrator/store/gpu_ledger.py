"""The server's ledger of GPU devices held by pods: the last word on "no device is ever given
to two running pods", whoever binds (orch's scheduler, a second scheduler, a raw Binding,
or a pod created with `spec.nodeName` already set).

A pod holds the devices in its `orch.io/gpu-devices` annotation while it is bound and not
Succeeded/Failed (the scheduler's accounting rule). A claim is checked and reserved in one
synchronous step (no await between), so two binds racing for one device cannot both pass;
the reservation is confirmed after the write commits, or cancelled when it fails.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from orchestrator.model.errors import Conflict, Invalid, StatusCause
from orchestrator.model.gpus import GPU_DEVICES_ANNOTATION, GPU_RESOURCE, assigned_gpus
from orchestrator.model.quantities import QuantityError
from orchestrator.model.registry import REGISTRY
from orchestrator.model.resources import pod_requests
from orchestrator.store.store import Store

PODS, NODES = REGISTRY.by_kind("Pod"), REGISTRY.by_kind("Node")
FINISHED = ("Succeeded", "Failed")
Device = tuple[str, str]  # (node name, device uuid)


def gpus_requested(pod: Any) -> int:
    try:
        return pod_requests(pod).get(GPU_RESOURCE, 0)
    except (QuantityError, ValueError):
        return 0  # validation refuses such a pod before it gets here


def holds_devices(pod: Any) -> bool:
    return bool(pod.spec.node_name) and pod.status.phase not in FINISHED


class GpuLedger:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._holders: dict[Device, str] | None = None  # built from the pods on first use
        self._reserved: dict[Device, str] = {}          # claims whose write is in flight

    @asynccontextmanager
    async def claiming(self, pod: Any, node_name: str, proposed: list[str]) -> AsyncIterator[list[str]]:
        """Devices for `pod` on `node_name` (`proposed` checked, or free ones picked), held
        reserved while the caller writes them; [] for a pod that asks for no GPU."""
        key = PODS.key(pod.metadata.namespace, pod.metadata.name)
        devices = self._reserve(key, pod, node_name, proposed)
        try:
            yield devices
        except BaseException:
            for uuid in devices:
                self._reserved.pop((node_name, uuid), None)
            raise
        holders = self._load()
        for uuid in devices:
            self._reserved.pop((node_name, uuid), None)
            holders[(node_name, uuid)] = key

    def _reserve(self, key: str, pod: Any, node_name: str, proposed: list[str]) -> list[str]:
        wanted = gpus_requested(pod)
        where = f"metadata.annotations[{GPU_DEVICES_ANNOTATION}]"
        if wanted == 0:
            if proposed:
                raise _invalid(where, f"pod {pod.metadata.name} requests no {GPU_RESOURCE}, so it takes no devices")
            return []
        node = self.store.get_entry(NODES.key("", node_name))
        if node is None:
            raise Conflict(f'node "{node_name}" not found: cannot give pod {pod.metadata.name} {wanted} GPU(s)')
        on_node = [g.uuid for g in node.obj.status.gpus]  # type: ignore[attr-defined]
        if proposed:
            if len(proposed) != wanted or len(set(proposed)) != len(proposed):
                raise _invalid(where, f"{len(proposed)} device(s) given ({','.join(proposed)}) for a pod that "
                               f"requests {wanted} {GPU_RESOURCE}: give {wanted} distinct device UUIDs")
            missing = [u for u in proposed if u not in on_node]
            if missing:
                raise Conflict(f'GPU {missing[0]} is not a device of node "{node_name}"')
            for uuid in proposed:
                holder = self._holder(node_name, uuid, key)
                if holder:
                    raise Conflict(f'GPU {uuid} on node "{node_name}" is in use by pod {holder}')
            devices = list(proposed)
        else:
            free = [u for u in on_node if not self._holder(node_name, u, key)]
            if len(free) < wanted:
                raise Conflict(f'node "{node_name}" has {len(free)} free GPU(s) of {len(on_node)}; pod '
                               f"{pod.metadata.name} requests {wanted}")
            devices = free[:wanted]
        for uuid in devices:
            self._reserved[(node_name, uuid)] = key
        return devices

    def _holder(self, node_name: str, uuid: str, key: str) -> str:
        """The other pod (namespace/name) holding the device now, or ""."""
        device = (node_name, uuid)
        reserved = self._reserved.get(device)
        if reserved is not None and reserved != key:
            return _pretty(reserved)
        holders = self._load()
        holder = holders.get(device)
        if holder is None or holder == key:
            return ""
        entry = self.store.get_entry(holder)
        pod = entry.obj if entry is not None else None
        if pod is None or pod.spec.node_name != node_name or not holds_devices(pod) or uuid not in assigned_gpus(pod):
            del holders[device]  # finished, deleted, or recreated without it: the device is free
            return ""
        return _pretty(holder)

    def _load(self) -> dict[Device, str]:
        if self._holders is None:
            entries, _ = self.store.list(PODS.prefix(""))
            self._holders = {(e.obj.spec.node_name, uuid): PODS.key(e.obj.metadata.namespace,  # type: ignore[attr-defined]
                                                                  e.obj.metadata.name)
                             for e in entries if holds_devices(e.obj) for uuid in assigned_gpus(e.obj)}
        return self._holders


def _pretty(key: str) -> str:
    return "/".join(key.split("/")[-2:])


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(f"Pod is invalid: {field}: {message}",
                   causes=[StatusCause(reason="FieldValueInvalid", field=field, message=message)])
