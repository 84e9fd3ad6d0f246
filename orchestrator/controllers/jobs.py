"""Job plan (pure): run pods until `completions` succeed, at most `parallelism` at once.

Fails the Job (condition Failed, remaining pods deleted) when failed pods exceed
backoffLimit (with restartPolicy OnFailure, container restarts count too, as in
Kubernetes) or when it has been active longer than activeDeadlineSeconds; completes it
(condition Complete, completionTime) when enough pods succeeded. A finished Job with
ttlSecondsAfterFinished is deleted that long after it finished (Foreground: its pods
first). succeeded/failed never go down, even if finished pods are deleted. Indexed Jobs
(completionMode: Indexed) run each index to success once (`indexed_jobs`).

After failures, new pods wait (Kubernetes' pod failure back-off): `backoff_s` after the
first failure since the last success, doubling per failure, at most `backoff_max_s`,
counted from when the newest failed pod finished. A crashing Job then does not spin
through its backoffLimit in seconds.
"""

from __future__ import annotations

from orchestrator.controllers import indexed_jobs as ix
from orchestrator.controllers import pods as podutil
from orchestrator.controllers.actions import Create, Delete, Patch, Plan, Record, UpdateStatus
from orchestrator.controllers.clock import format_time, parse_time
from orchestrator.controllers.owners import adoption_patch, claim, controller_ref_to, release_patch
from orchestrator.model.base import Condition, clone
from orchestrator.model.batch import (CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL,
                                      LEGACY_JOB_NAME_LABEL, Job, JobStatus)
from orchestrator.model.pods import Pod
from orchestrator.model.selectors import Selector, SelectorError, from_label_selector

COMPLETE, FAILED = "Complete", "Failed"


def selector_of(job: Job) -> Selector:
    try:
        return from_label_selector(job.spec.selector)
    except SelectorError:
        return Selector.nothing()


def finished(job: Job) -> Condition | None:
    return next((c for c in job.status.conditions if c.type in (COMPLETE, FAILED) and c.status == "True"), None)


def pod_labels(job: Job) -> dict[str, str]:
    name, uid = job.metadata.name, job.metadata.uid
    return {JOB_NAME_LABEL: name, LEGACY_JOB_NAME_LABEL: name, CONTROLLER_UID_LABEL: uid,
            LEGACY_CONTROLLER_UID_LABEL: uid}


def past_backoff_limit(job: Job, *, failed: int, active: list[Pod]) -> bool:
    limit = job.spec.backoff_limit if job.spec.backoff_limit is not None else 6
    if failed > limit:
        return True
    if job.spec.template.spec.restart_policy != "OnFailure":
        return False
    restarts = sum(podutil.restarts(p) for p in active)
    return restarts > 0 if limit == 0 else restarts >= limit


def finish_time(pod: Pod) -> float | None:
    """When a finished pod finished: its last container's finishedAt, else when it stopped
    being ready, else when it was created."""
    ends = [parse_time(cs.state.terminated.finished_at) for cs in pod.status.container_statuses
            if cs.state is not None and cs.state.terminated is not None]
    known = [t for t in ends if t is not None]
    if known:
        return max(known)
    ready = next((c for c in pod.status.conditions if c.type == "Ready"), None)
    return parse_time(ready.last_transition_time if ready else None) or parse_time(pod.metadata.creation_timestamp)


def backoff_wait(pods: list[Pod], *, now: float, backoff_s: float, backoff_max_s: float) -> float:
    """Seconds before the next pod may be created (0: now)."""
    last_success = max((finish_time(p) or 0.0 for p in pods if p.status.phase == "Succeeded"), default=0.0)
    failures = [t for p in pods if p.status.phase == "Failed" and (t := finish_time(p) or 0.0) >= last_success]
    if not failures or backoff_s <= 0:
        return 0.0
    delay = min(backoff_s * 2 ** (len(failures) - 1), backoff_max_s)
    return max(max(failures) + delay - now, 0.0)


def plan_job(job: Job, *, owned: list[Pod], orphans: list[Pod], now: float, burst: int = 500,
             backoff_s: float = 10.0, backoff_max_s: float = 360.0) -> Plan:
    plan = Plan()
    ns, name = job.metadata.namespace, job.metadata.name
    pods, adopt, release = claim(job, selector_of(job), owned=owned, orphans=orphans)
    plan.actions += [Patch("Pod", ns, p.metadata.name, adoption_patch(p, job)) for p in adopt]
    plan.actions += [Patch("Pod", ns, p.metadata.name, release_patch(p, job.metadata.uid)) for p in release]
    active = [p for p in pods if podutil.is_active(p)]
    st = clone(job.status)
    st.succeeded = max(st.succeeded, sum(1 for p in pods if p.status.phase == "Succeeded"))
    st.failed = max(st.failed, sum(1 for p in pods if p.status.phase == "Failed"))
    indexed = ix.is_indexed(job)
    parallelism = job.spec.parallelism if job.spec.parallelism is not None else 1
    if indexed:  # succeeded counts indexes done, each once
        completed, to_start, extra = ix.plan_indexes(pods, completions=job.spec.completions or 0, active=active,
                                                    done_before=st.completed_indexes, parallelism=parallelism)
        st.succeeded, st.completed_indexes = len(completed), ix.format_indexes(completed)
    done = finished(job)
    if done is not None or job.metadata.deletion_timestamp is not None:
        plan.actions += [Delete("Pod", ns, p.metadata.name, owner=job) for p in active] if done else []
        st.active, st.ready = (0, 0) if done else (len(active), sum(1 for p in active if podutil.is_ready(p)))
        _status(plan, job, st)
        if done is not None:
            _expire(plan, job, done, now)
        return plan
    suspended = bool(job.spec.suspend)
    if st.start_time is None and not suspended:
        st.start_time = format_time(now)
    start = parse_time(st.start_time) or now
    completions = job.spec.completions
    deadline = job.spec.active_deadline_seconds
    failure: tuple[str, str] | None = None
    if past_backoff_limit(job, failed=st.failed, active=active):
        failure = ("BackoffLimitExceeded", "Job has reached the specified backoff limit")
    elif deadline is not None and not suspended and now - start >= deadline:
        failure = ("DeadlineExceeded", "Job was active longer than specified deadline")
    complete = (st.succeeded >= completions) if completions is not None else (st.succeeded > 0 and not active)
    if failure is not None or complete:
        plan.actions += [Delete("Pod", ns, p.metadata.name, owner=job) for p in active]
        t = format_time(now)
        if failure is not None:
            st.conditions.append(Condition(type=FAILED, status="True", reason=failure[0], message=failure[1],
                                           last_probe_time=t, last_transition_time=t))
            plan.actions.append(Record(job, failure[0], failure[1], "Warning"))
        else:
            st.conditions.append(Condition(type=COMPLETE, status="True", last_probe_time=t, last_transition_time=t))
            st.completion_time = t
            plan.actions.append(Record(job, "Completed", "Job completed"))
        st.active, st.ready = 0, 0
        _status(plan, job, st)
        return plan
    if indexed:
        _indexed_pods(plan, job, to_start=[] if suspended else to_start, extra=active if suspended else extra,
                      wait=backoff_wait(pods, now=now, backoff_s=backoff_s, backoff_max_s=backoff_max_s), burst=burst)
        want = -1  # done above
    else:
        want = parallelism if completions is None else min(parallelism, completions - st.succeeded)
    if completions is None and st.succeeded > 0:
        want = min(want, len(active))  # a work queue: once one succeeded, start no more
    if suspended:
        want = 0
    diff = 0 if want < 0 else len(active) - want
    wait = backoff_wait(pods, now=now, backoff_s=backoff_s, backoff_max_s=backoff_max_s) if diff < 0 else 0.0
    if wait > 0:
        plan.later(wait)
    elif diff < 0:
        ref = controller_ref_to(job)
        for _ in range(min(-diff, burst)):
            pod = podutil.pod_from_template(job.spec.template, namespace=ns, generate_name=f"{name}-", owner=ref,
                                            labels=pod_labels(job))
            plan.actions.append(Create(pod, owner=job))
    elif diff > 0:
        for p in sorted(active, key=podutil.deletion_rank)[:diff]:
            plan.actions.append(Delete("Pod", ns, p.metadata.name, owner=job))
    st.active = len(active)
    st.ready = sum(1 for p in active if podutil.is_ready(p))
    _status(plan, job, st)
    if deadline is not None and not suspended:
        plan.later(start + deadline - now)
    return plan


def _indexed_pods(plan: Plan, job: Job, *, to_start: list[int], extra: list[Pod], wait: float, burst: int) -> None:
    ns, name = job.metadata.namespace, job.metadata.name
    plan.actions += [Delete("Pod", ns, p.metadata.name, owner=job) for p in extra]
    if to_start and wait > 0:
        plan.later(wait)
        return
    ref = controller_ref_to(job)
    for index in to_start[:burst]:
        pod = podutil.pod_from_template(job.spec.template, namespace=ns, generate_name=f"{name}-", owner=ref,
                                        labels=pod_labels(job))
        plan.actions.append(Create(ix.label_pod(pod, name, index), owner=job))


def _status(plan: Plan, job: Job, st: JobStatus) -> None:
    if st != job.status:
        out = clone(job)
        out.status = st
        plan.actions.append(UpdateStatus(out))


def _expire(plan: Plan, job: Job, done: Condition, now: float) -> None:
    ttl = job.spec.ttl_seconds_after_finished
    if ttl is None or job.metadata.deletion_timestamp is not None:
        return
    at = parse_time(job.status.completion_time) or parse_time(done.last_transition_time) or now
    if at + ttl <= now:
        plan.actions.append(Delete("Job", job.metadata.namespace, job.metadata.name, policy="Foreground"))
    else:
        plan.later(at + ttl - now)
