"""Pod sync's pure parts: the plan, the status, and the back-off math."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.agent.podsync_backoff import BackOff, BackOffPolicy, wall_time
from orchestrator.agent.podsync_plan import plan_pod
from orchestrator.agent.status import ContainerView, container_status, pod_phase, pod_status
from orchestrator.model import codec
from orchestrator.model.base import Condition
from orchestrator.model.pods import Pod
from orchestrator.runtime.base import ContainerInfo

T0 = "2026-01-01T00:00:00Z"
T1 = "2026-01-01T00:00:05.123456789Z"


def make_pod(*, restart: str = "Always", containers: tuple[str, ...] = ("main",), init: tuple[str, ...] = (),
             phase: str = "Pending", **status: Any) -> Pod:
    return codec.convert({
        "metadata": {"name": "p", "namespace": "default", "uid": "uid-1"},
        "spec": {"restartPolicy": restart, "nodeName": "n",
                 "containers": [{"name": n, "image": "img"} for n in containers],
                 "initContainers": [{"name": n, "image": "img"} for n in init]},
        "status": {"phase": phase, **status},
    }, Pod)


def info(name: str = "main", *, n: int = 0, state: str = "running", code: int | None = None,
         error: str | None = None, ip: str | None = None) -> ContainerInfo:
    return ContainerInfo(id=f"{name}-{n}", name=f"c-{name}-{n}", pod_uid="uid-1", pod_name="p", namespace="default",
                         container_name=name, image="img", image_id="sha256:abc", state=state,  # type: ignore[arg-type]
                         exit_code=code, created_at=f"2026-01-01T00:00:0{n}Z",
                         started_at=None if state == "created" else T0,
                         finished_at=T1 if state == "exited" else None, restart_count=n, error=error, ip=ip)


def kinds(plan: Any) -> list[tuple[str, str]]:
    return [(s.kind, s.container.name) for s in plan.steps]


# --- plan --------------------------------------------------------------------------------

def test_plan_creates_starts_and_leaves_running_alone() -> None:
    pod = make_pod(containers=("a", "b", "c"))
    plan = plan_pod(pod, [info("b", state="created"), info("c")])
    assert kinds(plan) == [("create", "a"), ("start", "b"), ("run", "c")]


@pytest.mark.parametrize(("policy", "code", "restart"), [
    ("Always", 0, True), ("Always", 1, True), ("OnFailure", 0, False), ("OnFailure", 2, True),
    ("OnFailure", None, True), ("Never", 1, False), ("Never", 0, False),
])
def test_plan_restarts_by_policy(policy: str, code: int | None, restart: bool) -> None:
    plan = plan_pod(make_pod(restart=policy), [info(n=4, state="exited", code=code)])
    if restart:
        (step,) = plan.steps
        assert step.kind == "restart" and step.attempt == 5 and step.finished_at == T1
    else:
        assert plan.steps == []


def test_plan_failed_start_counts_as_stopped_and_old_attempts_are_removed() -> None:
    attempts = [info(n=0, state="exited", code=1), info(n=1, state="exited", code=1),
                info(n=2, state="created", error="could not select device driver")]
    plan = plan_pod(make_pod(), attempts)
    assert [(s.kind, s.attempt) for s in plan.steps] == [("restart", 3)]
    assert plan.remove == ["main-0"]  # the newest two are kept (lastState, logs --previous)


def test_plan_kills_what_probes_call_unhealthy() -> None:
    plan = plan_pod(make_pod(), [info()], unhealthy=lambda name, cid: "liveness failed" if cid == "main-0" else None)
    (step,) = plan.steps
    assert (step.kind, step.id, step.message) == ("kill", "main-0", "liveness failed")


def test_plan_runs_init_containers_in_order_first() -> None:
    pod = make_pod(init=("i1", "i2"), containers=("app",))
    assert kinds(plan_pod(pod, [])) == [("create", "i1")]
    assert kinds(plan_pod(pod, [info("i1")])) == [("run", "i1")]
    assert kinds(plan_pod(pod, [info("i1", state="exited", code=0)])) == [("create", "i2")]
    assert kinds(plan_pod(pod, [info("i1", state="exited", code=3)])) == [("restart", "i1")]
    done = [info("i1", state="exited", code=0), info("i2", state="exited", code=0)]
    assert kinds(plan_pod(pod, done)) == [("create", "app")]
    never = make_pod(init=("i1",), restart="Never")
    assert plan_pod(never, [info("i1", state="exited", code=3)]).steps == []  # the pod fails instead


def test_plan_of_a_finished_pod_starts_nothing_and_stops_what_runs() -> None:
    pod = make_pod(containers=("a", "b"), phase="Failed")
    plan = plan_pod(pod, [info("b")])
    assert kinds(plan) == [("kill", "b")]


# --- status ------------------------------------------------------------------------------

def test_container_status_running_waiting_and_terminated() -> None:
    running = container_status(ContainerView(name="main", image="img", attempts=[info(n=0, state="exited", code=2),
                                                                                 info(n=1, ip="10.0.0.5")],
                                             ready=True, started=True), runtime="docker")
    assert running.state.running is not None and running.state.running.started_at == T0
    assert running.ready and running.started and running.restart_count == 1
    assert running.container_id == "docker://main-1" and running.image_id == "sha256:abc"
    assert running.last_state.terminated is not None and running.last_state.terminated.exit_code == 2
    crash = container_status(ContainerView(name="main", image="img", attempts=[info(n=3, state="exited", code=1)],
                                           waiting=("CrashLoopBackOff", "back-off 20s")), runtime="docker")
    assert crash.state.waiting is not None and crash.state.waiting.reason == "CrashLoopBackOff"
    assert crash.last_state.terminated is not None and crash.last_state.terminated.reason == "Error"
    assert crash.restart_count == 3 and not crash.ready and crash.started is False
    done = container_status(ContainerView(name="main", image="img", attempts=[info(state="exited", code=0)]),
                            runtime="sim")
    assert done.state.terminated is not None and done.state.terminated.reason == "Completed"
    new = container_status(ContainerView(name="main", image="img"), runtime="sim")
    assert new.state.waiting is not None and new.state.waiting.reason == "ContainerCreating"
    failed = container_status(ContainerView(name="main", image="img", attempts=[info(state="created", error="no")]),
                              runtime="sim")
    assert failed.state.terminated is not None
    assert (failed.state.terminated.reason, failed.state.terminated.exit_code) == ("StartError", 128)
    killed = container_status(ContainerView(name="main", image="img", attempts=[info(state="exited", code=137)]),
                              runtime="sim")
    assert killed.state.terminated is not None and killed.state.terminated.signal == 9


def _statuses(pod: Pod, views: list[ContainerView]) -> Any:
    return pod_status(pod, init=[], main=views, runtime="sim", host_ip="10.0.0.1", host_network=False, now=T0)


@pytest.mark.parametrize(("policy", "attempts", "waiting", "phase"), [
    ("Always", [], None, "Pending"),
    ("Always", [info()], None, "Running"),
    ("Always", [info(state="exited", code=1)], ("CrashLoopBackOff", ""), "Running"),
    ("Never", [info(state="exited", code=0)], None, "Succeeded"),
    ("Never", [info(state="exited", code=1)], None, "Failed"),
    ("OnFailure", [info(state="exited", code=0)], None, "Succeeded"),
    ("OnFailure", [info(state="exited", code=1)], ("CrashLoopBackOff", ""), "Running"),
    ("Always", [], ("ErrImagePull", "nope"), "Pending"),
])
def test_phase(policy: str, attempts: list[ContainerInfo], waiting: tuple[str, str] | None, phase: str) -> None:
    pod = make_pod(restart=policy)
    status = _statuses(pod, [ContainerView(name="main", image="img", attempts=attempts, waiting=waiting,
                                           ready=True, started=True)])
    assert status.phase == phase


def test_final_phases_stick_and_init_failure_fails_a_never_pod() -> None:
    assert _statuses(make_pod(phase="Succeeded"), [ContainerView(name="main", image="img")]).phase == "Succeeded"
    pod = make_pod(init=("setup",), restart="Never")
    init = [container_status(ContainerView(name="setup", image="img", attempts=[info("setup", state="exited",
                                                                                       code=1)]), runtime="sim")]
    assert pod_phase(pod, init=init, main=[]) == "Failed"
    assert pod_phase(make_pod(init=("setup",)), init=init, main=[]) == "Pending"


def test_pod_status_conditions_ips_and_transition_times() -> None:
    old = make_pod(conditions=[{"type": "Ready", "status": "False", "lastTransitionTime": "2025-01-01T00:00:00Z"},
                               {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}],
                   startTime="2025-06-01T00:00:00Z", qosClass="BestEffort")
    views = [ContainerView(name="main", image="img", attempts=[info(ip="10.88.0.7")], ready=False, started=True)]
    st = _statuses(old, views)
    cond = {c.type: c for c in st.conditions}
    assert cond["Ready"].status == "False" and cond["Ready"].last_transition_time == "2025-01-01T00:00:00Z"
    assert cond["Ready"].reason == "ContainersNotReady" and "[main]" in cond["Ready"].message
    assert cond["Initialized"].status == "True" and cond["PodScheduled"].last_transition_time == "2024-01-01T00:00:00Z"
    assert st.pod_ip == "10.88.0.7" and st.host_ip == "10.0.0.1" and st.start_time == "2025-06-01T00:00:00Z"
    assert st.qos_class == "BestEffort"  # fields pod sync does not own are kept
    views[0].ready = True
    st = _statuses(old, views)
    ready = next(c for c in st.conditions if c.type == "Ready")
    assert ready.status == "True" and ready.last_transition_time == T0
    host = pod_status(old, init=[], main=views, runtime="process", host_ip="10.0.0.1", host_network=True, now=T0)
    assert host.pod_ip == "10.0.0.1"


def test_pod_status_is_stable_when_nothing_changed() -> None:
    views = [ContainerView(name="main", image="img", attempts=[info()], ready=True, started=True)]
    first = _statuses(make_pod(), views)
    again = _statuses(make_pod(**codec.to_builtins(first)), views)
    assert codec.to_builtins(again) == codec.to_builtins(first)
    assert isinstance(first.conditions[0], Condition)


# --- back-off ----------------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_restart_back_off_doubles_to_the_cap_and_resets_after_a_long_run() -> None:
    clock = Clock()
    b = BackOff(BackOffPolicy(base_s=10, cap_s=40, reset_s=600), clock=clock)
    key = ("uid", "main")
    assert b.remaining_since(key, clock.now) == 0  # the first exit restarts at once
    assert b.next(key) == 10
    clock.now += 1  # crashed one second after the restart
    exited = clock.now
    assert b.remaining_since(key, exited) == 10
    clock.now += 4
    assert b.remaining_since(key, exited) == 6
    clock.now += 6
    assert b.remaining_since(key, exited) == 0
    assert [b.next(key), b.next(key), b.next(key)] == [20, 40, 40]  # capped
    assert b.delay(key) == 40
    clock.now += 601  # ran for more than ten minutes, then exited
    assert b.remaining_since(key, clock.now) == 0
    assert b.next(key) == 10  # starts over


def test_image_back_off_counts_from_the_last_attempt_and_forget() -> None:
    clock = Clock()
    b = BackOff(BackOffPolicy(base_s=10, cap_s=300, reset_s=600), clock=clock)
    key = ("uid", "main", "create")
    assert b.remaining_since_update(key) == 0
    b.next(key)
    clock.now += 3
    assert b.remaining_since_update(key) == 7
    b.forget(lambda k: k[0] == "uid")
    assert b.remaining_since_update(key) == 0 and len(b) == 0


def test_wall_time_reads_docker_nanoseconds() -> None:
    assert wall_time("2026-01-01T00:00:05.123456789Z") == pytest.approx(wall_time("2026-01-01T00:00:05Z") + 0.123456)
    assert wall_time(None) is None and wall_time("garbage") is None
    assert wall_time("2026-01-01T00:00:00+00:00") == wall_time("2026-01-01T00:00:00Z")


def _reported(**state: Any) -> list[dict[str, Any]]:
    return [{"name": "main", "containerID": "docker://gone", "restartCount": 2, "state": state}]


@pytest.mark.parametrize(("policy", "state", "step"), [
    ("Always", {"running": {}}, ("restart", 3)),
    ("OnFailure", {"running": {}}, ("restart", 3)),
    ("OnFailure", {"terminated": {"exitCode": 0}}, None),
    ("Never", {"running": {}}, None),
])
def test_plan_when_every_attempt_was_removed_by_hand(policy: str, state: dict[str, Any],
                                                     step: tuple[str, int] | None) -> None:
    pod = make_pod(restart=policy, phase="Running", containerStatuses=_reported(**state))
    plan = plan_pod(pod, [])
    assert [(s.kind, s.attempt) for s in plan.steps] == ([step] if step else [])


def test_status_of_a_container_removed_by_hand() -> None:
    pod = make_pod(restart="Never", phase="Running", containerStatuses=_reported(running={"startedAt": T0}))
    from orchestrator.agent.status import lost_status

    lost = lost_status(pod, "main", init=False)
    st = _statuses(pod, [ContainerView(name="main", image="img", lost=lost)])
    cs = st.container_statuses[0]
    assert cs.state.terminated is not None and cs.state.terminated.reason == "ContainerStatusUnknown"
    assert cs.state.terminated.exit_code == 137 and cs.restart_count == 2 and st.phase == "Failed"
