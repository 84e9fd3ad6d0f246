"""What controllers ask of pods (pure): active, ready, available, which to delete first, and
making one from a template."""

from __future__ import annotations

from typing import Any

from orchestrator.controllers.clock import parse_time
from orchestrator.model.base import ObjectMeta, OwnerReference, clone
from orchestrator.model.pods import Pod
from orchestrator.model.templates import PodTemplateSpec

FINISHED = ("Succeeded", "Failed")
_PHASE_RANK = {"Pending": 0, "": 0, "Unknown": 1, "Running": 2}


def is_terminating(pod: Pod) -> bool:
    return pod.metadata.deletion_timestamp is not None


def is_finished(pod: Pod) -> bool:
    return pod.status.phase in FINISHED


def is_active(pod: Pod) -> bool:
    """Counts toward replicas: not being deleted and not finished."""
    return not is_terminating(pod) and not is_finished(pod)


def ready_since(pod: Pod) -> float | None:
    """When the pod became Ready (epoch seconds), or None while it is not Ready."""
    for c in pod.status.conditions:
        if c.type == "Ready":
            if c.status != "True":
                return None
            return parse_time(c.last_transition_time) or 0.0
    return None


def is_ready(pod: Pod) -> bool:
    return pod.status.phase == "Running" and ready_since(pod) is not None


def is_available(pod: Pod, *, min_ready_seconds: int, now: float) -> bool:
    if not is_ready(pod):
        return False
    if min_ready_seconds <= 0:
        return True
    since = ready_since(pod) or 0.0
    return since + min_ready_seconds <= now


def available_in(pod: Pod, *, min_ready_seconds: int, now: float) -> float | None:
    """Seconds until a ready pod becomes available (None: not ready, or already available)."""
    since = ready_since(pod) if is_ready(pod) else None
    if since is None or min_ready_seconds <= 0:
        return None
    left = since + min_ready_seconds - now
    return left if left > 0 else None


def restarts(pod: Pod) -> int:
    return sum(cs.restart_count for cs in (*pod.status.container_statuses, *pod.status.init_container_statuses))


def deletion_rank(pod: Pod) -> tuple[Any, ...]:
    """Sort key: pods to delete first come first (kubernetes' ActivePods order).

    Unscheduled before scheduled, Pending before Unknown before Running, not ready
    before ready, ready for less time first, more restarts first, newer first."""
    since = ready_since(pod) if pod.status.phase == "Running" else None
    created = parse_time(pod.metadata.creation_timestamp) or 0.0
    return (bool(pod.spec.node_name), _PHASE_RANK.get(pod.status.phase, 0), since is not None,
            -(since or 0.0), -restarts(pod), -created, pod.metadata.name)


def pod_from_template(template: PodTemplateSpec, *, namespace: str, generate_name: str, owner: OwnerReference,
                      labels: dict[str, str] | None = None, node_name: str = "") -> Pod:
    t = clone(template)
    meta = ObjectMeta(generate_name=generate_name, namespace=namespace,
                      labels={**t.metadata.labels, **(labels or {})}, annotations=dict(t.metadata.annotations),
                      owner_references=[owner], finalizers=list(t.metadata.finalizers))
    pod = Pod(api_version="v1", kind="Pod", metadata=meta, spec=t.spec)
    if node_name:
        pod.spec.node_name = node_name
    return pod
