"""ReplicaSet controller: the thin shell around `replicasets.plan_replicaset`."""

from __future__ import annotations

from typing import Any

from orchestrator.client.events import EventRecorder
from orchestrator.client.informers import Informer, object_key
from orchestrator.controllers import clock
from orchestrator.controllers.actions import apply_and_observe
from orchestrator.controllers.informing import SharedInformers
from orchestrator.controllers.owners import controller_ref
from orchestrator.controllers.replicasets import plan_replicaset, selector_of
from orchestrator.controllers.runner import Result, Watch
from orchestrator.controllers.settings import ControllerSettings
from orchestrator.model.api import ObjectAPI


def split_key(key: str) -> tuple[str, str]:
    ns, _, name = key.rpartition("/")
    return ns, name


def labels_or_owners_changed(old: Any, new: Any) -> bool:
    """A pod update that may change who owns it or whether it counts (not its every status write)."""
    o, n = old.metadata, new.metadata
    return (o.labels != n.labels or o.owner_references != n.owner_references
            or o.deletion_timestamp != n.deletion_timestamp or old.status.phase != new.status.phase
            or old.status.conditions != new.status.conditions or old.spec.node_name != new.spec.node_name)


class ReplicaSetController:
    name = "replicaset"

    def __init__(self, *, api: ObjectAPI, informers: SharedInformers, settings: ControllerSettings,
                 recorder: EventRecorder) -> None:
        self.api, self.settings, self.recorder = api, settings, recorder
        self.workers, self.resync_s = settings.workers, settings.resync_s
        self.rs: Informer = informers.replicasets
        self.pods: Informer = informers.pods

    def primary(self) -> Informer:
        return self.rs

    def watches(self) -> list[Watch]:
        return [Watch(self.rs, keys=lambda rs: [object_key(rs)]),
                Watch(self.pods, keys=self._pod_keys, relevant=labels_or_owners_changed)]

    def _pod_keys(self, pod: Any) -> list[str]:
        ref = controller_ref(pod)
        ns = pod.metadata.namespace
        if ref is not None:
            return [f"{ns}/{ref.name}"] if ref.kind == "ReplicaSet" else []
        return [object_key(rs) for rs in self.rs.list()
                if rs.metadata.namespace == ns and selector_of(rs).matches(pod.metadata.labels)]

    async def reconcile(self, key: str) -> Result | None:
        ns, name = split_key(key)
        rs = self.rs.get(name, ns)
        if rs is None:
            return None
        owned = self.pods.by_index("controller", rs.metadata.uid)
        orphans = self.pods.by_index("orphan", ns)
        plan = plan_replicaset(rs, owned=owned, orphans=orphans, now=clock.now(), burst=self.settings.burst)
        await apply_and_observe(self.api, self.recorder, plan.actions, caches={"Pod": self.pods, "ReplicaSet": self.rs},
                                timeout=self.settings.observe_timeout_s)
        return Result(requeue_after=plan.requeue_after) if plan.requeue_after is not None else None
