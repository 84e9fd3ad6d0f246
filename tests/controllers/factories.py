"""Objects as the controllers see them in a cache: defaulted, with uid, resourceVersion and
timestamps. Valid by default; `make_x(**overrides)` changes what a test cares about."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from orchestrator.controllers.clock import format_time
from orchestrator.controllers.owners import controller_ref_to
from orchestrator.model import defaults
from orchestrator.model.apps import DaemonSet, Deployment, ReplicaSet
from orchestrator.model.base import Condition, ObjectMeta, OwnerReference
from orchestrator.model.batch import Job
from orchestrator.model.containers import Container, ContainerStatus
from orchestrator.model.nodes import Node, Taint
from orchestrator.model.pods import Pod, PodSpec, Toleration
from orchestrator.model.templates import LabelSelector, PodTemplateSpec

_rv = itertools.count(100)
NOW = 1_700_000_000.0


def meta(name: str, *, namespace: str = "default", labels: dict[str, str] | None = None, created: float = NOW - 100,
         owners: list[OwnerReference] | None = None, **more: Any) -> ObjectMeta:
    return ObjectMeta(name=name, namespace=namespace, uid=str(uuid.uuid4()), resource_version=str(next(_rv)),
                      generation=1, creation_timestamp=format_time(created), labels=dict(labels or {}),
                      owner_references=list(owners or []), **more)


def template(image: str = "nginx:1.25", *, labels: dict[str, str] | None = None, **spec: Any) -> PodTemplateSpec:
    t = PodTemplateSpec(metadata=ObjectMeta(labels=dict(labels or {"app": "web"})),
                        spec=PodSpec(containers=[Container(name="main", image=image)], **spec))
    defaults.default_pod_spec(t.spec)
    return t


def make_rs(name: str = "web-abc", *, replicas: int = 3, labels: dict[str, str] | None = None, **more: Any) -> ReplicaSet:
    labels = labels or {"app": "web"}
    rs = ReplicaSet(api_version="apps/v1", kind="ReplicaSet", metadata=meta(name, labels=labels, **more))
    rs.spec.replicas = replicas
    rs.spec.selector = LabelSelector(match_labels=dict(labels))
    rs.spec.template = template(labels=labels)
    return rs


def make_deployment(name: str = "web", *, replicas: int = 5, image: str = "nginx:1.25", surge: Any = None,
                    unavailable: Any = None, strategy: str = "RollingUpdate", **more: Any) -> Deployment:
    d = Deployment(api_version="apps/v1", kind="Deployment", metadata=meta(name, labels={"app": name}, **more))
    d.spec.replicas = replicas
    d.spec.selector = LabelSelector(match_labels={"app": name})
    d.spec.template = template(image, labels={"app": name})
    defaults.apply_defaults("Deployment", d)
    d.spec.strategy.type = strategy  # type: ignore[union-attr]
    if strategy == "RollingUpdate":
        ru = d.spec.strategy.rolling_update  # type: ignore[union-attr]
        assert ru is not None
        ru.max_surge = ru.max_surge if surge is None else surge
        ru.max_unavailable = ru.max_unavailable if unavailable is None else unavailable
    else:
        d.spec.strategy.rolling_update = None  # type: ignore[union-attr]
    return d


def make_job(name: str = "pi", *, completions: int | None = 4, parallelism: int = 2, backoff: int = 6,
             restart: str = "Never", **spec: Any) -> Job:
    job = Job(api_version="batch/v1", kind="Job", metadata=meta(name))
    job.spec.completions = completions
    job.spec.parallelism = parallelism
    job.spec.backoff_limit = backoff
    job.spec.template = template("perl", labels={}, restart_policy=restart)
    for k, v in spec.items():
        setattr(job.spec, k, v)
    defaults.apply_defaults("Job", job)
    return job


def make_ds(name: str = "agent", **spec: Any) -> DaemonSet:
    ds = DaemonSet(api_version="apps/v1", kind="DaemonSet", metadata=meta(name, labels={"app": name}))
    ds.spec.selector = LabelSelector(match_labels={"app": name})
    ds.spec.template = template("agent", labels={"app": name}, **spec)
    defaults.apply_defaults("DaemonSet", ds)
    return ds


def make_node(name: str, *, ready: str | None = "True", labels: dict[str, str] | None = None,
              taints: list[Taint] | None = None, reason: str = "KubeletReady") -> Node:
    node = Node(api_version="v1", kind="Node", metadata=meta(name, namespace="", labels=labels))
    node.spec.taints = list(taints or [])
    if ready is not None:
        node.status.conditions = [Condition(type="Ready", status=ready, reason=reason,
                                            last_transition_time=format_time(NOW - 50))]
    return node


def make_pod(name: str, *, owner: Any | None = None, phase: str = "Running", ready: bool = True, node: str = "n1",
             labels: dict[str, str] | None = None, ready_since: float = NOW - 60, deleting: bool = False,
             created: float = NOW - 100, restarts: int = 0, tolerations: list[Toleration] | None = None) -> Pod:
    if labels is None:
        labels = dict(owner.spec.template.metadata.labels) if owner is not None else {"app": "web"}
    m = meta(name, labels=labels, created=created, owners=[controller_ref_to(owner)] if owner is not None else [])
    if deleting:
        m.deletion_timestamp = format_time(NOW - 1)
    pod = Pod(api_version="v1", kind="Pod", metadata=m,
              spec=PodSpec(containers=[Container(name="main", image="x")], node_name=node,
                           tolerations=list(tolerations or [])))
    pod.status.phase = phase
    if phase == "Running":
        pod.status.conditions = [Condition(type="Ready", status="True" if ready else "False",
                                           last_transition_time=format_time(ready_since))]
    pod.status.container_statuses = [ContainerStatus(name="main", image="x", image_id="", ready=ready,
                                                     restart_count=restarts)]
    return pod
