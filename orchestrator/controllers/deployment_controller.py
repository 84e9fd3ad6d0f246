"""Deployment controller: the thin shell around `deployments.plan_deployment`.

It reads pods as well as ReplicaSets, so availability is counted from the pods
themselves rather than from ReplicaSet status (which lags one write behind)."""

from __future__ import annotations

from typing import Any

from orchestrator.client.events import EventRecorder
from orchestrator.client.informers import Informer, object_key
from orchestrator.controllers import clock
from orchestrator.controllers.actions import apply_and_observe
from orchestrator.controllers.deployments import new_replicaset, plan_deployment, selector_of
from orchestrator.controllers.informing import SharedInformers
from orchestrator.controllers.owners import controller_ref
from orchestrator.controllers.replicaset_controller import labels_or_owners_changed, split_key
from orchestrator.controllers.rollouts import same_template
from orchestrator.controllers.runner import Result, Watch
from orchestrator.controllers.settings import ControllerSettings
from orchestrator.model.api import ObjectAPI
from orchestrator.model.base import clone
from orchestrator.model.errors import AlreadyExists


class DeploymentController:
    name = "deployment"

    def __init__(self, *, api: ObjectAPI, informers: SharedInformers, settings: ControllerSettings,
                 recorder: EventRecorder) -> None:
        self.api, self.settings, self.recorder = api, settings, recorder
        self.workers, self.resync_s = settings.workers, settings.resync_s
        self.deployments: Informer = informers.deployments
        self.rs: Informer = informers.replicasets
        self.pods: Informer = informers.pods

    def primary(self) -> Informer:
        return self.deployments

    def watches(self) -> list[Watch]:
        return [Watch(self.deployments, keys=lambda d: [object_key(d)]),
                Watch(self.rs, keys=self._rs_keys),
                Watch(self.pods, keys=self._pod_keys, relevant=labels_or_owners_changed)]

    def _rs_keys(self, rs: Any) -> list[str]:
        ref = controller_ref(rs)
        ns = rs.metadata.namespace
        if ref is not None:
            return [f"{ns}/{ref.name}"] if ref.kind == "Deployment" else []
        return [object_key(d) for d in self.deployments.list()
                if d.metadata.namespace == ns and selector_of(d).matches(rs.metadata.labels)]

    def _pod_keys(self, pod: Any) -> list[str]:
        ref = controller_ref(pod)
        if ref is None or ref.kind != "ReplicaSet":
            return []
        rs = self.rs.get(ref.name, pod.metadata.namespace)
        return self._rs_keys(rs) if rs is not None and controller_ref(rs) is not None else []

    async def reconcile(self, key: str) -> Result | None:
        ns, name = split_key(key)
        d = self.deployments.get(name, ns)
        if d is None:
            return None
        owned = self.rs.by_index("controller", d.metadata.uid)
        orphans = self.rs.by_index("orphan", ns)
        pods = {rs.metadata.uid: self.pods.by_index("controller", rs.metadata.uid) for rs in [*owned, *orphans]}
        plan = plan_deployment(d, owned=owned, orphans=orphans, pods=pods, now=clock.now())
        try:
            await apply_and_observe(self.api, self.recorder, plan.actions,
                                    caches={"ReplicaSet": self.rs, "Deployment": self.deployments},
                                    timeout=self.settings.observe_timeout_s)
        except AlreadyExists:
            await self._collided(d)
            return Result(requeue_after=0.05)
        return Result(requeue_after=plan.requeue_after) if plan.requeue_after is not None else None

    async def _collided(self, d: Any) -> None:
        """A ReplicaSet with the new one's name exists: ours (the cache lags: retry) or someone
        else's template (bump collisionCount so the next name differs)."""
        wanted = new_replicaset(d, replicas=0, revision=0).metadata.name
        existing = await self.api.get("ReplicaSet", wanted, namespace=d.metadata.namespace)
        ref = controller_ref(existing)
        if ref is not None and ref.uid == d.metadata.uid and same_template(existing.spec.template, d.spec.template):
            return
        out = clone(d)
        out.status.collision_count = (d.status.collision_count or 0) + 1
        await self.api.update_status(out)
