"""When is an applied object "up"? One pure function per kind, for `orch apply --wait`.

    readiness(kind, obj) -> Readiness(done, failed, progress)

Deployments: the new template rolled out and every replica available; ReplicaSets and
DaemonSets: all ready/available; Jobs: Complete (Failed is a failure); Pods: Running and
Ready, or Succeeded (Failed is a failure); every other kind is ready once it exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Readiness:
    done: bool
    failed: str = ""
    progress: str = ""


def _condition(obj: Any, type_: str) -> Any:
    return next((c for c in getattr(obj.status, "conditions", None) or [] if c.type == type_), None)


def readiness(kind: str, obj: Any) -> Readiness:
    fn = _BY_KIND.get(kind)
    return fn(obj) if fn else Readiness(done=True, progress="created")


def _deployment(obj: Any) -> Readiness:
    want = obj.spec.replicas if obj.spec.replicas is not None else 1
    st = obj.status
    stalled = _condition(obj, "Progressing")
    if stalled is not None and stalled.reason == "ProgressDeadlineExceeded":
        return Readiness(done=False, failed=f"progress deadline exceeded: {stalled.message}")
    observed = (st.observed_generation or 0) >= obj.metadata.generation
    updated, available = st.updated_replicas or 0, st.available_replicas or 0
    done = observed and updated == want and available == want and (st.replicas or 0) == want
    return Readiness(done=done, progress=f"{available}/{want} available, {updated} up to date")


def _replicaset(obj: Any) -> Readiness:
    want = obj.spec.replicas if obj.spec.replicas is not None else 1
    ready = obj.status.ready_replicas or 0
    return Readiness(done=ready == want, progress=f"{ready}/{want} ready")


def _daemonset(obj: Any) -> Readiness:
    st = obj.status
    want, available = st.desired_number_scheduled or 0, st.number_available or 0
    observed = (st.observed_generation or 0) >= obj.metadata.generation
    return Readiness(done=observed and available == want, progress=f"{available}/{want} available")


def _job(obj: Any) -> Readiness:
    want = obj.spec.completions if obj.spec.completions is not None else 1
    done = obj.status.succeeded or 0
    failed = _condition(obj, "Failed")
    if failed is not None and failed.status == "True":
        return Readiness(done=False, failed=f"{failed.reason}: {failed.message}")
    complete = _condition(obj, "Complete")
    return Readiness(done=complete is not None and complete.status == "True", progress=f"{done}/{want} completions")


def _pod(obj: Any) -> Readiness:
    phase = obj.status.phase or "Pending"
    if phase == "Failed":
        return Readiness(done=False, failed=obj.status.message or obj.status.reason or "the pod failed")
    if phase == "Succeeded":
        return Readiness(done=True, progress="Succeeded")
    ready = _condition(obj, "Ready")
    waiting = next((cs.state.waiting.reason for cs in obj.status.container_statuses or []
                    if cs.state.waiting is not None and cs.state.waiting.reason), "")
    return Readiness(done=phase == "Running" and ready is not None and ready.status == "True",
                     progress=waiting or phase)


_BY_KIND = {"Deployment": _deployment, "ReplicaSet": _replicaset, "DaemonSet": _daemonset, "Job": _job, "Pod": _pod}
