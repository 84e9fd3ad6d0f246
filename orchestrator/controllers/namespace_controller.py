"""Namespace controller: empties a Terminating namespace, then finalizes it.

Key: the namespace's name. For a namespace with deletionTimestamp and the `kubernetes`
finalizer in spec.finalizers, every namespaced object in it is deleted through the API
(so pods get their graceful stop on their nodes, and owners' finalizers are honoured);
what is left is reported in the namespace's conditions and looked at again shortly (and
whenever a pod there goes). Once nothing is left, the finalizer is removed through the
`finalize` subresource and the store deletes the namespace.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import structlog

from orchestrator.client.events import EventRecorder
from orchestrator.client.informers import Informer
from orchestrator.controllers import clock
from orchestrator.controllers.informing import SharedInformers
from orchestrator.controllers.namespaces import termination_conditions
from orchestrator.controllers.runner import Result, Watch
from orchestrator.controllers.settings import ControllerSettings
from orchestrator.model.api import ObjectAPI
from orchestrator.model.base import clone
from orchestrator.model.errors import ApiError, Conflict, NotFound
from orchestrator.model.registry import REGISTRY

log = structlog.get_logger(__name__)

FINALIZER = "kubernetes"
RECHECK_S = 1.0  # what remains (pods stopping, finalizers) is looked at again this often


def terminating(ns: Any) -> bool:
    return ns is not None and ns.metadata.deletion_timestamp is not None and FINALIZER in ns.spec.finalizers


class NamespaceController:
    name = "namespace"

    def __init__(self, *, api: ObjectAPI, informers: SharedInformers, settings: ControllerSettings,
                 recorder: EventRecorder) -> None:
        self.api, self.settings, self.recorder = api, settings, recorder
        self.workers, self.resync_s = settings.workers, settings.resync_s
        self.namespaces: Informer = informers.get("Namespace")
        self.pods: Informer = informers.pods

    def primary(self) -> Informer:
        return self.namespaces

    def watches(self) -> list[Watch]:
        return [Watch(self.namespaces, keys=lambda ns: [ns.metadata.name]),
                Watch(self.pods, keys=self._pod_keys,
                      relevant=lambda old, new: old.metadata.deletion_timestamp != new.metadata.deletion_timestamp)]

    def _pod_keys(self, pod: Any) -> list[str]:
        ns = pod.metadata.namespace
        return [ns] if terminating(self.namespaces.get(ns)) else []

    async def reconcile(self, key: str) -> Result | None:
        ns = self.namespaces.get(key)
        if not terminating(ns):
            return None
        remaining, held = await self._delete_contents(key)
        now = clock.format_time(clock.now())
        conditions = termination_conditions(ns.status.conditions, remaining=remaining, held=held, now=now)
        if conditions != ns.status.conditions:
            out = clone(ns)
            out.status.conditions = conditions
            try:
                ns = await self.api.update_status(out)
            except (Conflict, NotFound):
                return Result(requeue_after=0.1)  # changed meanwhile: look again
        if remaining:
            return Result(requeue_after=RECHECK_S)
        finalizers = [f for f in ns.spec.finalizers if f != FINALIZER]
        try:
            await self.api.patch("Namespace", key, {"spec": {"finalizers": finalizers}}, subresource="finalize")
        except NotFound:
            return None
        log.info("namespace emptied and finalized", namespace=key)
        return None

    async def _delete_contents(self, namespace: str) -> tuple[Counter[str], Counter[str]]:
        """Delete what is not being deleted yet; count what is still there (by resource) and
        which finalizers hold it."""
        remaining: Counter[str] = Counter()
        held: Counter[str] = Counter()
        for kind in REGISTRY.kinds:
            if not kind.namespaced:
                continue
            for obj in (await self.api.list(kind.kind, namespace=namespace)).items:
                m = obj.metadata
                if m.deletion_timestamp is None:
                    try:
                        await self.api.delete(kind.kind, m.name, namespace=namespace)
                    except NotFound:
                        continue
                    except ApiError as exc:
                        log.warning("could not delete namespace content", namespace=namespace, kind=kind.kind,
                                    name=m.name, error=exc.message)
                remaining[kind.resource] += 1
                for f in m.finalizers:
                    held[f] += 1
        if remaining:  # deletes without finalizers or grace are gone already: count again
            remaining, held = Counter(), Counter()
            for kind in REGISTRY.kinds:
                if kind.namespaced:
                    for obj in (await self.api.list(kind.kind, namespace=namespace)).items:
                        remaining[kind.resource] += 1
                        held.update(obj.metadata.finalizers)
        return remaining, held
