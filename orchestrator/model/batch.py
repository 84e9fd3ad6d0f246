"""batch/v1 Job.

Unless `manualSelector: true`, the selector and the matching template labels are
generated at creation (`defaults.py`: `batch.kubernetes.io/job-name` and, once the uid
is known, `batch.kubernetes.io/controller-uid`), as Kubernetes does. The template's
restartPolicy must be OnFailure or Never.
"""

from __future__ import annotations

from typing import Any

import msgspec

from orchestrator.model.base import Condition, Object, Spec
from orchestrator.model.templates import LabelSelector, PodTemplateSpec

__all__ = ["Job", "JobSpec", "JobStatus", "LabelSelector", "PodTemplateSpec"]

Loose = dict[str, Any]

JOB_NAME_LABEL = "batch.kubernetes.io/job-name"
CONTROLLER_UID_LABEL = "batch.kubernetes.io/controller-uid"
LEGACY_JOB_NAME_LABEL = "job-name"
LEGACY_CONTROLLER_UID_LABEL = "controller-uid"
COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index"


class JobSpec(Spec):
    parallelism: int | None = None
    completions: int | None = None
    active_deadline_seconds: int | None = None
    pod_failure_policy: Loose | None = None
    success_policy: Loose | None = None
    backoff_limit: int | None = None
    backoff_limit_per_index: int | None = None
    max_failed_indexes: int | None = None
    selector: LabelSelector | None = None
    manual_selector: bool | None = None
    template: PodTemplateSpec = msgspec.field(default_factory=PodTemplateSpec)
    ttl_seconds_after_finished: int | None = None
    completion_mode: str = ""  # NonIndexed (default) | Indexed
    suspend: bool | None = None
    pod_replacement_policy: str | None = None
    managed_by: str | None = None


class JobStatus(Spec):
    conditions: list[Condition] = msgspec.field(default_factory=list)  # Complete | Failed | Suspended | ...
    start_time: str | None = None
    completion_time: str | None = None
    active: int = 0
    succeeded: int = 0
    failed: int = 0
    terminating: int | None = None
    ready: int | None = None
    completed_indexes: str = ""
    failed_indexes: str | None = None
    uncounted_terminated_pods: Loose | None = None
    observed_generation: int | None = None


class Job(Object):
    spec: JobSpec = msgspec.field(default_factory=JobSpec)
    status: JobStatus = msgspec.field(default_factory=JobStatus)
