"""The simulated kubelet's decisions and status builders (pure, no I/O)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from orchestrator.agent.sim.statuses import (Step, decide, elapsed_since, exit_code, finished_status, pod_ip, POD_IPS,
                                             run_seconds, running_status, runs_to_completion)
from orchestrator.model.base import Condition, OwnerReference
from orchestrator.model.containers import Container
from orchestrator.model.pods import Pod

NOW = "2026-11-28T16:00:00Z"
LATER = "2026-11-28T16:00:05Z"


def make_pod(*, restart_policy: str = "Always", phase: str = "Pending", **annotations: str) -> Pod:
    pod = Pod()
    pod.metadata.name, pod.metadata.namespace, pod.metadata.uid = "web", "default", "0123456789abcdef-uid"
    pod.metadata.resource_version = "7"
    pod.metadata.annotations = {k.replace("_", "-").replace("orch-io-", "orch.io/"): v for k, v in annotations.items()}
    pod.spec.node_name = "sim-0"
    pod.spec.restart_policy = restart_policy
    pod.spec.containers = [Container(name="app", image="nginx:1"), Container(name="side", image="envoy")]
    pod.status.phase = phase
    return pod


def test_decide_walks_a_service_pod_to_running_and_leaves_it_there() -> None:
    assert decide(make_pod(), running_for=None, job_seconds=1).step is Step.START
    assert decide(make_pod(phase=""), running_for=None, job_seconds=1).step is Step.START
    assert decide(make_pod(phase="Running"), running_for=1e6, job_seconds=1).step is Step.NOTHING


def test_decide_finishes_run_to_completion_pods_after_their_time() -> None:
    job = make_pod(restart_policy="Never", phase="Running")
    waiting = decide(job, running_for=0.25, job_seconds=1)
    assert waiting.step is Step.WAIT and abs(waiting.delay - 0.75) < 1e-9
    assert decide(job, running_for=None, job_seconds=1).step is Step.WAIT  # unknown: counted as just started
    assert decide(job, running_for=1.0, job_seconds=1).step is Step.FINISH
    for phase in ("Succeeded", "Failed"):
        assert decide(make_pod(restart_policy="Never", phase=phase), running_for=9, job_seconds=1).step is Step.NOTHING


def test_deletion_wins_over_everything() -> None:
    for phase in ("Pending", "Running"):
        pod = make_pod(phase=phase)
        pod.metadata.deletion_timestamp = NOW
        assert decide(pod, running_for=None, job_seconds=1).step is Step.DELETE


def test_which_pods_run_to_completion() -> None:
    assert not runs_to_completion(make_pod())
    assert runs_to_completion(make_pod(restart_policy="Never"))
    assert runs_to_completion(make_pod(restart_policy="OnFailure"))
    owned = make_pod()
    owned.metadata.owner_references = [OwnerReference(api_version="batch/v1", kind="Job", name="j", uid="u")]
    assert runs_to_completion(owned)
    timed = make_pod(orch_io_sim_run_seconds="3")
    assert runs_to_completion(timed) and run_seconds(timed, default=1) == 3.0
    assert run_seconds(make_pod(orch_io_sim_run_seconds="soon"), default=1.5) == 1.5
    assert exit_code(make_pod(orch_io_sim_exit_code="3")) == 3 and exit_code(make_pod()) == 0


def test_running_status_is_what_a_kubelet_reports() -> None:
    pod = make_pod()
    pod.status.conditions = [Condition(type="PodScheduled", status="True", last_transition_time="2026-01-01T00:00:00Z"),
                             Condition(type="example.com/gate", status="True")]
    pod.status.qos_class = "BestEffort"
    st = running_status(pod, host_ip="172.16.0.1", pod_ip="10.0.0.1", now=NOW)
    assert st.phase == "Running" and st.host_ip == "172.16.0.1" and st.pod_ip == "10.0.0.1"
    assert [p.ip for p in st.pod_ips] == ["10.0.0.1"] and st.start_time == NOW and st.qos_class == "BestEffort"
    conds = {c.type: c for c in st.conditions}
    assert {t: c.status for t, c in conds.items()} == {"PodScheduled": "True", "Initialized": "True",
                                                      "ContainersReady": "True", "Ready": "True",
                                                      "example.com/gate": "True"}
    assert conds["PodScheduled"].last_transition_time == "2026-01-01T00:00:00Z"  # unchanged: kept
    assert conds["Ready"].last_transition_time == NOW
    assert [(c.name, c.ready, c.restart_count, c.image) for c in st.container_statuses] == [
        ("app", True, 0, "nginx:1"), ("side", True, 0, "envoy")]
    assert all(c.state.running is not None and c.state.running.started_at == NOW for c in st.container_statuses)
    assert pod.status.phase == "Pending"  # the input is not changed


def test_finished_status_succeeds_or_fails_by_exit_code() -> None:
    running = make_pod(restart_policy="Never")
    running.status = running_status(running, host_ip="172.16.0.1", pod_ip="10.0.0.1", now=NOW)
    done = finished_status(running, code=0, now=LATER)
    assert done.phase == "Succeeded" and done.start_time == NOW and done.pod_ip == "10.0.0.1"
    term = [c.state.terminated for c in done.container_statuses]
    assert all(t is not None and t.exit_code == 0 and t.reason == "Completed" and t.started_at == NOW
               and t.finished_at == LATER for t in term)
    assert all(not c.ready for c in done.container_statuses)
    conds = {c.type: (c.status, c.reason) for c in done.conditions}
    assert conds["Ready"] == ("False", "PodCompleted") and conds["ContainersReady"] == ("False", "PodCompleted")
    failed = finished_status(running, code=3, now=LATER)
    assert failed.phase == "Failed"
    assert failed.container_statuses[0].state.terminated is not None
    assert failed.container_statuses[0].state.terminated.exit_code == 3


def test_pod_ips_are_unique_and_never_network_or_broadcast() -> None:
    ips = [pod_ip(n) for n in range(100_000)]
    assert len(set(ips)) == len(ips) and ips[0] == "10.0.0.1"
    assert not any(ip.endswith((".0", ".255")) for ip in ips)
    assert pod_ip(POD_IPS - 1) == "10.255.255.254" and pod_ip(POD_IPS) == "10.0.0.1"


def test_elapsed_since() -> None:
    now = datetime(2026, 11, 28, 16, 0, 10, tzinfo=timezone.utc)
    assert elapsed_since(NOW, now=now) == 10.0
    assert elapsed_since(None, now=now) is None and elapsed_since("yesterday", now=now) is None
    assert elapsed_since("2026-11-28T16:00:09.5Z", now=now + timedelta(0)) == 0.5
