"""Defaulting and admission: `apply_defaults(kind_name, obj)` fills in what Kubernetes would.

It mutates a freshly decoded object (never one from the store or a cache), is
idempotent (a second call changes nothing), and never raises on bad input: validation
reports that. Defaults match Kubernetes' so controllers can rely on the fields being
set: Pod restartPolicy Always, terminationGracePeriodSeconds 30, dnsPolicy
ClusterFirst, schedulerName default-scheduler, imagePullPolicy by tag, port protocol
TCP, probe timings 10s/1s/1/3; Deployment replicas 1, RollingUpdate 25%/25%,
revisionHistoryLimit 10, progressDeadlineSeconds 600; ReplicaSet replicas 1;
DaemonSet RollingUpdate maxUnavailable 1 / maxSurge 0; Job completions and parallelism
1, backoffLimit 6, completionMode NonIndexed and, without `manualSelector`, a generated
selector (call it after the name, and ideally the uid, are assigned).

GPU admission (orch): a pod spec (a Pod's or a template's) whose containers ask for
`nvidia.com/gpu` gets the toleration `nvidia.com/gpu:NoSchedule` (operator Exists)
unless it already tolerates that taint.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from orchestrator.model.apps import (
    DaemonSet,
    DaemonSetUpdateStrategy,
    Deployment,
    DeploymentStrategy,
    ReplicaSet,
    RollingUpdate,
)
from orchestrator.model.batch import (
    CONTROLLER_UID_LABEL,
    JOB_NAME_LABEL,
    LEGACY_CONTROLLER_UID_LABEL,
    LEGACY_JOB_NAME_LABEL,
    Job,
)
from orchestrator.model.cluster import Namespace
from orchestrator.model.config import SECRET_TYPE_OPAQUE, Secret
from orchestrator.model.containers import Container, Probe
from orchestrator.model.gpus import GPU_RESOURCE, GPU_TAINT_EFFECT, GPU_TAINT_KEY
from orchestrator.model.pods import Pod, PodSpec, Toleration
from orchestrator.model.quantities import parse_quantity
from orchestrator.model.resources import qos_class
from orchestrator.model.templates import LabelSelector

__all__ = ["apply_defaults", "default_pod_spec", "admit_gpu_toleration", "wants_gpu", "image_pull_policy"]

DEFAULT_SCHEDULER = "default-scheduler"
DEFAULT_GRACE_SECONDS = 30
DEFAULT_PERCENT = "25%"


def apply_defaults(kind_name: str, obj: Any) -> None:
    if (fn := _BY_KIND.get(kind_name)) is not None:
        fn(obj)


# --- pod specs ------------------------------------------------------------------------------

def image_pull_policy(image: str) -> str:
    """Always for `:latest` or no tag, IfNotPresent for a tag or a digest."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    _, colon, tag = last.partition(":")
    return "Always" if not colon or tag == "latest" else "IfNotPresent"


def _probe(probe: Probe | None) -> None:
    if probe is None:
        return
    if probe.period_seconds is None:
        probe.period_seconds = 10
    if probe.timeout_seconds is None:
        probe.timeout_seconds = 1
    if probe.success_threshold is None:
        probe.success_threshold = 1
    if probe.failure_threshold is None:
        probe.failure_threshold = 3
    if probe.http_get is not None:
        probe.http_get.scheme = probe.http_get.scheme or "HTTP"
        probe.http_get.path = probe.http_get.path or "/"


def _container(c: Container) -> None:
    if not c.image_pull_policy and c.image:
        c.image_pull_policy = image_pull_policy(c.image)
    for port in c.ports:
        if not port.protocol:
            port.protocol = "TCP"
    _probe(c.liveness_probe)
    _probe(c.readiness_probe)
    _probe(c.startup_probe)


def wants_gpu(spec: PodSpec) -> bool:
    """True when any container asks for more than zero `nvidia.com/gpu`."""
    for c in (*spec.containers, *spec.init_containers):
        res = c.resources
        if res is None:
            continue
        for amounts in (res.limits, res.requests):
            q = amounts.get(GPU_RESOURCE)
            if q is not None:
                try:
                    if parse_quantity(q) > 0:
                        return True
                except ValueError:
                    continue
    return False


def _tolerates_gpu_taint(tol: Toleration) -> bool:
    if tol.effect not in ("", GPU_TAINT_EFFECT):
        return False
    return tol.operator == "Exists" and tol.key in ("", GPU_TAINT_KEY)


def admit_gpu_toleration(spec: PodSpec) -> bool:
    """Add the GPU toleration to a spec that asks for GPUs; True when it was added."""
    if not wants_gpu(spec) or any(_tolerates_gpu_taint(t) for t in spec.tolerations):
        return False
    spec.tolerations.append(Toleration(key=GPU_TAINT_KEY, operator="Exists", effect=GPU_TAINT_EFFECT))
    return True


def default_pod_spec(spec: PodSpec, *, restart_policy: str | None = "Always") -> None:
    """Pod spec defaults (also for templates); `restart_policy=None` leaves it unset (Jobs)."""
    if not spec.restart_policy and restart_policy:
        spec.restart_policy = restart_policy
    if spec.termination_grace_period_seconds is None:
        spec.termination_grace_period_seconds = DEFAULT_GRACE_SECONDS
    if not spec.dns_policy:
        spec.dns_policy = "ClusterFirst"
    if not spec.scheduler_name:
        spec.scheduler_name = DEFAULT_SCHEDULER
    for c in spec.containers:
        _container(c)
    for c in spec.init_containers:
        _container(c)
    admit_gpu_toleration(spec)


def _pod(pod: Pod) -> None:
    default_pod_spec(pod.spec)
    for c in (*pod.spec.containers, *pod.spec.init_containers):
        res = c.resources
        if res is not None and res.limits:  # requests default to limits, as Kubernetes does for pods
            for name, q in res.limits.items():
                res.requests.setdefault(name, q)
    if not pod.status.phase:
        pod.status.phase = "Pending"
    if not pod.status.qos_class:
        pod.status.qos_class = qos_class(pod.spec)


# --- workloads ------------------------------------------------------------------------------

def _deployment(obj: Deployment) -> None:
    spec = obj.spec
    if spec.replicas is None:
        spec.replicas = 1
    if spec.strategy is None:
        spec.strategy = DeploymentStrategy()
    st = spec.strategy
    if not st.type:
        st.type = "RollingUpdate"
    if st.type == "RollingUpdate":
        ru = st.rolling_update = st.rolling_update or RollingUpdate()
        if ru.max_surge is None:
            ru.max_surge = DEFAULT_PERCENT
        if ru.max_unavailable is None:
            ru.max_unavailable = DEFAULT_PERCENT
    if spec.revision_history_limit is None:
        spec.revision_history_limit = 10
    if spec.progress_deadline_seconds is None:
        spec.progress_deadline_seconds = 600
    default_pod_spec(spec.template.spec)


def _replicaset(obj: ReplicaSet) -> None:
    if obj.spec.replicas is None:
        obj.spec.replicas = 1
    default_pod_spec(obj.spec.template.spec)


def _daemonset(obj: DaemonSet) -> None:
    spec = obj.spec
    if spec.update_strategy is None:
        spec.update_strategy = DaemonSetUpdateStrategy()
    st = spec.update_strategy
    if not st.type:
        st.type = "RollingUpdate"
    if st.type == "RollingUpdate":
        ru = st.rolling_update = st.rolling_update or RollingUpdate()
        if ru.max_unavailable is None:
            ru.max_unavailable = 1
        if ru.max_surge is None:
            ru.max_surge = 0
    if spec.revision_history_limit is None:
        spec.revision_history_limit = 10
    default_pod_spec(spec.template.spec)


def _job(obj: Job) -> None:
    spec = obj.spec
    if spec.completions is None and spec.parallelism is None:
        spec.completions = 1
    if spec.parallelism is None:
        spec.parallelism = 1
    if spec.backoff_limit is None:
        spec.backoff_limit = 6
    if not spec.completion_mode:
        spec.completion_mode = "NonIndexed"
    if not spec.manual_selector and spec.selector is None:
        _job_selector(obj)
    default_pod_spec(spec.template.spec, restart_policy=None)


def _job_selector(obj: Job) -> None:
    name, uid = obj.metadata.name, obj.metadata.uid
    labels = obj.spec.template.metadata.labels
    if name and len(name) <= 63:
        labels.setdefault(JOB_NAME_LABEL, name)
        labels.setdefault(LEGACY_JOB_NAME_LABEL, name)
    if uid:
        labels.setdefault(CONTROLLER_UID_LABEL, uid)
        labels.setdefault(LEGACY_CONTROLLER_UID_LABEL, uid)
        obj.spec.selector = LabelSelector(match_labels={CONTROLLER_UID_LABEL: uid})
    elif JOB_NAME_LABEL in labels:
        obj.spec.selector = LabelSelector(match_labels={JOB_NAME_LABEL: labels[JOB_NAME_LABEL]})


# --- cluster and config -----------------------------------------------------------------------

def _namespace(obj: Namespace) -> None:
    if not obj.status.phase:
        obj.status.phase = "Active"


def _secret(obj: Secret) -> None:
    if not obj.type:
        obj.type = SECRET_TYPE_OPAQUE
    if obj.string_data:  # write-only: folded into data, never stored
        for key, value in obj.string_data.items():
            obj.data[key] = base64.b64encode(value.encode()).decode()
        obj.string_data = {}


_BY_KIND: dict[str, Callable[[Any], None]] = {
    "Pod": _pod,
    "Deployment": _deployment,
    "ReplicaSet": _replicaset,
    "DaemonSet": _daemonset,
    "Job": _job,
    "Namespace": _namespace,
    "Secret": _secret,
}
