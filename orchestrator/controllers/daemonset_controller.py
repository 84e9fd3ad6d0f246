"""DaemonSet controller: the thin shell around `daemonsets.plan_daemonset`; any node change
(joining, leaving, labels, taints) reconciles every DaemonSet."""

from __future__ import annotations

from typing import Any

from orchestrator.client.events import EventRecorder
from orchestrator.client.informers import Informer, object_key
from orchestrator.controllers import clock
from orchestrator.controllers.actions import apply_and_observe
from orchestrator.controllers.daemonsets import plan_daemonset, selector_of
from orchestrator.controllers.informing import SharedInformers
from orchestrator.controllers.owners import controller_ref
from orchestrator.controllers.replicaset_controller import labels_or_owners_changed, split_key
from orchestrator.controllers.runner import Result, Watch
from orchestrator.controllers.settings import ControllerSettings
from orchestrator.model.api import ObjectAPI


def _node_changed(old: Any, new: Any) -> bool:
    return (old.metadata.labels != new.metadata.labels or old.spec.taints != new.spec.taints
            or old.metadata.deletion_timestamp != new.metadata.deletion_timestamp)


class DaemonSetController:
    name = "daemonset"

    def __init__(self, *, api: ObjectAPI, informers: SharedInformers, settings: ControllerSettings,
                 recorder: EventRecorder) -> None:
        self.api, self.settings, self.recorder = api, settings, recorder
        self.workers, self.resync_s = settings.workers, settings.resync_s
        self.daemonsets: Informer = informers.daemonsets
        self.nodes: Informer = informers.nodes
        self.pods: Informer = informers.pods

    def primary(self) -> Informer:
        return self.daemonsets

    def watches(self) -> list[Watch]:
        return [Watch(self.daemonsets, keys=lambda ds: [object_key(ds)]),
                Watch(self.nodes, keys=lambda _n: [object_key(ds) for ds in self.daemonsets.list()],
                      relevant=_node_changed),
                Watch(self.pods, keys=self._pod_keys, relevant=labels_or_owners_changed)]

    def _pod_keys(self, pod: Any) -> list[str]:
        ref = controller_ref(pod)
        ns = pod.metadata.namespace
        if ref is not None:
            return [f"{ns}/{ref.name}"] if ref.kind == "DaemonSet" else []
        return [object_key(ds) for ds in self.daemonsets.list()
                if ds.metadata.namespace == ns and selector_of(ds).matches(pod.metadata.labels)]

    async def reconcile(self, key: str) -> Result | None:
        ns, name = split_key(key)
        ds = self.daemonsets.get(name, ns)
        if ds is None:
            return None
        plan = plan_daemonset(ds, nodes=self.nodes.list(), owned=self.pods.by_index("controller", ds.metadata.uid),
                              orphans=self.pods.by_index("orphan", ns), now=clock.now())
        await apply_and_observe(self.api, self.recorder, plan.actions,
                                caches={"Pod": self.pods, "DaemonSet": self.daemonsets},
                                timeout=self.settings.observe_timeout_s)
        return Result(requeue_after=plan.requeue_after) if plan.requeue_after is not None else None
