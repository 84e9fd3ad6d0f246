"""Garbage collector: the shell around `garbage.plan_gc`, over every kind in GC_KINDS.

Keys are `Kind/namespace/name`. A change to an object's owners, finalizers or deletion
enqueues it, its owners and its dependents. An owner missing from the cache is looked
up live before anything is called absent (a cache a moment behind must never get
dependents deleted)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orchestrator.client.events import EventRecorder
from orchestrator.client.informers import Informer
from orchestrator.controllers.actions import apply_and_observe
from orchestrator.controllers.garbage import FOREGROUND, ORPHAN, Owner, OwnerState, kind_of, owner_state, plan_gc
from orchestrator.controllers.informing import GC_KINDS, SharedInformers
from orchestrator.controllers.runner import Result, Watch
from orchestrator.controllers.settings import ControllerSettings
from orchestrator.model.api import ObjectAPI
from orchestrator.model.base import OwnerReference
from orchestrator.model.errors import NotFound
from orchestrator.model.registry import REGISTRY


def gc_key(kind: str, namespace: str, name: str) -> str:
    return f"{kind}/{namespace}/{name}"


def key_of(obj: Any) -> str:
    return gc_key(kind_of(obj), obj.metadata.namespace, obj.metadata.name)


def _relevant(old: Any, new: Any) -> bool:
    o, n = old.metadata, new.metadata
    return (o.owner_references != n.owner_references or o.finalizers != n.finalizers
            or o.deletion_timestamp != n.deletion_timestamp or o.uid != n.uid)


def _interesting(obj: Any) -> bool:
    m = obj.metadata
    return bool(m.owner_references) or (m.deletion_timestamp is not None
                                        and (FOREGROUND in m.finalizers or ORPHAN in m.finalizers))


class GarbageCollector:
    name = "garbage-collector"

    def __init__(self, *, api: ObjectAPI, informers: SharedInformers, settings: ControllerSettings,
                 recorder: EventRecorder) -> None:
        self.api, self.settings, self.recorder = api, settings, recorder
        self.workers, self.resync_s = settings.workers, settings.resync_s
        self.informers: dict[str, Informer] = {k: informers.get(k) for k in GC_KINDS}

    def primary(self) -> Informer:
        return self.informers["Pod"]

    def watches(self) -> list[Watch]:
        return [Watch(inf, keys=self._keys, relevant=_relevant) for inf in self.informers.values()]

    def resync_keys(self) -> Iterator[str]:
        for inf in self.informers.values():
            for obj in inf.list():
                if _interesting(obj):
                    yield key_of(obj)

    def _owner_key(self, obj: Any, ref: OwnerReference) -> str | None:
        try:
            kind = REGISTRY.by_kind(ref.kind)
        except NotFound:
            return None
        return gc_key(ref.kind, obj.metadata.namespace if kind.namespaced else "", ref.name)

    def _dependents(self, uid: str) -> list[Any]:
        if not uid:
            return []
        return [dep for inf in self.informers.values() for dep in inf.by_index("owner", uid)]

    def _keys(self, obj: Any) -> list[str]:
        keys = [key_of(obj)] if _interesting(obj) else []  # an object with no owners has nothing to decide
        keys += [k for ref in obj.metadata.owner_references if (k := self._owner_key(obj, ref))]
        keys += [key_of(dep) for dep in self._dependents(obj.metadata.uid)]
        return keys

    async def _state(self, obj: Any, ref: OwnerReference) -> OwnerState:
        try:
            kind = REGISTRY.by_kind(ref.kind)
        except NotFound:
            return "solid"  # a kind this server does not know: never collect on its account
        ns = obj.metadata.namespace if kind.namespaced else ""
        inf = self.informers.get(ref.kind)
        cached = inf.get(ref.name, ns) if inf is not None else None
        if cached is not None and cached.metadata.uid == ref.uid:
            return owner_state(cached, ref)
        try:
            live = await self.api.get(kind, ref.name, namespace=ns)
        except NotFound:
            return "absent"
        return owner_state(live, ref)

    async def reconcile(self, key: str) -> Result | None:
        kind, ns, name = key.split("/", 2)
        inf = self.informers.get(kind)
        obj = inf.get(name, ns) if inf is not None else None
        if obj is None:
            return None
        owners = [Owner(ref, await self._state(obj, ref)) for ref in obj.metadata.owner_references]
        plan = plan_gc(obj, owners=owners, dependents=self._dependents(obj.metadata.uid))
        await apply_and_observe(self.api, self.recorder, plan.actions, caches=self.informers,
                                timeout=self.settings.observe_timeout_s)
        return None
