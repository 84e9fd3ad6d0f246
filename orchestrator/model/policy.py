"""policy/v1 PodDisruptionBudget and Eviction.

A PodDisruptionBudget says how many of the pods its selector picks may be down at once
for voluntary disruptions (drains, evictions): `minAvailable` or `maxUnavailable`, an int
or a percentage. The disruption controller keeps `status.disruptionsAllowed`; the eviction
subresource (`POST pods/NAME/eviction`, what `kubectl drain` and `orch drain` use) spends
it, and answers 429 when an eviction would break the budget.
"""

from __future__ import annotations

from typing import Any

import msgspec

from orchestrator.model.base import Condition, Object, ObjectMeta, Spec
from orchestrator.model.selectors import SelectorError, from_label_selector
from orchestrator.model.templates import LabelSelector

IntOrString = int | str


class PodDisruptionBudgetSpec(Spec):
    min_available: IntOrString | None = None
    max_unavailable: IntOrString | None = None
    selector: LabelSelector | None = None  # None selects no pod; {} selects every pod of the namespace
    unhealthy_pod_eviction_policy: str | None = None  # IfHealthyBudget (default) | AlwaysAllow


class PodDisruptionBudgetStatus(Spec):
    observed_generation: int = 0
    disrupted_pods: dict[str, str] = msgspec.field(default_factory=dict)  # pod name -> when evicted
    disruptions_allowed: int = 0
    current_healthy: int = 0
    desired_healthy: int = 0
    expected_pods: int = 0
    conditions: list[Condition] = msgspec.field(default_factory=list)


class PodDisruptionBudget(Object):
    spec: PodDisruptionBudgetSpec = msgspec.field(default_factory=PodDisruptionBudgetSpec)
    status: PodDisruptionBudgetStatus = msgspec.field(default_factory=PodDisruptionBudgetStatus)


class EvictionDeleteOptions(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """The DeleteOptions in an Eviction; only the grace period matters here (dryRun,
    preconditions and the like are accepted and not acted on)."""

    grace_period_seconds: int | None = None


class Eviction(Spec):
    """The body of POST pods/NAME/eviction (policy/v1 Eviction)."""

    api_version: str = ""
    kind: str = ""
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    delete_options: EvictionDeleteOptions | None = None


def selects(pdb: PodDisruptionBudget, pod: Any) -> bool:
    """Whether the budget covers the pod (policy/v1: a nil selector selects nothing, an empty
    one every pod of the namespace)."""
    if pdb.spec.selector is None:
        return False
    try:
        return from_label_selector(pdb.spec.selector).matches(pod.metadata.labels)
    except SelectorError:
        return False
