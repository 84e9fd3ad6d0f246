"""What a simulated kubelet does with a pod bound to it, as pure functions.

`decide(pod, ...)` says the next step; the builders make the status that step writes.
A pod runs until deleted, unless it runs to completion: owned by a Job, restartPolicy
Never or OnFailure, or carrying the annotation (or label) `orch.io/sim-run-seconds`.
Such a pod finishes `run seconds` after it started, with exit code 0 (Succeeded) or
the one in `orch.io/sim-exit-code` (non-zero: Failed).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timezone

import msgspec

from orchestrator.model.base import Condition
from orchestrator.model.containers import (ContainerState, ContainerStateRunning, ContainerStateTerminated,
                                           ContainerStatus)
from orchestrator.model.pods import Pod, PodIP, PodStatus
from orchestrator.runtime.sim import LABEL_EXIT_CODE, LABEL_RUN_SECONDS

RUN_TO_COMPLETION = ("Never", "OnFailure")
TERMINAL = ("Succeeded", "Failed")
OURS = ("PodScheduled", "Initialized", "ContainersReady", "Ready")


class Step(enum.Enum):
    NOTHING = "nothing"
    START = "start"      # write Running
    FINISH = "finish"    # write Succeeded / Failed
    DELETE = "delete"    # finish a graceful deletion (DELETE gracePeriodSeconds=0)
    WAIT = "wait"        # running to completion: look again after `delay`


@dataclass(frozen=True, slots=True)
class Decision:
    step: Step
    delay: float = 0.0


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _setting(pod: Pod, key: str) -> str | None:
    meta = pod.metadata
    return meta.annotations.get(key, meta.labels.get(key))


def runs_to_completion(pod: Pod) -> bool:
    return (pod.spec.restart_policy in RUN_TO_COMPLETION or _setting(pod, LABEL_RUN_SECONDS) is not None
            or any(ref.kind == "Job" for ref in pod.metadata.owner_references))


def run_seconds(pod: Pod, *, default: float) -> float:
    raw = _setting(pod, LABEL_RUN_SECONDS)
    try:
        return max(0.0, float(raw)) if raw is not None else default
    except ValueError:
        return default


def exit_code(pod: Pod) -> int:
    raw = _setting(pod, LABEL_EXIT_CODE)
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


def elapsed_since(start_time: str | None, *, now: datetime) -> float | None:
    """Seconds since an RFC 3339 time (status.startTime), None when absent or unreadable."""
    if not start_time:
        return None
    try:
        then = datetime.fromisoformat(start_time.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (now - then).total_seconds()


def decide(pod: Pod, *, running_for: float | None, job_seconds: float) -> Decision:
    """The next step for a pod bound to one of our nodes. `running_for`: seconds since
    we (or a previous sim) started it, None when unknown (counted as just started)."""
    if pod.metadata.deletion_timestamp:
        return Decision(Step.DELETE)
    phase = pod.status.phase
    if phase in TERMINAL:
        return Decision(Step.NOTHING)
    if phase != "Running":
        return Decision(Step.START)
    if not runs_to_completion(pod):
        return Decision(Step.NOTHING)
    left = run_seconds(pod, default=job_seconds) - (running_for or 0.0)
    return Decision(Step.FINISH) if left <= 0 else Decision(Step.WAIT, delay=left)


def _conditions(status: PodStatus, wanted: dict[str, str], *, now: str, reason: str = "") -> list[Condition]:
    """Ours set as wanted (transition time kept when the status does not change); others kept."""
    old = {c.type: c for c in status.conditions}
    out = [c for c in status.conditions if c.type not in wanted]
    for type_ in OURS:
        if type_ not in wanted:
            continue
        prev = old.get(type_)
        keep = prev is not None and prev.status == wanted[type_]
        out.append(Condition(type=type_, status=wanted[type_], last_probe_time=None,
                             last_transition_time=prev.last_transition_time if keep and prev else now,
                             reason="" if wanted[type_] == "True" else reason))
    return out


def container_id(pod: Pod, name: str) -> str:
    return f"sim://{pod.metadata.uid[:13]}-{name}"


def running_status(pod: Pod, *, host_ip: str, pod_ip: str, now: str) -> PodStatus:
    """Every container running and ready, restartCount 0, init containers completed."""
    started = pod.status.start_time or now
    statuses = [ContainerStatus(name=c.name, ready=True, restart_count=0, started=True, image=c.image,
                                image_id=f"sim://{c.image}", container_id=container_id(pod, c.name),
                                state=ContainerState(running=ContainerStateRunning(started_at=now)))
                for c in pod.spec.containers]
    inits = [_terminated(pod, c.name, c.image, code=0, started=now, finished=now)
             for c in pod.spec.init_containers]
    wanted = {"PodScheduled": "True", "Initialized": "True", "ContainersReady": "True", "Ready": "True"}
    return msgspec.structs.replace(
        pod.status, phase="Running", reason="", message="", host_ip=host_ip, host_ips=[PodIP(ip=host_ip)],
        pod_ip=pod_ip, pod_ips=[PodIP(ip=pod_ip)], start_time=started, container_statuses=statuses,
        init_container_statuses=inits, conditions=_conditions(pod.status, wanted, now=now))


def finished_status(pod: Pod, *, code: int, now: str) -> PodStatus:
    """Every container terminated with `code`: Succeeded when 0, else Failed."""
    started = pod.status.start_time or now
    by_name = {s.name: s for s in pod.status.container_statuses}
    statuses = []
    for c in pod.spec.containers:
        prev = by_name.get(c.name)
        began = prev.state.running.started_at if prev and prev.state.running else started
        statuses.append(_terminated(pod, c.name, c.image, code=code, started=began, finished=now))
    wanted = {"PodScheduled": "True", "Initialized": "True", "ContainersReady": "False", "Ready": "False"}
    return msgspec.structs.replace(
        pod.status, phase="Succeeded" if code == 0 else "Failed", start_time=started,
        container_statuses=statuses, conditions=_conditions(pod.status, wanted, now=now, reason="PodCompleted"))


def _terminated(pod: Pod, name: str, image: str, *, code: int, started: str | None,
                finished: str) -> ContainerStatus:
    state = ContainerState(terminated=ContainerStateTerminated(
        exit_code=code, reason="Completed" if code == 0 else "Error", started_at=started, finished_at=finished,
        container_id=container_id(pod, name)))
    return ContainerStatus(name=name, ready=False, restart_count=0, started=False, image=image,
                           image_id=f"sim://{image}", container_id=container_id(pod, name), state=state)


POD_IPS = 254 * 65536  # 10.0.0.0/8 without the .0 and .255 of each /24


def pod_ip(counter: int) -> str:
    """The n-th fake pod IP: 10.0.0.1 ... 10.0.0.254, 10.0.1.1, ... (never .0 or .255), wrapping."""
    counter %= POD_IPS
    host, rest = counter % 254 + 1, counter // 254
    return f"10.{rest >> 8}.{rest & 0xFF}.{host}"
