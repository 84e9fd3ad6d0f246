"""apps/v1 Deployment, ReplicaSet, DaemonSet, and autoscaling/v1 Scale.

Fields Kubernetes defaults (replicas, strategy, revisionHistoryLimit, ...) are `None`
when unset so `defaults.py` can tell "unset" from "set to 0"; after defaulting they are
filled in. `maxSurge` / `maxUnavailable` are an int or a percentage string ("25%").
"""

from __future__ import annotations

import msgspec

from orchestrator.model.base import Condition, Object, Spec
from orchestrator.model.templates import LabelSelector, LabelSelectorRequirement, PodTemplateSpec

__all__ = [
    "DaemonSet", "DaemonSetSpec", "DaemonSetStatus", "DaemonSetUpdateStrategy", "Deployment",
    "DeploymentSpec", "DeploymentStatus", "DeploymentStrategy", "LabelSelector",
    "LabelSelectorRequirement", "PodTemplateSpec", "ReplicaSet", "ReplicaSetSpec",
    "ReplicaSetStatus", "RollingUpdate", "Scale", "ScaleSpec", "ScaleStatus",
]

IntOrString = int | str


class RollingUpdate(Spec):
    """Deployment's rollingUpdate (and DaemonSet's, where maxSurge defaults to 0)."""

    max_surge: IntOrString | None = None
    max_unavailable: IntOrString | None = None


class DeploymentStrategy(Spec):
    type: str = ""  # RollingUpdate (default) | Recreate
    rolling_update: RollingUpdate | None = None


class DeploymentSpec(Spec):
    replicas: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec = msgspec.field(default_factory=PodTemplateSpec)
    strategy: DeploymentStrategy | None = None
    min_ready_seconds: int = 0
    revision_history_limit: int | None = None
    progress_deadline_seconds: int | None = None
    paused: bool = False


class DeploymentStatus(Spec):
    observed_generation: int = 0
    replicas: int = 0
    updated_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    unavailable_replicas: int = 0
    terminating_replicas: int | None = None
    conditions: list[Condition] = msgspec.field(default_factory=list)
    collision_count: int | None = None


class Deployment(Object):
    spec: DeploymentSpec = msgspec.field(default_factory=DeploymentSpec)
    status: DeploymentStatus = msgspec.field(default_factory=DeploymentStatus)


class ReplicaSetSpec(Spec):
    replicas: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec = msgspec.field(default_factory=PodTemplateSpec)
    min_ready_seconds: int = 0


class ReplicaSetStatus(Spec):
    replicas: int = 0
    fully_labeled_replicas: int = 0
    ready_replicas: int = 0
    available_replicas: int = 0
    terminating_replicas: int | None = None
    observed_generation: int = 0
    conditions: list[Condition] = msgspec.field(default_factory=list)


class ReplicaSet(Object):
    spec: ReplicaSetSpec = msgspec.field(default_factory=ReplicaSetSpec)
    status: ReplicaSetStatus = msgspec.field(default_factory=ReplicaSetStatus)


class DaemonSetUpdateStrategy(Spec):
    type: str = ""  # RollingUpdate (default) | OnDelete
    rolling_update: RollingUpdate | None = None


class DaemonSetSpec(Spec):
    selector: LabelSelector | None = None
    template: PodTemplateSpec = msgspec.field(default_factory=PodTemplateSpec)
    update_strategy: DaemonSetUpdateStrategy | None = None
    min_ready_seconds: int = 0
    revision_history_limit: int | None = None


class DaemonSetStatus(Spec):
    current_number_scheduled: int = 0
    number_misscheduled: int = 0
    desired_number_scheduled: int = 0
    number_ready: int = 0
    observed_generation: int = 0
    updated_number_scheduled: int = 0
    number_available: int = 0
    number_unavailable: int = 0
    collision_count: int | None = None
    conditions: list[Condition] = msgspec.field(default_factory=list)


class DaemonSet(Object):
    spec: DaemonSetSpec = msgspec.field(default_factory=DaemonSetSpec)
    status: DaemonSetStatus = msgspec.field(default_factory=DaemonSetStatus)


class ScaleSpec(Spec):
    replicas: int = 0


class ScaleStatus(Spec):
    replicas: int = 0
    selector: str = ""  # the label selector as a string (`app=web,tier in (a,b)`)


class Scale(Object):
    """autoscaling/v1 Scale: the `/scale` subresource of Deployment and ReplicaSet."""

    spec: ScaleSpec = msgspec.field(default_factory=ScaleSpec)
    status: ScaleStatus = msgspec.field(default_factory=ScaleStatus)
