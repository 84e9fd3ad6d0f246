"""Node lifecycle decisions (pure): Ready condition, NoExecute taints, evictions, pausing.

- A node whose heartbeat (its Lease `kube-node-lease/<node>`) is stale gets Ready=Unknown
  (reason NodeStatusUnknown); when it is fresh again, Ready=True is restored (only if it
  was this controller that set Unknown: otherwise the agent owns the condition).
- Ready Unknown -> taints `node.kubernetes.io/unreachable` NoSchedule and NoExecute; Ready
  False -> `node.kubernetes.io/not-ready`, both effects; Ready True -> none. NoExecute
  taints carry timeAdded.
- Pods on a node with NoExecute taints are evicted (deleted, grace 0: the node cannot
  confirm) when a taint is not tolerated, or once the taint's age passes the least
  tolerationSeconds of the tolerations that match it (none: tolerated forever). A pod
  with no toleration for the two taints above gets `default_toleration_s`.
- Evictions pause when too much of the cluster is unhealthy at once
  (`evictions_paused`): the likelier fault is the control plane's view, not the nodes.
"""

from __future__ import annotations

from orchestrator.controllers import pods as podutil
from orchestrator.controllers.actions import Delete, Patch, Plan, Record, UpdateStatus
from orchestrator.controllers.clock import format_micro, format_time, parse_time
from orchestrator.controllers.placement import NOT_READY_TAINT, UNREACHABLE_TAINT, tolerates
from orchestrator.model.base import Condition, clone
from orchestrator.model.nodes import Node, Taint
from orchestrator.model.pods import Pod

READY = "Ready"
UNKNOWN_REASON = "NodeStatusUnknown"
NO_EXECUTE = "NoExecute"
OUR_TAINTS = (NOT_READY_TAINT, UNREACHABLE_TAINT)
OUR_EFFECTS = ("NoSchedule", NO_EXECUTE)


def ready_condition(node: Node) -> Condition | None:
    return next((c for c in node.status.conditions if c.type == READY), None)


def is_unhealthy(node: Node, *, stale: bool) -> bool:
    cond = ready_condition(node)
    return stale or (cond is not None and cond.status != "True")


def evictions_paused(*, total: int, unhealthy: int, threshold: float) -> bool:
    """All nodes down, or at least two and `threshold` of them: stop evicting."""
    if total == 0 or unhealthy == 0:
        return False
    return unhealthy == total or (unhealthy >= 2 and unhealthy / total >= threshold)


def wanted_ready(node: Node, *, stale: bool, now: float) -> Condition | None:
    """The Ready condition to write, or None to leave it as it is."""
    cond = ready_condition(node)
    t = format_time(now)
    if stale:
        if cond is not None and cond.status == "Unknown":
            return None
        return Condition(type=READY, status="Unknown", reason=UNKNOWN_REASON,
                         message="Kubelet stopped posting node status.", last_transition_time=t,
                         last_heartbeat_time=cond.last_heartbeat_time if cond else None)
    if cond is not None and cond.status == "Unknown" and cond.reason == UNKNOWN_REASON:
        return Condition(type=READY, status="True", reason="KubeletReady",
                         message="node lease renewed: the node is posting status again", last_transition_time=t,
                         last_heartbeat_time=t)
    return None


def wanted_taints(taints: list[Taint], *, ready: str | None, now: float) -> list[Taint]:
    """Our taint for the Ready state, in both effects (NoSchedule keeps new pods off, NoExecute
    evicts running ones, as Kubernetes' TaintNodesByCondition and taint manager do)."""
    want = {"Unknown": UNREACHABLE_TAINT, "False": NOT_READY_TAINT}.get(ready or "True")
    out: list[Taint] = []
    for t in taints:
        if t.key in OUR_TAINTS and t.effect in OUR_EFFECTS and t.key != want:
            continue
        if t.effect == NO_EXECUTE and not t.time_added:
            t = Taint(key=t.key, value=t.value, effect=t.effect, time_added=format_micro(now))
        out.append(t)
    for effect in OUR_EFFECTS if want is not None else ():
        if not any(t.key == want and t.effect == effect for t in out):
            out.append(Taint(key=want, effect=effect, time_added=format_micro(now) if effect == NO_EXECUTE else None))
    return out


def eviction_time(pod: Pod, taints: list[Taint], *, default_toleration_s: float, now: float) -> float | None:
    """When the pod must go (epoch seconds; may be in the past), or None: never."""
    when: float | None = None
    for t in taints:
        if t.effect != NO_EXECUTE:
            continue
        added = parse_time(t.time_added) or now
        matching = [tol for tol in pod.spec.tolerations if tolerates(tol, t)]
        if not matching:
            at = added + default_toleration_s if t.key in OUR_TAINTS else added
        else:
            seconds = [max(tol.toleration_seconds, 0) for tol in matching if tol.toleration_seconds is not None]
            if not seconds:
                continue  # tolerated for ever
            at = added + min(seconds)
        when = at if when is None else min(when, at)
    return when


def plan_node(node: Node, *, stale: bool, pods: list[Pod], now: float, paused: bool,
              default_toleration_s: float, why_paused: str = "") -> Plan:
    plan = Plan()
    name = node.metadata.name
    ready = ready_condition(node)
    new_ready = wanted_ready(node, stale=stale, now=now)
    if new_ready is not None:
        out = clone(node)
        out.status.conditions = [c for c in out.status.conditions if c.type != READY] + [new_ready]
        plan.actions.append(UpdateStatus(out))
        plan.actions.append(Record(node, "NodeNotReady" if new_ready.status != "True" else "NodeReady",
                                   f"Node {name} status is now: "
                                   f"{'NodeNotReady' if new_ready.status != 'True' else 'NodeReady'}",
                                   "Warning" if new_ready.status != "True" else "Normal"))
        ready = new_ready
    taints = wanted_taints(node.spec.taints, ready=ready.status if ready else None, now=now)
    if taints != node.spec.taints:
        plan.actions.append(Patch("Node", "", name, {"spec": {"taints": [_taint_dict(t) for t in taints]}}))
    due: list[Pod] = []
    for p in pods:
        if not podutil.is_active(p):
            continue
        at = eviction_time(p, taints, default_toleration_s=default_toleration_s, now=now)
        if at is None:
            continue
        if at <= now:
            due.append(p)
        else:
            plan.later(at - now)
    if due and paused:
        plan.actions.append(Record(node, "EvictionsPaused", f"not evicting {len(due)} pod(s) from {name}: {why_paused}",
                                   "Warning"))
    elif due:
        plan.actions += [Delete("Pod", p.metadata.namespace, p.metadata.name, grace=0) for p in due]
        plan.actions += [Record(p, "TaintManagerEviction", f"Marking for deletion Pod {p.metadata.namespace}/"
                                f"{p.metadata.name}") for p in due]
    return plan


def plan_orphaned_pods(pods: list[Pod]) -> Plan:
    """Pods bound to a node that no longer exists: force-deleted (pod GC)."""
    return Plan(actions=[Delete("Pod", p.metadata.namespace, p.metadata.name, grace=0) for p in pods])


def _taint_dict(t: Taint) -> dict[str, str]:
    d = {"key": t.key, "effect": t.effect}
    if t.value:
        d["value"] = t.value
    if t.time_added:
        d["timeAdded"] = t.time_added
    return d
