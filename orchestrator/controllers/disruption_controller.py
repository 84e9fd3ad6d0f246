"""Disruption controller: keeps each PodDisruptionBudget's status (`disruption.budget_status`)
so the eviction subresource knows how many pods may go. Key: `namespace/name` of the budget;
a pod change enqueues the budgets of its namespace that select it."""

from __future__ import annotations

from typing import Any

from orchestrator.client.events import EventRecorder
from orchestrator.client.informers import Informer, object_key
from orchestrator.controllers import clock
from orchestrator.controllers.disruption import budget_status, with_status
from orchestrator.controllers.informing import SharedInformers
from orchestrator.controllers.replicaset_controller import split_key
from orchestrator.controllers.runner import Result, Watch
from orchestrator.controllers.settings import ControllerSettings
from orchestrator.model.api import ObjectAPI
from orchestrator.model.errors import Conflict, NotFound
from orchestrator.model.policy import selects

RECHECK_S = 30.0  # disruptedPods entries expire; look again now and then


def _pod_changed(old: Any, new: Any) -> bool:
    return (old.metadata.labels != new.metadata.labels or old.status.phase != new.status.phase
            or old.status.conditions != new.status.conditions
            or old.metadata.deletion_timestamp != new.metadata.deletion_timestamp)


class DisruptionController:
    name = "disruption"

    def __init__(self, *, api: ObjectAPI, informers: SharedInformers, settings: ControllerSettings,
                 recorder: EventRecorder) -> None:
        self.api, self.settings, self.recorder = api, settings, recorder
        self.workers, self.resync_s = settings.workers, settings.resync_s
        self.budgets: Informer = informers.get("PodDisruptionBudget")
        self.pods: Informer = informers.pods
        self.replicasets: Informer = informers.replicasets
        self.daemonsets: Informer = informers.daemonsets

    def primary(self) -> Informer:
        return self.budgets

    def watches(self) -> list[Watch]:
        return [Watch(self.budgets, keys=lambda b: [object_key(b)]),
                Watch(self.pods, keys=self._pod_keys, relevant=_pod_changed)]

    def _pod_keys(self, pod: Any) -> list[str]:
        ns = pod.metadata.namespace
        return [object_key(b) for b in self.budgets.list() if b.metadata.namespace == ns and selects(b, pod)]

    def _scale(self, pod: Any) -> int | None:
        ref = next((o for o in pod.metadata.owner_references if o.controller), None)
        if ref is None:
            return None
        ns = pod.metadata.namespace
        if ref.kind == "ReplicaSet":
            rs = self.replicasets.get(ref.name, ns)
            return rs.spec.replicas if rs is not None and rs.metadata.uid == ref.uid else None
        if ref.kind == "DaemonSet":
            ds = self.daemonsets.get(ref.name, ns)
            return ds.status.desired_number_scheduled if ds is not None and ds.metadata.uid == ref.uid else None
        return None

    async def reconcile(self, key: str) -> Result | None:
        ns, name = split_key(key)
        pdb = self.budgets.get(name, ns)
        if pdb is None:
            return None
        pods = [p for p in self.pods.list() if p.metadata.namespace == ns and selects(pdb, p)]
        out = with_status(pdb, budget_status(pdb, pods, scale=self._scale, now=clock.now()))
        if out is not None:
            try:
                await self.api.update_status(out)
            except (Conflict, NotFound):
                return Result(requeue_after=0.1)  # changed meanwhile (an eviction spent it): again
        return Result(requeue_after=RECHECK_S) if (out or pdb).status.disrupted_pods else None
