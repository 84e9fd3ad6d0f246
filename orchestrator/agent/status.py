"""A pod's status as a pure function of the pod, its containers' attempts and probe results.

Kubelet semantics, so tools written for Kubernetes read it unchanged:

- a container's ``state`` is its newest attempt (running / terminated / waiting with
  the reason pod sync gave, e.g. CrashLoopBackOff or ErrImagePull); ``lastState`` is
  the attempt before the one ``state`` shows; ``restartCount`` is the newest attempt's
  number (a label on the container, so it survives agent restarts);
- phase is kubelet's ``getPhase``: a container waiting for the first time keeps the
  pod Pending, one waiting to restart counts as stopped; with every container stopped,
  ``restartPolicy`` decides between Running (it will restart), Succeeded and Failed;
  Succeeded and Failed are final;
- conditions PodScheduled, Initialized, ContainersReady, Ready keep their
  ``lastTransitionTime`` while their status does not change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from orchestrator.model.base import Condition, clone
from orchestrator.model.containers import (
    ContainerState,
    ContainerStateRunning,
    ContainerStateTerminated,
    ContainerStateWaiting,
    ContainerStatus,
)
from orchestrator.model.pods import Pod, PodIP, PodStatus
from orchestrator.runtime.base import ContainerInfo

TERMINAL = ("Succeeded", "Failed")
UNKNOWN_EXIT = 137  # what the kubelet reports when an exit code was lost


@dataclass(slots=True, kw_only=True)
class ContainerView:
    """What pod sync knows about one container of a pod."""

    name: str
    image: str
    attempts: list[ContainerInfo] = field(default_factory=list)  # oldest first
    waiting: tuple[str, str] | None = None  # (reason, message) pod sync wants shown
    ready: bool = False  # readiness result (True when there is no readiness probe)
    started: bool = False  # startup result (True when there is no startup probe)
    lost: ContainerStatus | None = None  # reported before, and no attempt is left (see lost_status)


def lost_status(pod: Pod, name: str, *, init: bool) -> ContainerStatus | None:
    """What the pod's status said about a container that had been created (it has a
    containerID), for when none of its attempts can be found any more."""
    statuses = pod.status.init_container_statuses if init else pod.status.container_statuses
    found = next((s for s in statuses if s.name == name), None)
    return found if found is not None and found.container_id else None


def _lost(view: ContainerView, lost: ContainerStatus) -> ContainerStatus:
    out = clone(lost)
    out.ready, out.started = False, False
    if view.waiting is not None:
        out.last_state = out.state if out.state.terminated is not None else out.last_state
        out.state = ContainerState(waiting=ContainerStateWaiting(reason=view.waiting[0], message=view.waiting[1]))
    elif out.state.terminated is None:
        out.state = ContainerState(terminated=ContainerStateTerminated(
            exit_code=UNKNOWN_EXIT, reason="ContainerStatusUnknown", container_id=lost.container_id,
            message="The container could not be located when the pod was synced"))
    return out


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def start_failed(info: ContainerInfo) -> bool:
    """Created, then the engine refused to start it (docker keeps it 'created')."""
    return info.state == "created" and bool(info.error)


def terminated(info: ContainerInfo, *, runtime: str) -> ContainerStateTerminated:
    if start_failed(info) or (info.state == "exited" and info.error and not info.started_at):
        code, reason = info.exit_code if info.exit_code not in (None, 0) else 128, "StartError"
    elif info.exit_code is None:
        code, reason = UNKNOWN_EXIT, "ContainerStatusUnknown"
    else:
        code = info.exit_code
        reason = "OOMKilled" if info.oom_killed else ("Completed" if code == 0 else "Error")
    return ContainerStateTerminated(
        exit_code=code, reason=reason, message=info.error or "",
        signal=code - 128 if 128 < code < 160 else None,
        started_at=info.started_at, finished_at=info.finished_at or info.started_at,
        container_id=container_id(info, runtime=runtime),
    )  # fmt: skip


def is_stopped(info: ContainerInfo) -> bool:
    return info.state == "exited" or start_failed(info)


def container_id(info: ContainerInfo, *, runtime: str) -> str:
    return f"{runtime}://{info.id}"


def container_status(view: ContainerView, *, runtime: str) -> ContainerStatus:
    atts = view.attempts
    cur = atts[-1] if atts else None
    if cur is None and view.lost is not None:
        return _lost(view, view.lost)
    status = ContainerStatus(name=view.name, image=view.image, started=False)
    if cur is not None:
        status.restart_count = cur.restart_count
        status.image_id = cur.image_id
        status.container_id = container_id(cur, runtime=runtime)
    shown_index = len(atts) - 1
    if view.waiting is not None:
        reason, message = view.waiting
        status.state = ContainerState(waiting=ContainerStateWaiting(reason=reason, message=message))
        if cur is not None and is_stopped(cur):
            shown_index = len(atts)  # the newest attempt is history now: it is lastState
    elif cur is None or (cur.state == "created" and not cur.error) or cur.state == "unknown":
        status.state = ContainerState(waiting=ContainerStateWaiting(reason="ContainerCreating"))
    elif cur.state == "running":
        status.state = ContainerState(running=ContainerStateRunning(started_at=cur.started_at))
        status.started = view.started
        status.ready = view.started and view.ready
    else:
        status.state = ContainerState(terminated=terminated(cur, runtime=runtime))
    last = [a for a in atts[:shown_index] if is_stopped(a)]
    if last:
        status.last_state = ContainerState(terminated=terminated(last[-1], runtime=runtime))
    return status


def _counts(statuses: list[ContainerStatus]) -> tuple[int, int, int, int]:
    running = waiting = stopped = succeeded = 0
    for s in statuses:
        if s.state.running is not None:
            running += 1
        elif s.state.terminated is not None:
            stopped += 1
            succeeded += s.state.terminated.exit_code == 0
        elif s.last_state.terminated is not None:
            stopped += 1  # waiting to restart
        else:
            waiting += 1
    return running, waiting, stopped, succeeded


def init_done(status: ContainerStatus) -> bool:
    return status.state.terminated is not None and status.state.terminated.exit_code == 0


def pod_phase(pod: Pod, *, init: list[ContainerStatus], main: list[ContainerStatus]) -> str:
    """kubelet's getPhase (Succeeded and Failed are final)."""
    if pod.status.phase in TERMINAL:
        return pod.status.phase
    policy = pod.spec.restart_policy or "Always"
    for s in init:
        if init_done(s):
            continue
        t = s.state.terminated
        if t is not None and policy == "Never":
            return "Failed"
        return "Pending"
    running, waiting, stopped, succeeded = _counts(main)
    if waiting > 0 or not main:
        return "Pending"
    if running > 0:
        return "Running"
    if policy == "Always":
        return "Running"
    if stopped == succeeded:
        return "Succeeded"
    return "Failed" if policy == "Never" else "Running"


def _condition(old: list[Condition], *, type_: str, ok: bool, reason: str, message: str,
               now: str) -> Condition:
    status = "True" if ok else "False"
    prev = next((c for c in old if c.type == type_), None)
    since = prev.last_transition_time if prev is not None and prev.status == status else now
    return Condition(type=type_, status=status, reason="" if ok else reason,
                     message="" if ok else message, last_transition_time=since)  # fmt: skip


def _names(statuses: list[ContainerStatus]) -> str:
    return "[" + " ".join(s.name for s in statuses) + "]"


def pod_status(pod: Pod, *, init: list[ContainerView], main: list[ContainerView], runtime: str,
               host_ip: str, host_network: bool, now: str | None = None) -> PodStatus:
    """The status to write for ``pod`` (a new object; the pod is not changed)."""
    now = now or now_rfc3339()
    old = pod.status
    out = clone(old)
    out.init_container_statuses = [container_status(v, runtime=runtime) for v in init]
    out.container_statuses = [container_status(v, runtime=runtime) for v in main]
    out.phase = pod_phase(pod, init=out.init_container_statuses, main=out.container_statuses)
    terminal = out.phase in TERMINAL
    out.host_ip = host_ip
    out.host_ips = [PodIP(ip=host_ip)] if host_ip else []
    ips = [a.ip for v in (*main, *init) for a in reversed(v.attempts) if a.ip and a.state == "running"]
    pod_ip = host_ip if host_network else (ips[0] if ips else old.pod_ip)
    out.pod_ip = pod_ip
    out.pod_ips = [PodIP(ip=pod_ip)] if pod_ip else []
    out.start_time = old.start_time or now
    pending_init = [s for s in out.init_container_statuses if not init_done(s)]
    unready = [s for s in out.container_statuses if not s.ready]
    conds = old.conditions
    scheduled = next((c for c in conds if c.type == "PodScheduled"), None)
    ready_reason = "PodCompleted" if terminal else "ContainersNotReady"
    out.conditions = [
        _condition(conds, type_="Initialized", ok=not pending_init, reason="ContainersNotInitialized",
                   message=f"containers with incomplete status: {_names(pending_init)}", now=now),
        _condition(conds, type_="Ready", ok=not unready and not terminal, reason=ready_reason,
                   message=f"containers with unready status: {_names(unready)}", now=now),
        _condition(conds, type_="ContainersReady", ok=not unready and not terminal, reason=ready_reason,
                   message=f"containers with unready status: {_names(unready)}", now=now),
        scheduled if scheduled is not None and scheduled.status == "True"
        else Condition(type="PodScheduled", status="True", last_transition_time=now),
    ]  # fmt: skip
    if terminal:
        out.conditions[1].message = out.conditions[2].message = ""
    return out
