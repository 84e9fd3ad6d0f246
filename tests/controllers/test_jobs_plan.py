"""Job plan: completions, parallelism, backoff, deadlines, ttl (pure)."""

from __future__ import annotations

from typing import Any

from orchestrator.controllers.actions import Create, Delete, Record, UpdateStatus
from orchestrator.controllers.clock import format_time
from orchestrator.controllers.jobs import plan_job
from orchestrator.model.base import Condition
from orchestrator.model.batch import Job
from orchestrator.model.containers import ContainerState, ContainerStateTerminated
from orchestrator.model.pods import Pod
from tests.controllers.factories import NOW, make_job, make_pod


def job_pod(job: Job, name: str, phase: str = "Running", **kw: Any) -> Pod:
    return make_pod(name, owner=job, phase=phase, labels=dict(job.spec.template.metadata.labels), **kw)


def status(plan: Any) -> Any:
    return plan.of(UpdateStatus)[0].obj.status


def test_starts_parallelism_pods_labelled_for_the_job() -> None:
    job = make_job(completions=4, parallelism=2)
    plan = plan_job(job, owned=[], orphans=[], now=NOW)
    creates = plan.of(Create)
    assert len(creates) == 2
    pod = creates[0].obj
    assert pod.metadata.generate_name == "pi-"
    assert pod.metadata.labels["job-name"] == "pi" and pod.metadata.labels["controller-uid"] == job.metadata.uid
    assert pod.metadata.labels["batch.kubernetes.io/job-name"] == "pi"
    assert pod.spec.restart_policy == "Never"
    st = status(plan)
    assert st.start_time == format_time(NOW) and st.active == 0


def test_never_more_pods_than_completions_still_needed() -> None:
    job = make_job(completions=4, parallelism=2)
    pods = [job_pod(job, f"s{i}", "Succeeded") for i in range(3)] + [job_pod(job, "r")]
    plan = plan_job(job, owned=pods, orphans=[], now=NOW)
    assert not plan.of(Create)
    assert (status(plan).succeeded, status(plan).active) == (3, 1)


def test_completes_when_enough_pods_succeeded() -> None:
    job = make_job(completions=2, parallelism=2)
    plan = plan_job(job, owned=[job_pod(job, "a", "Succeeded"), job_pod(job, "b", "Succeeded")], orphans=[], now=NOW)
    st = status(plan)
    assert [(c.type, c.status) for c in st.conditions] == [("Complete", "True")]
    assert st.completion_time == format_time(NOW) and st.succeeded == 2
    assert [r.reason for r in plan.of(Record)] == ["Completed"]


def test_failed_pods_beyond_backoff_limit_fail_the_job_and_stop_the_rest() -> None:
    job = make_job(completions=3, parallelism=1, backoff=1)
    pods = [job_pod(job, "f1", "Failed"), job_pod(job, "f2", "Failed"), job_pod(job, "running")]
    plan = plan_job(job, owned=pods, orphans=[], now=NOW)
    c = status(plan).conditions[0]
    assert (c.type, c.status, c.reason) == ("Failed", "True", "BackoffLimitExceeded")
    assert [d.name for d in plan.of(Delete)] == ["running"]
    assert plan.of(Record)[0].type_ == "Warning"
    one_failure = plan_job(job, owned=pods[:1], orphans=[], now=NOW)
    assert not status(one_failure).conditions and len(one_failure.of(Create)) == 1  # a replacement


def failed_at(job: Job, name: str, finished: float) -> Pod:
    pod = job_pod(job, name, "Failed")
    pod.status.container_statuses[0].state = ContainerState(
        terminated=ContainerStateTerminated(exit_code=1, finished_at=format_time(finished)))
    return pod


def test_failed_pods_are_replaced_after_a_doubling_back_off() -> None:
    job = make_job(completions=1, parallelism=1, backoff=6)
    one = [failed_at(job, "f1", NOW - 4)]
    plan = plan_job(job, owned=one, orphans=[], now=NOW, backoff_s=10, backoff_max_s=360)
    assert not plan.of(Create) and plan.requeue_after == 6  # 10 s after the failure
    assert len(plan_job(job, owned=one, orphans=[], now=NOW + 6, backoff_s=10).of(Create)) == 1
    three = [failed_at(job, "f1", NOW - 100), failed_at(job, "f2", NOW - 60), failed_at(job, "f3", NOW - 30)]
    plan = plan_job(job, owned=three, orphans=[], now=NOW, backoff_s=10, backoff_max_s=360)
    assert not plan.of(Create) and plan.requeue_after == 10  # 40 s after the third failure
    capped = plan_job(job, owned=three, orphans=[], now=NOW, backoff_s=100, backoff_max_s=35)
    assert capped.requeue_after == 5
    assert len(plan_job(job, owned=three, orphans=[], now=NOW, backoff_s=0).of(Create)) == 1  # turned off


def test_a_success_resets_the_back_off() -> None:
    job = make_job(completions=3, parallelism=1, backoff=6)
    ok = job_pod(job, "ok", "Succeeded")
    ok.status.container_statuses[0].state = ContainerState(
        terminated=ContainerStateTerminated(exit_code=0, finished_at=format_time(NOW - 2)))
    pods = [failed_at(job, "old", NOW - 3), ok]
    assert len(plan_job(job, owned=pods, orphans=[], now=NOW, backoff_s=10).of(Create)) == 1


def test_container_restarts_count_with_restart_policy_on_failure() -> None:
    job = make_job(completions=1, parallelism=1, backoff=2, restart="OnFailure")
    plan = plan_job(job, owned=[job_pod(job, "flaky", restarts=2)], orphans=[], now=NOW)
    assert status(plan).conditions[0].reason == "BackoffLimitExceeded"


def test_active_deadline_fails_the_job_and_is_checked_on_time() -> None:
    job = make_job(completions=1, parallelism=1, active_deadline_seconds=30)
    job.status.start_time = format_time(NOW - 10)
    plan = plan_job(job, owned=[job_pod(job, "slow")], orphans=[], now=NOW)
    assert plan.requeue_after is not None and 19 <= plan.requeue_after <= 21
    late = plan_job(job, owned=[job_pod(job, "slow")], orphans=[], now=NOW + 25)
    assert status(late).conditions[0].reason == "DeadlineExceeded"
    assert [d.name for d in late.of(Delete)] == ["slow"]


def test_a_finished_job_is_deleted_ttl_seconds_later() -> None:
    job = make_job(completions=1, parallelism=1, ttl_seconds_after_finished=60)
    job.status.conditions = [Condition(type="Complete", status="True", last_transition_time=format_time(NOW - 10))]
    job.status.completion_time = format_time(NOW - 10)
    job.status.succeeded = 1
    plan = plan_job(job, owned=[job_pod(job, "done", "Succeeded")], orphans=[], now=NOW)
    assert not plan.of(Delete) and plan.requeue_after is not None and 49 <= plan.requeue_after <= 51
    expired = plan_job(job, owned=[job_pod(job, "done", "Succeeded")], orphans=[], now=NOW + 51)
    (d,) = expired.of(Delete)
    assert (d.kind, d.name, d.policy) == ("Job", "pi", "Foreground")


def test_counts_never_go_down_when_finished_pods_vanish() -> None:
    job = make_job(completions=4, parallelism=2)
    job.status.succeeded, job.status.failed = 2, 1
    plan = plan_job(job, owned=[], orphans=[], now=NOW)
    assert (status(plan).succeeded, status(plan).failed) == (2, 1)
    assert len(plan.of(Create)) == 2


def indexed_pod(job: Job, index: int, phase: str = "Running", **kw: Any) -> Pod:
    pod = job_pod(job, f"pi-{index}-x{phase[:1].lower()}", phase, **kw)
    pod.metadata.annotations["batch.kubernetes.io/job-completion-index"] = str(index)
    return pod


def test_indexed_job_starts_the_lowest_missing_indexes_with_their_index() -> None:
    job = make_job(completions=5, parallelism=2, completion_mode="Indexed")
    plan = plan_job(job, owned=[indexed_pod(job, 0, "Succeeded")], orphans=[], now=NOW)
    created = [c.obj for c in plan.of(Create)]
    assert [p.metadata.annotations["batch.kubernetes.io/job-completion-index"] for p in created] == ["1", "2"]
    pod = created[0]
    assert pod.metadata.labels["batch.kubernetes.io/job-completion-index"] == "1"
    assert pod.metadata.generate_name == "pi-1-" and pod.spec.hostname == "pi-1"
    (env,) = [e for e in pod.spec.containers[0].env if e.name == "JOB_COMPLETION_INDEX"]
    assert env.value_from.field_ref.field_path == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    assert (status(plan).succeeded, status(plan).completed_indexes) == (1, "0")


def test_indexed_job_counts_each_index_once_and_completes_when_all_are_done() -> None:
    job = make_job(completions=4, parallelism=4, completion_mode="Indexed")
    pods = [indexed_pod(job, 0, "Succeeded"), indexed_pod(job, 1, "Succeeded"), indexed_pod(job, 3, "Succeeded"),
            indexed_pod(job, 2, "Failed"), indexed_pod(job, 2), indexed_pod(job, 0)]  # a late twin of done 0
    plan = plan_job(job, owned=pods, orphans=[], now=NOW, backoff_s=0)
    assert [d.name for d in plan.of(Delete)] == [pods[5].metadata.name] and not plan.of(Create)
    assert (status(plan).succeeded, status(plan).completed_indexes) == (3, "0-1,3")
    pods[4].status.phase = "Succeeded"
    done = status(plan_job(job, owned=pods[:5], orphans=[], now=NOW))
    assert done.completed_indexes == "0-3" and [c.type for c in done.conditions] == ["Complete"]


def test_completed_index_ranges_round_trip() -> None:
    from orchestrator.controllers.indexed_jobs import format_indexes, parse_indexes
    assert format_indexes({5, 0, 1, 2, 7, 8}) == "0-2,5,7-8" and format_indexes([]) == ""
    assert parse_indexes("0-2,5,7-8") == {0, 1, 2, 5, 7, 8} and parse_indexes("junk,3") == {3}
