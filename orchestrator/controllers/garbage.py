"""Garbage collection decisions (pure), by ownerReferences, as Kubernetes makes them.

For one object, knowing the state of each of its owners and who its dependents are:

- As a dependent: an owner is *absent* (no object of that kind/name with that uid),
  *waiting* (being deleted with the `foregroundDeletion` finalizer) or *solid*. With a
  solid owner it stays (dangling references are dropped, references to waiting owners
  made non-blocking). With no solid owner it is deleted: in Foreground when a waiting
  owner is why and it has dependents of its own, else by its own finalizers' policy
  (Background by default).
- As an owner being deleted: `orphan` -> its references are removed from every
  dependent, then the finalizer; `foregroundDeletion` -> the finalizer is removed once
  no dependent blocks (blockOwnerDeletion) any more.

Cycles resolve: a dependent that is itself waiting on its own dependents has its owner
references made non-blocking before it is deleted, so two objects in foreground
deletion never wait on each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from orchestrator.controllers.actions import Delete, Patch, Plan
from orchestrator.controllers.owners import owner_refs_patch
from orchestrator.model.base import OwnerReference

FOREGROUND, ORPHAN = "foregroundDeletion", "orphan"
OwnerState = Literal["absent", "waiting", "solid"]


@dataclass(frozen=True, slots=True)
class Owner:
    ref: OwnerReference
    state: OwnerState


def kind_of(obj: Any) -> str:
    return obj.kind or type(obj).__name__


def owner_state(owner: Any | None, ref: OwnerReference) -> OwnerState:
    if owner is None or owner.metadata.uid != ref.uid:
        return "absent"
    m = owner.metadata
    if m.deletion_timestamp is not None and FOREGROUND in m.finalizers:
        return "waiting"
    return "solid"


def deleting_dependents(obj: Any) -> bool:
    return obj.metadata.deletion_timestamp is not None and FOREGROUND in obj.metadata.finalizers


def _finalizers_patch(obj: Any, remove: str) -> dict[str, Any]:
    return {"metadata": {"finalizers": [f for f in obj.metadata.finalizers if f != remove],
                         "resourceVersion": obj.metadata.resource_version}}


def _ref_to(dep: Any, uid: str) -> OwnerReference | None:
    return next((r for r in dep.metadata.owner_references if r.uid == uid), None)


def plan_gc(obj: Any, *, owners: list[Owner], dependents: list[Any]) -> Plan:
    plan = Plan()
    plan.actions += plan_as_owner(obj, dependents=dependents).actions
    if not any(isinstance(a, Patch) and a.name == obj.metadata.name and a.kind == kind_of(obj)
               for a in plan.actions):
        plan.actions += plan_as_dependent(obj, owners=owners, dependents=dependents).actions
    return plan


def plan_as_owner(obj: Any, *, dependents: list[Any]) -> Plan:
    plan = Plan()
    m = obj.metadata
    if m.deletion_timestamp is None:
        return plan
    if ORPHAN in m.finalizers:
        for dep in dependents:
            refs = [r for r in dep.metadata.owner_references if r.uid != m.uid]
            plan.actions.append(Patch(kind_of(dep), dep.metadata.namespace, dep.metadata.name,
                                      owner_refs_patch(dep, refs)))
        plan.actions.append(Patch(kind_of(obj), m.namespace, m.name, _finalizers_patch(obj, ORPHAN)))
        return plan
    if FOREGROUND in m.finalizers:
        blocking = [d for d in dependents if (r := _ref_to(d, m.uid)) is not None and r.block_owner_deletion]
        if not blocking:
            plan.actions.append(Patch(kind_of(obj), m.namespace, m.name, _finalizers_patch(obj, FOREGROUND)))
    return plan


def plan_as_dependent(obj: Any, *, owners: list[Owner], dependents: list[Any]) -> Plan:
    plan = Plan()
    if not owners:
        return plan
    m = obj.metadata
    kind = kind_of(obj)
    solid = [o for o in owners if o.state == "solid"]
    waiting = [o for o in owners if o.state == "waiting"]
    dangling = [o for o in owners if o.state == "absent"]
    if solid:
        if dangling or any(o.ref.block_owner_deletion for o in waiting):
            gone = {o.ref.uid for o in dangling}
            unblock = {o.ref.uid for o in waiting}
            refs = [_unblocked(r) if r.uid in unblock else r for r in m.owner_references if r.uid not in gone]
            plan.actions.append(Patch(kind, m.namespace, m.name, owner_refs_patch(obj, refs)))
        return plan
    if waiting and dependents:
        if any(deleting_dependents(d) for d in dependents) and any(r.block_owner_deletion for r in m.owner_references):
            refs = [_unblocked(r) for r in m.owner_references]
            plan.actions.append(Patch(kind, m.namespace, m.name, owner_refs_patch(obj, refs)))
        if m.deletion_timestamp is None:
            plan.actions.append(Delete(kind, m.namespace, m.name, policy="Foreground"))
        return plan
    if m.deletion_timestamp is None:
        policy = "Orphan" if ORPHAN in m.finalizers else "Foreground" if FOREGROUND in m.finalizers else "Background"
        plan.actions.append(Delete(kind, m.namespace, m.name, policy=policy))
    return plan


def _unblocked(ref: OwnerReference) -> OwnerReference:
    return OwnerReference(api_version=ref.api_version, kind=ref.kind, name=ref.name, uid=ref.uid,
                          controller=ref.controller, block_owner_deletion=False if ref.block_owner_deletion else
                          ref.block_owner_deletion)
