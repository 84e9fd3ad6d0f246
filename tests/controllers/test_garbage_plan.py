"""Garbage collection decisions, and a small in-memory world that applies them the way the
API server would, to show cascades finish and cycles do not deadlock (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.controllers.actions import Delete, Patch
from orchestrator.controllers.garbage import FOREGROUND, ORPHAN, Owner, owner_state, plan_gc
from orchestrator.controllers.owners import controller_ref_to
from orchestrator.model.base import OwnerReference, clone
from orchestrator.model.cluster import Event
from orchestrator.model.config import ConfigMap
from orchestrator.model.errors import Conflict
from tests.controllers.factories import meta


def cm(name: str, *owners: Any, block: bool = True) -> ConfigMap:
    refs = []
    for o in owners:
        ref = controller_ref_to(o)
        refs.append(OwnerReference(api_version=ref.api_version, kind=ref.kind, name=ref.name, uid=ref.uid,
                                   block_owner_deletion=block))
    return ConfigMap(api_version="v1", kind="ConfigMap", metadata=meta(name, owners=refs))


class World:
    """Objects by name, with the API server's delete/finalizer rules."""

    def __init__(self, *objs: Any) -> None:
        self.objs = {o.metadata.name: o for o in objs}

    def delete(self, name: str, policy: str = "Background") -> None:
        obj = self.objs[name]
        extra = {"Foreground": FOREGROUND, "Orphan": ORPHAN}.get(policy)
        if extra and extra not in obj.metadata.finalizers:
            obj.metadata.finalizers.append(extra)
        if obj.metadata.finalizers:
            obj.metadata.deletion_timestamp = obj.metadata.deletion_timestamp or "2024-01-01T00:00:00Z"
        else:
            del self.objs[name]

    def patch(self, name: str, patch: dict[str, Any]) -> None:
        obj = self.objs.get(name)
        if obj is None:
            return
        m = patch["metadata"]
        if m.get("resourceVersion") not in (None, obj.metadata.resource_version):
            raise Conflict("stale")
        out = clone(obj)
        if "ownerReferences" in m:
            out.metadata.owner_references = [OwnerReference(api_version=r["apiVersion"], kind=r["kind"],
                                                            name=r["name"], uid=r["uid"],
                                                            controller=r.get("controller"),
                                                            block_owner_deletion=r.get("blockOwnerDeletion"))
                                             for r in m["ownerReferences"]]
        if "finalizers" in m:
            out.metadata.finalizers = list(m["finalizers"])
        out.metadata.resource_version = str(int(out.metadata.resource_version) + 1)
        if out.metadata.deletion_timestamp and not out.metadata.finalizers:
            del self.objs[name]
        else:
            self.objs[name] = out

    def plan(self, obj: Any) -> Any:
        by_uid = {o.metadata.uid: o for o in self.objs.values()}
        owners = [Owner(r, owner_state(by_uid.get(r.uid), r)) for r in obj.metadata.owner_references]
        deps = [o for o in self.objs.values() if any(r.uid == obj.metadata.uid for r in o.metadata.owner_references)]
        return plan_gc(obj, owners=owners, dependents=deps)

    def settle(self, rounds: int = 50) -> None:
        for _ in range(rounds):
            acted = False
            for name in list(self.objs):
                obj = self.objs.get(name)
                if obj is None:
                    continue
                for a in self.plan(obj).actions:
                    acted = True
                    if isinstance(a, Delete):
                        if a.name in self.objs:
                            self.delete(a.name, a.policy or "Background")
                    elif isinstance(a, Patch):
                        try:
                            self.patch(a.name, a.patch)
                        except Conflict:
                            break
            if not acted:
                return
        pytest.fail(f"garbage collection did not settle: {sorted(self.objs)}")


def test_dependents_of_a_vanished_owner_are_deleted_in_background() -> None:
    owner = cm("owner")
    dep = cm("dep", owner)
    plan = plan_gc(dep, owners=[Owner(dep.metadata.owner_references[0], "absent")], dependents=[])
    (d,) = plan.of(Delete)
    assert (d.kind, d.name, d.policy) == ("ConfigMap", "dep", "Background")


def test_a_solid_owner_keeps_its_dependent_and_dangling_references_are_dropped() -> None:
    a, b = cm("a"), cm("b")
    dep = cm("dep", a, b)
    ra, rb = dep.metadata.owner_references
    assert plan_gc(dep, owners=[Owner(ra, "solid"), Owner(rb, "solid")], dependents=[]).actions == []
    (p,) = plan_gc(dep, owners=[Owner(ra, "solid"), Owner(rb, "absent")], dependents=[]).of(Patch)
    assert [r["uid"] for r in p.patch["metadata"]["ownerReferences"]] == [a.metadata.uid]


def test_foreground_owner_waits_for_blocking_dependents_then_goes() -> None:
    owner = cm("owner")
    child = cm("child", owner)
    world = World(owner, child, cm("grandchild", child))
    world.delete("owner", "Foreground")
    assert FOREGROUND in world.objs["owner"].metadata.finalizers
    assert world.plan(world.objs["owner"]).actions == []  # the child blocks
    world.settle()
    assert world.objs == {}


def test_non_blocking_dependents_do_not_hold_a_foreground_owner() -> None:
    owner = cm("owner")
    dep = cm("dep", owner, block=False)
    owner.metadata.deletion_timestamp = "2024-01-01T00:00:00Z"
    owner.metadata.finalizers = [FOREGROUND]
    (p,) = plan_gc(owner, owners=[], dependents=[dep]).of(Patch)
    assert p.patch["metadata"]["finalizers"] == []


def test_orphan_removes_references_then_its_finalizer() -> None:
    owner, other = cm("owner"), cm("other")
    world = World(owner, other, cm("d1", owner), cm("d2", owner, other))
    world.delete("owner", "Orphan")
    world.settle()
    assert "owner" not in world.objs
    assert world.objs["d1"].metadata.owner_references == []
    assert [r.name for r in world.objs["d2"].metadata.owner_references] == ["other"]


def test_background_cascades_through_generations() -> None:
    top = cm("top")
    mid = cm("mid", top)
    event = Event(api_version="v1", kind="Event", metadata=meta("event"))  # no owners: untouched
    world = World(top, mid, cm("leaf", mid), event)
    world.delete("top")
    world.settle()
    assert sorted(world.objs) == ["event"]


@pytest.mark.parametrize("policy", ["Foreground", "Background", "Orphan"])
def test_ownership_cycles_resolve(policy: str) -> None:
    a = cm("a")
    b = cm("b", a)
    a.metadata.owner_references = [controller_ref_to(b)]
    world = World(a, b)
    world.settle()
    assert sorted(world.objs) == ["a", "b"]  # both owners exist: nothing to collect
    world.delete("a", policy)
    world.settle()
    if policy == "Orphan":
        assert sorted(world.objs) == ["b"] and world.objs["b"].metadata.owner_references == []
    else:
        assert world.objs == {}


def test_two_foreground_deletions_in_a_cycle_do_not_wait_on_each_other() -> None:
    a = cm("a")
    b = cm("b", a)
    a.metadata.owner_references = [controller_ref_to(b)]
    world = World(a, b)
    world.delete("a", "Foreground")
    world.delete("b", "Foreground")
    world.settle()
    assert world.objs == {}
