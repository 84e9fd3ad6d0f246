"""Binding a pending pod to a node (`pods/NAME/binding`): the scheduler's only write.

A revision check (`expected_rv`) keeps a scheduler with a stale view from binding a pod
that changed; a pod already bound or being deleted is refused (409). A pod that asks for
GPUs gets its devices from the server's ledger (`gpu_ledger`): the binder's proposal is
checked, or free devices are picked, and no device goes to two running pods.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.model.base import Object, clone
from orchestrator.model.errors import Conflict, Invalid, StatusCause
from orchestrator.model.gpus import GPU_DEVICES_ANNOTATION, assigned_gpus, gpu_devices_annotation
from orchestrator.model.registry import REGISTRY
from orchestrator.store.store import Entry

if TYPE_CHECKING:
    from orchestrator.store.objects import Objects

PODS = REGISTRY.by_kind("Pod")


async def bind(objects: Objects, *, namespace: str, name: str, node_name: str, expected_rv: str = "",
               annotations: dict[str, str] | None = None) -> Entry:
    if not node_name:
        raise Invalid("Binding is invalid: target.name: Required value",
                      causes=[StatusCause(reason="FieldValueInvalid", field="target.name", message="Required value")])
    current = objects.store.get_entry(PODS.key(namespace, name))
    if current is not None and not current.obj.spec.node_name:  # type: ignore[attr-defined]
        pod = current.obj
        given = annotations or {}
        proposed = [u for u in given[GPU_DEVICES_ANNOTATION].split(",") if u] if GPU_DEVICES_ANNOTATION in given \
            else assigned_gpus(pod)
        # A pod's spec never changes, so what it requests read here holds for the write below.
        async with objects.gpus.claiming(pod, node_name, proposed) as devices:
            extra = {**given, **gpu_devices_annotation(devices)} if devices else annotations
            return await _bind(objects, namespace, name, node_name, expected_rv, extra)
    return await _bind(objects, namespace, name, node_name, expected_rv, annotations)


async def _bind(objects: Objects, namespace: str, name: str, node_name: str, expected_rv: str,
                annotations: dict[str, str] | None) -> Entry:
    def assign(pod: Object) -> Object | None:
        if expected_rv and pod.metadata.resource_version != expected_rv:
            raise Conflict(f'Operation cannot be fulfilled on pods "{name}": the object has been modified')
        if pod.metadata.deletion_timestamp:
            raise Conflict(f'pod "{name}" is being deleted, cannot be assigned to a host')
        bound = pod.spec.node_name  # type: ignore[attr-defined]
        if bound:
            raise Conflict(f'Operation cannot be fulfilled on pods/binding "{name}": pod {name} is already '
                           f'assigned to node "{bound}"')
        out = clone(pod)
        out.spec.node_name = node_name  # type: ignore[attr-defined]
        if annotations:
            out.metadata.annotations.update(annotations)
        return out

    return await objects.mutate(PODS, PODS.key(namespace, name), name, assign)
