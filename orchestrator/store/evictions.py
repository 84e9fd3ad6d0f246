"""The eviction subresource (policy/v1 Eviction): a pod deletion that honours
PodDisruptionBudgets, as `kubectl drain` and `orch drain` use it.

Kubernetes' rules: a pod already being deleted, finished, or still Pending goes without
asking; a pod no budget selects is deleted; a pod two budgets select is refused (409: which
one would count is ambiguous); otherwise the budget must allow a disruption. Spending it is
an atomic update of the budget's status (disruptionsAllowed - 1, the pod noted in
disruptedPods), so concurrent evictions cannot overdraw; then the pod is deleted
gracefully. A budget the disruption controller has not processed yet, or one with no
disruption left, answers 429 (kubectl drain retries).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from orchestrator.model.base import clone
from orchestrator.model.errors import Conflict, NotFound, StatusCause, TooManyRequests
from orchestrator.model.registry import REGISTRY
from orchestrator.model.policy import selects
from orchestrator.store.store import Entry

if TYPE_CHECKING:
    from orchestrator.store.objects import Objects

PODS, PDBS = REGISTRY.by_kind("Pod"), REGISTRY.by_kind("PodDisruptionBudget")
IGNORES_BUDGETS = ("Succeeded", "Failed", "Pending")
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."


def _ready(pod: Any) -> bool:
    return pod.status.phase == "Running" and any(c.type == "Ready" and c.status == "True"
                                                 for c in pod.status.conditions)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


async def evict(objects: Objects, *, namespace: str, name: str, grace_period_seconds: int | None) -> Entry:
    """Evict the pod or raise (NotFound, Conflict, TooManyRequests); the pod's entry."""
    pod = objects.get(PODS, namespace, name).obj

    async def delete() -> Entry:
        entry, _ = await objects.delete(PODS, namespace=namespace, name=name,
                                        grace_period_seconds=grace_period_seconds)
        return entry

    if pod.metadata.deletion_timestamp or pod.status.phase in IGNORES_BUDGETS:  # type: ignore[attr-defined]
        return await delete()
    entries, _ = objects.store.list(PDBS.prefix(namespace))
    budgets = [e.obj for e in entries if selects(e.obj, pod)]
    if not budgets:
        return await delete()
    if len(budgets) > 1:
        raise Conflict(f'pod "{name}" is selected by more than one PodDisruptionBudget '
                       f'({", ".join(sorted(b.metadata.name for b in budgets))}); the eviction subresource '
                       "needs exactly one", kind="pods", name=name)
    (budget,) = budgets
    if not _ready(pod) and budget.spec.unhealthy_pod_eviction_policy == "AlwaysAllow":  # type: ignore[attr-defined]
        return await delete()

    def spend(current: Any) -> Any:
        st = current.status
        if st.observed_generation < current.metadata.generation:
            raise TooManyRequests(f"{VIOLATION} The disruption budget {current.metadata.name} is still being "
                                  "processed by the server.", causes=[_cause(current)])
        if not _ready(pod) and st.current_healthy >= st.desired_healthy:
            return None  # an unhealthy pod, and the budget is met without it: no disruption spent
        if st.disruptions_allowed <= 0:
            raise TooManyRequests(VIOLATION, causes=[_cause(current)])
        out = clone(current)
        out.status.disruptions_allowed -= 1
        out.status.disrupted_pods[name] = _now()
        return out

    try:
        await objects.store.guaranteed_update(PDBS.key(namespace, budget.metadata.name), spend)
    except NotFound:
        pass  # the budget went meanwhile: nothing to spend
    return await delete()


def _cause(budget: Any) -> StatusCause:
    st = budget.status
    return StatusCause(reason="DisruptionBudget", field="",
                       message=f"The disruption budget {budget.metadata.name} needs {st.desired_healthy} healthy "
                               f"pods and has {st.current_healthy} currently")
