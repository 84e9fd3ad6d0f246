"""Job controller: the thin shell around `jobs.plan_job`."""

from __future__ import annotations

from typing import Any

from orchestrator.client.events import EventRecorder
from orchestrator.client.informers import Informer, object_key
from orchestrator.controllers import clock
from orchestrator.controllers.actions import apply_and_observe
from orchestrator.controllers.informing import SharedInformers
from orchestrator.controllers.jobs import plan_job, selector_of
from orchestrator.controllers.owners import controller_ref
from orchestrator.controllers.replicaset_controller import labels_or_owners_changed, split_key
from orchestrator.controllers.runner import Result, Watch
from orchestrator.controllers.settings import ControllerSettings
from orchestrator.model.api import ObjectAPI


def _pod_changed(old: Any, new: Any) -> bool:
    return labels_or_owners_changed(old, new) or old.status.container_statuses != new.status.container_statuses


class JobController:
    name = "job"

    def __init__(self, *, api: ObjectAPI, informers: SharedInformers, settings: ControllerSettings,
                 recorder: EventRecorder) -> None:
        self.api, self.settings, self.recorder = api, settings, recorder
        self.workers, self.resync_s = settings.workers, settings.resync_s
        self.jobs: Informer = informers.jobs
        self.pods: Informer = informers.pods

    def primary(self) -> Informer:
        return self.jobs

    def watches(self) -> list[Watch]:
        return [Watch(self.jobs, keys=lambda j: [object_key(j)]),
                Watch(self.pods, keys=self._pod_keys, relevant=_pod_changed)]

    def _pod_keys(self, pod: Any) -> list[str]:
        ref = controller_ref(pod)
        ns = pod.metadata.namespace
        if ref is not None:
            return [f"{ns}/{ref.name}"] if ref.kind == "Job" else []
        return [object_key(j) for j in self.jobs.list()
                if j.metadata.namespace == ns and selector_of(j).matches(pod.metadata.labels)]

    async def reconcile(self, key: str) -> Result | None:
        ns, name = split_key(key)
        job = self.jobs.get(name, ns)
        if job is None:
            return None
        plan = plan_job(job, owned=self.pods.by_index("controller", job.metadata.uid),
                        orphans=self.pods.by_index("orphan", ns), now=clock.now(), burst=self.settings.burst,
                        backoff_s=self.settings.job_backoff_s, backoff_max_s=self.settings.job_backoff_max_s)
        await apply_and_observe(self.api, self.recorder, plan.actions, caches={"Pod": self.pods, "Job": self.jobs},
                                timeout=self.settings.observe_timeout_s)
        return Result(requeue_after=plan.requeue_after) if plan.requeue_after is not None else None
