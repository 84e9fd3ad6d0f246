"""PodDisruptionBudget status (pure), as Kubernetes' disruption controller keeps it.

- expectedPods: the scale of the pods' controllers when every selected pod has one we know
  (a ReplicaSet's replicas, a DaemonSet's desired count; so a pod already gone still counts
  as expected), else the number of selected pods.
- desiredHealthy: minAvailable (a percentage of expectedPods, rounded up), or expectedPods
  minus maxUnavailable (a percentage rounded up).
- currentHealthy: selected pods that are Ready, not being deleted, and not just evicted
  (disruptedPods: an eviction is in flight; entries go when the pod does or after 2 min).
- disruptionsAllowed = max(currentHealthy - desiredHealthy, 0); condition DisruptionAllowed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from orchestrator.controllers import pods as podutil
from orchestrator.controllers.clock import format_time, parse_time
from orchestrator.model.base import Condition, clone
from orchestrator.model.policy import PodDisruptionBudget, PodDisruptionBudgetStatus

DELETION_TIMEOUT_S = 120.0
Scale = Callable[[Any], int | None]  # a pod -> its controller's desired count (None: unknown)


def _scaled(value: int | str, total: int) -> int:
    if isinstance(value, int):
        return value
    return math.ceil(int(value.rstrip("%")) * total / 100)


def budget_status(pdb: PodDisruptionBudget, pods: list[Any], *, scale: Scale, now: float) -> PodDisruptionBudgetStatus:
    spec = pdb.spec
    selected = [p for p in pods if not podutil.is_finished(p)]
    expected = len(selected)
    if spec.max_unavailable is not None or isinstance(spec.min_available, str):
        scales = {}
        for p in selected:
            ref = next((o for o in p.metadata.owner_references if o.controller), None)
            size = scale(p) if ref is not None else None
            if size is None:
                scales = {}
                break
            scales[ref.uid] = size
        if scales:
            expected = sum(scales.values())
    if spec.min_available is not None:
        desired = _scaled(spec.min_available, expected)
    elif spec.max_unavailable is not None:
        desired = max(expected - _scaled(spec.max_unavailable, expected), 0)
    else:
        desired = expected  # neither: no voluntary disruption (policy/v1 defaults minAvailable to 100%)
    alive = {p.metadata.name for p in selected if p.metadata.deletion_timestamp is None}
    disrupted = {name: at for name, at in pdb.status.disrupted_pods.items()
                 if name in alive and now - (parse_time(at) or now) < DELETION_TIMEOUT_S}
    healthy = sum(1 for p in selected if p.metadata.name in alive and p.metadata.name not in disrupted
                  and podutil.is_ready(p))
    allowed = max(healthy - desired, 0)
    old = next((c for c in pdb.status.conditions if c.type == "DisruptionAllowed"), None)
    status = "True" if allowed > 0 else "False"
    condition = Condition(type="DisruptionAllowed", status=status,
                          reason="SufficientPods" if allowed > 0 else "InsufficientPods",
                          message="" if allowed > 0 else f"{healthy} healthy of {desired} needed",
                          last_transition_time=old.last_transition_time if old and old.status == status
                          else format_time(now))
    return PodDisruptionBudgetStatus(observed_generation=pdb.metadata.generation, disrupted_pods=disrupted,
                                     disruptions_allowed=allowed, current_healthy=healthy, desired_healthy=desired,
                                     expected_pods=expected, conditions=[condition])


def with_status(pdb: PodDisruptionBudget, status: PodDisruptionBudgetStatus) -> PodDisruptionBudget | None:
    """The budget to write, or None when its status is already this."""
    if status == pdb.status:
        return None
    out = clone(pdb)
    out.status = status
    return out
