"""What to do next for one pod: a pure function of the pod and its containers' attempts.

``plan_pod`` returns one ``Step`` per container that needs something, and the stale
attempts to remove; ``podsync_reconcile`` carries them out (pulls, back-off, events).

- Init containers run one at a time, in order; each must exit 0 before the next, and
  the app containers start only after the last.  A failed one is restarted (with
  back-off) unless restartPolicy is Never, which fails the pod.
- An app container is created when it has no attempt, started when an attempt was
  created but never started (an agent that died in between), killed when a probe
  says so, and re-created as attempt N+1 after it stopped when restartPolicy wants
  (Always; OnFailure on a non-zero or unknown exit code).
- A pod in a final phase (Succeeded/Failed) starts nothing and stops what still runs.
- A container that ran and whose attempts are all gone (removed by hand) counts as
  stopped with its last reported state: re-created by the restart policy, with the
  restart count carried on.
- Per container the newest two attempts are kept (``lastState`` and
  ``logs --previous`` read the older one); older ones are removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from orchestrator.agent.status import TERMINAL, is_stopped, lost_status
from orchestrator.model.containers import Container, ContainerStatus
from orchestrator.model.pods import Pod
from orchestrator.runtime.base import ContainerInfo

StepKind = Literal["create", "start", "restart", "kill", "run"]
KEEP_ATTEMPTS = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    kind: StepKind
    container: Container
    init: bool = False
    attempt: int = 0  # create/restart: the new attempt's restart count
    id: str = ""  # start/kill/run: the attempt concerned
    finished_at: str | None = None  # restart: when the last attempt stopped (back-off anchor)
    message: str = ""  # kill: why


@dataclass(slots=True)
class PodPlan:
    steps: list[Step] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)  # ids of stale attempts


def by_container(infos: list[ContainerInfo]) -> dict[str, list[ContainerInfo]]:
    """A pod's attempts per container name, oldest first."""
    out: dict[str, list[ContainerInfo]] = {}
    for info in sorted(infos, key=lambda i: (i.restart_count, i.created_at or "")):
        out.setdefault(info.container_name, []).append(info)
    return out


def wants_restart(policy: str, info: ContainerInfo) -> bool:
    if policy == "Never":
        return False
    if policy == "OnFailure":
        return info.exit_code != 0  # None: unknown, so not known to have succeeded
    return True


def _next(container: Container, atts: list[ContainerInfo], *, init: bool, policy: str,
          unhealthy: Callable[[str, str], str | None], lost: ContainerStatus | None) -> Step | None:
    """The step for one container, or None when it needs nothing (running or done)."""
    cur = atts[-1] if atts else None
    effective = "OnFailure" if init and policy == "Always" else policy
    if cur is None and lost is not None:  # it ran, and its container is gone (removed by hand)
        ended = lost.state.terminated
        code = ended.exit_code if ended is not None else None
        if effective == "Never" or (effective == "OnFailure" and code == 0):
            return None
        return Step(kind="restart", container=container, init=init, attempt=lost.restart_count + 1)
    if cur is None:
        return Step(kind="create", container=container, init=init, attempt=0)
    if cur.state == "running":
        why = unhealthy(container.name, cur.id)
        if why:
            return Step(kind="kill", container=container, init=init, id=cur.id, message=why)
        return Step(kind="run", container=container, init=init, id=cur.id)
    if cur.state == "created" and not cur.error:
        return Step(kind="start", container=container, init=init, id=cur.id)
    if not is_stopped(cur):
        return None  # "unknown": look again later
    if init and cur.exit_code == 0:
        return None
    if wants_restart(effective, cur):
        return Step(kind="restart", container=container, init=init, attempt=cur.restart_count + 1,
                    finished_at=cur.finished_at or cur.started_at or cur.created_at)
    return None


def stale(pod: Pod, infos: list[ContainerInfo]) -> list[str]:
    """Attempts to remove: all but the newest two per container, and any the spec does not name."""
    wanted = {c.name for c in (*pod.spec.init_containers, *pod.spec.containers)}
    out: list[str] = []
    for name, atts in by_container(infos).items():
        out.extend(a.id for a in (atts if name not in wanted else atts[:-KEEP_ATTEMPTS]))
    return out


def plan_pod(pod: Pod, infos: list[ContainerInfo], *,
             unhealthy: Callable[[str, str], str | None] = lambda name, cid: None) -> PodPlan:
    """``unhealthy(container name, container id)``: why probes want it restarted, or None."""
    plan = PodPlan(remove=stale(pod, infos))
    attempts = by_container(infos)
    spec = pod.spec
    if pod.status.phase in TERMINAL:
        plan.steps = [Step(kind="kill", container=c, id=a.id, message="the pod has finished")
                      for c in (*spec.init_containers, *spec.containers)
                      for a in attempts.get(c.name, []) if a.state == "running"]  # fmt: skip
        return plan
    policy = spec.restart_policy or "Always"
    for c in spec.init_containers:
        atts = attempts.get(c.name, [])
        lost = None if atts else lost_status(pod, c.name, init=True)
        if atts and is_stopped(atts[-1]) and atts[-1].exit_code == 0:
            continue  # done
        if lost is not None and lost.state.terminated is not None and lost.state.terminated.exit_code == 0:
            continue  # done, and its container removed since
        step = _next(c, atts, init=True, policy=policy, unhealthy=unhealthy, lost=lost)
        if step is not None:
            plan.steps.append(step)
        return plan  # not done yet (or failed for good): nothing after it may start
    for c in spec.containers:
        atts = attempts.get(c.name, [])
        lost = None if atts else lost_status(pod, c.name, init=False)
        step = _next(c, atts, init=False, policy=policy, unhealthy=unhealthy, lost=lost)
        if step is not None:
            plan.steps.append(step)
    return plan

