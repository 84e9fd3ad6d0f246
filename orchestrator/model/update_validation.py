"""What an update may not change: `validate_update(kind_name, new, old) -> list[StatusCause]`.

Run it on PUT/PATCH of the main resource, after `apply_defaults` and `validate` (which
checks the new object on its own); both objects are compared as defaulted. The rules are Kubernetes':

- Deployment, ReplicaSet, DaemonSet, Job: `spec.selector` is immutable.
- Job: `spec.template` and `spec.completionMode` are immutable too.
- Pod: the spec is immutable except container images, activeDeadlineSeconds,
  terminationGracePeriodSeconds and added tolerations; `spec.nodeName` changes only
  through the binding subresource (do not call this for bindings or status writes).
- ConfigMap, Secret: with `immutable: true`, data and type may not change, and
  `immutable` may not be turned off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from orchestrator.model import field_errors as fe
from orchestrator.model.errors import StatusCause
from orchestrator.model.gpus import GPU_DEVICES_ANNOTATION
from orchestrator.model.pods import Pod, PodSpec

_IMMUTABLE = "field is immutable"
_POD_MUTABLE = ("pod updates may not change fields other than `spec.containers[*].image`, "
                "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, "
                "`spec.terminationGracePeriodSeconds` or `spec.tolerations` (only additions to existing tolerations)")


def validate_update(kind_name: str, new: Any, old: Any) -> list[StatusCause]:
    errs: list[StatusCause] = []
    if (fn := _BY_KIND.get(kind_name)) is not None:
        fn(new, old, errs)
    return errs


def _selector(new: Any, old: Any, errs: list[StatusCause]) -> None:
    if new.spec.selector != old.spec.selector:
        errs.append(fe.invalid("spec.selector", msgspec.to_builtins(new.spec.selector), _IMMUTABLE))


def _job(new: Any, old: Any, errs: list[StatusCause]) -> None:
    _selector(new, old, errs)
    if new.spec.template != old.spec.template:
        errs.append(fe.invalid("spec.template", msgspec.to_builtins(new.spec.template), _IMMUTABLE))
    if new.spec.completion_mode != old.spec.completion_mode:
        errs.append(fe.invalid("spec.completionMode", new.spec.completion_mode, _IMMUTABLE))


def _comparable(spec: PodSpec, *, images_from: PodSpec, tolerations_from: PodSpec) -> PodSpec:
    """`spec` with the mutable fields taken from another spec, for an equality check."""
    containers = [msgspec.structs.replace(c, image=o.image) for c, o in zip(spec.containers, images_from.containers)]
    inits = [msgspec.structs.replace(c, image=o.image) for c, o in zip(spec.init_containers, images_from.init_containers)]
    return msgspec.structs.replace(
        spec,
        containers=containers + spec.containers[len(containers):],
        init_containers=inits + spec.init_containers[len(inits):],
        active_deadline_seconds=images_from.active_deadline_seconds,
        termination_grace_period_seconds=images_from.termination_grace_period_seconds,
        tolerations=tolerations_from.tolerations,
    )


def _pod(new: Pod, old: Pod, errs: list[StatusCause]) -> None:
    devices = old.metadata.annotations.get(GPU_DEVICES_ANNOTATION)
    if old.spec.node_name and new.metadata.annotations.get(GPU_DEVICES_ANNOTATION) != devices:
        errs.append(fe.forbidden(f"metadata.annotations[{GPU_DEVICES_ANNOTATION}]",
                                 "the GPUs of a bound pod are given at binding and cannot change"))
    if new.spec == old.spec:
        return
    if any(t not in new.spec.tolerations for t in old.spec.tolerations):
        errs.append(fe.forbidden("spec.tolerations", "existing toleration can not be modified or removed"))
    if new.spec.node_name != old.spec.node_name:
        errs.append(fe.forbidden("spec.nodeName", "may only be set through the binding subresource"))
        return
    if _comparable(old.spec, images_from=new.spec, tolerations_from=new.spec) != new.spec:
        errs.append(fe.forbidden("spec", _POD_MUTABLE))


def _immutable_data(new: Any, old: Any, errs: list[StatusCause]) -> None:
    if not old.immutable:
        return
    if not new.immutable:
        errs.append(fe.forbidden("immutable", "field is immutable when `immutable` is set"))
    for attr, wire in (("data", "data"), ("binary_data", "binaryData"), ("type", "type")):
        if hasattr(old, attr) and getattr(new, attr) != getattr(old, attr):
            errs.append(fe.forbidden(wire, "field is immutable when `immutable` is set"))


_BY_KIND: dict[str, Callable[[Any, Any, list[StatusCause]], None]] = {
    "Deployment": _selector,
    "ReplicaSet": _selector,
    "DaemonSet": _selector,
    "Job": _job,
    "Pod": _pod,
    "ConfigMap": _immutable_data,
    "Secret": _immutable_data,
}
