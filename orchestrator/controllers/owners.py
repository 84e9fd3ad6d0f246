"""ownerReferences: who controls an object, adopting and releasing (pure)."""

from __future__ import annotations

from typing import Any

from orchestrator.model.base import OwnerReference
from orchestrator.model.selectors import Selector


def controller_ref(obj: Any) -> OwnerReference | None:
    for ref in obj.metadata.owner_references:
        if ref.controller:
            return ref
    return None


def controller_uid(obj: Any) -> str:
    ref = controller_ref(obj)
    return ref.uid if ref is not None else ""


def owner_uids(obj: Any) -> list[str]:
    return [ref.uid for ref in obj.metadata.owner_references]


def controller_ref_to(owner: Any) -> OwnerReference:
    """The reference a controller puts on what it creates (blocks the owner's foreground deletion)."""
    return OwnerReference(api_version=owner.api_version, kind=owner.kind, name=owner.metadata.name,
                          uid=owner.metadata.uid, controller=True, block_owner_deletion=True)


def refs_to_dicts(refs: list[OwnerReference]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for r in refs:
        d: dict[str, Any] = {"apiVersion": r.api_version, "kind": r.kind, "name": r.name, "uid": r.uid}
        if r.controller is not None:
            d["controller"] = r.controller
        if r.block_owner_deletion is not None:
            d["blockOwnerDeletion"] = r.block_owner_deletion
        out.append(d)
    return out


def owner_refs_patch(obj: Any, refs: list[OwnerReference]) -> dict[str, Any]:
    """A merge patch setting an object's ownerReferences, guarded by its resourceVersion."""
    return {"metadata": {"ownerReferences": refs_to_dicts(refs),
                         "resourceVersion": obj.metadata.resource_version}}


def adoption_patch(obj: Any, owner: Any) -> dict[str, Any]:
    return owner_refs_patch(obj, [*obj.metadata.owner_references, controller_ref_to(owner)])


def release_patch(obj: Any, owner_uid: str) -> dict[str, Any]:
    return owner_refs_patch(obj, [r for r in obj.metadata.owner_references if r.uid != owner_uid])


def claim(owner: Any, selector: Selector, *, owned: list[Any], orphans: list[Any]) -> tuple[list[Any], list[Any], list[Any]]:
    """(objects the owner keeps, orphans to adopt, owned objects to release), like ClaimPods.

    Owned objects that stop matching are released; matching orphans (no controller, not
    being deleted) are adopted unless the owner itself is being deleted."""
    keep: list[Any] = []
    release: list[Any] = []
    for obj in owned:
        if selector.matches(obj.metadata.labels):
            keep.append(obj)
        elif obj.metadata.deletion_timestamp is None:
            release.append(obj)
    adopt: list[Any] = []
    if owner.metadata.deletion_timestamp is None:
        for obj in orphans:
            if (controller_ref(obj) is None and obj.metadata.deletion_timestamp is None
                    and obj.metadata.namespace == owner.metadata.namespace
                    and selector.matches(obj.metadata.labels)):
                adopt.append(obj)
    return keep + adopt, adopt, release
