"""Deployment status and its Available / Progressing conditions (pure).

Progressing (with progressDeadlineSeconds): True NewReplicaSetCreated / FoundNewReplicaSet
/ ReplicaSetUpdated while it moves (lastUpdateTime bumps on progress), True
NewReplicaSetAvailable once complete, False ProgressDeadlineExceeded when no progress
was made for progressDeadlineSeconds; Unknown DeploymentPaused / DeploymentResumed.
Available: True MinimumReplicasAvailable when at least `replicas - maxUnavailable` are.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.controllers import pods as podutil
from orchestrator.controllers.clock import format_time, parse_time
from orchestrator.model.apps import Deployment, DeploymentStatus, ReplicaSet
from orchestrator.model.base import Condition
from orchestrator.model.pods import Pod

PROGRESSING, AVAILABLE = "Progressing", "Available"
NEW_RS_CREATED, FOUND_NEW_RS = "NewReplicaSetCreated", "FoundNewReplicaSet"
RS_UPDATED, NEW_RS_AVAILABLE = "ReplicaSetUpdated", "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
PAUSED, RESUMED = "DeploymentPaused", "DeploymentResumed"


@dataclass(slots=True)
class Counts:
    replicas: int = 0
    ready: int = 0
    available: int = 0


def count_pods(pods: list[Pod], *, min_ready_seconds: int, now: float) -> Counts:
    active = [p for p in pods if podutil.is_active(p)]
    return Counts(replicas=len(active), ready=sum(1 for p in active if podutil.is_ready(p)),
                  available=sum(1 for p in active if podutil.is_available(p, min_ready_seconds=min_ready_seconds,
                                                                          now=now)))


def get_condition(conditions: list[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def set_condition(conditions: list[Condition], new: Condition) -> list[Condition]:
    """Replace the condition of new's type; keep lastTransitionTime when status is unchanged,
    and leave it alone when status and reason are unchanged (kubernetes' SetDeploymentCondition)."""
    old = get_condition(conditions, new.type)
    if old is not None and old.status == new.status and old.reason == new.reason:
        return conditions
    if old is not None and old.status == new.status:
        new.last_transition_time = old.last_transition_time
    return [c for c in conditions if c.type != new.type] + [new]


def condition(type_: str, status: str, reason: str, message: str, now: float) -> Condition:
    t = format_time(now)
    return Condition(type=type_, status=status, reason=reason, message=message, last_update_time=t,
                     last_transition_time=t)


def is_complete(d: Deployment, st: DeploymentStatus) -> bool:
    want = d.spec.replicas or 0
    return (st.updated_replicas == want and st.replicas == want and st.available_replicas == want
            and st.observed_generation >= d.metadata.generation)


def _progressed(old: DeploymentStatus, new: DeploymentStatus) -> bool:
    return (new.updated_replicas > old.updated_replicas
            or new.replicas - new.updated_replicas < old.replicas - old.updated_replicas
            or new.ready_replicas > old.ready_replicas or new.available_replicas > old.available_replicas)


def deployment_status(d: Deployment, *, all_rs: list[ReplicaSet], new_rs: ReplicaSet | None,
                      counts: dict[str, Counts], spec_replicas: dict[str, int], max_unavailable: int,
                      conditions: list[Condition], now: float) -> DeploymentStatus:
    """The status after this pass; `conditions` are the current ones (already carrying any
    NewReplicaSetCreated set this pass)."""
    def c(rs: ReplicaSet) -> Counts:
        return counts.get(rs.metadata.uid, Counts())
    available = sum(c(rs).available for rs in all_rs)
    total = sum(spec_replicas.get(rs.metadata.name, rs.spec.replicas or 0) for rs in all_rs)
    st = DeploymentStatus(
        observed_generation=d.metadata.generation,
        replicas=sum(c(rs).replicas for rs in all_rs),
        updated_replicas=c(new_rs).replicas if new_rs is not None else 0,
        ready_replicas=sum(c(rs).ready for rs in all_rs),
        available_replicas=available,
        unavailable_replicas=max(total - available, 0),
        collision_count=d.status.collision_count,
        conditions=list(conditions))
    want = d.spec.replicas or 0
    if available >= want - max_unavailable:
        cond = condition(AVAILABLE, "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", now)
    else:
        cond = condition(AVAILABLE, "False", "MinimumReplicasUnavailable",
                         "Deployment does not have minimum availability.", now)
    st.conditions = set_condition(st.conditions, cond)
    st.conditions = _progressing(d, st, new_rs, now)
    return st


def _progressing(d: Deployment, st: DeploymentStatus, new_rs: ReplicaSet | None, now: float) -> list[Condition]:
    conds = st.conditions
    if d.spec.progress_deadline_seconds is None:
        return [c for c in conds if c.type != PROGRESSING]
    current = get_condition(conds, PROGRESSING)
    if d.spec.paused:
        return set_condition(conds, condition(PROGRESSING, "Unknown", PAUSED, "Deployment is paused", now))
    if current is not None and current.reason == PAUSED:
        conds = set_condition(conds, condition(PROGRESSING, "Unknown", RESUMED, "Deployment is resumed", now))
        current = get_condition(conds, PROGRESSING)
    if current is not None and current.reason == NEW_RS_AVAILABLE and st.replicas == st.updated_replicas:
        return conds
    what = f'ReplicaSet "{new_rs.metadata.name}"' if new_rs is not None else f'Deployment "{d.metadata.name}"'
    if is_complete(d, st):
        return set_condition(conds, condition(PROGRESSING, "True", NEW_RS_AVAILABLE,
                                              f"{what} has successfully progressed.", now))
    if _progressed(d.status, st):
        new = condition(PROGRESSING, "True", RS_UPDATED, f"{what} is progressing.", now)
        if current is not None and current.status == "True":
            new.last_transition_time = current.last_transition_time
        return [c for c in conds if c.type != PROGRESSING] + [new]
    if timed_out(d, current, now):
        return set_condition(conds, condition(PROGRESSING, "False", TIMED_OUT,
                                              f"{what} has timed out progressing.", now))
    return conds


def timed_out(d: Deployment, current: Condition | None, now: float) -> bool:
    if current is None or current.reason == NEW_RS_AVAILABLE:
        return False
    if current.reason == TIMED_OUT:
        return True
    since = parse_time(current.last_update_time)
    return since is not None and since + (d.spec.progress_deadline_seconds or 0) < now


def deadline_in(d: Deployment, st: DeploymentStatus, now: float) -> float | None:
    """Seconds until this rollout would time out (when one is in flight and not yet out)."""
    current = get_condition(st.conditions, PROGRESSING)
    if (d.spec.progress_deadline_seconds is None or current is None or d.spec.paused
            or current.reason in (NEW_RS_AVAILABLE, TIMED_OUT) or is_complete(d, st)):
        return None
    since = parse_time(current.last_update_time)
    return None if since is None else since + d.spec.progress_deadline_seconds - now + 0.5
