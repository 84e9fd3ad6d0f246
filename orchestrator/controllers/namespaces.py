"""Namespace termination decisions (pure): what a Terminating namespace's status says
while its contents go, in Kubernetes' condition types and reasons, so `orch describe ns`
(and kubectl) answer "why is my namespace stuck in Terminating?"."""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.model.base import Condition

CONTENT_REMAINING = "NamespaceContentRemaining"
FINALIZERS_REMAINING = "NamespaceFinalizersRemaining"


def _content(remaining: Mapping[str, int], now: str) -> Condition:
    if not remaining:
        return Condition(type=CONTENT_REMAINING, status="False", reason="ContentRemoved",
                         message="All resources successfully removed", last_transition_time=now)
    parts = ", ".join(f"{resource} has {n} resource instances" for resource, n in sorted(remaining.items()))
    return Condition(type=CONTENT_REMAINING, status="True", reason="SomeResourcesRemain",
                     message=f"Some resources are remaining: {parts}", last_transition_time=now)


def _finalizers(held: Mapping[str, int], now: str) -> Condition:
    if not held:
        return Condition(type=FINALIZERS_REMAINING, status="False", reason="ContentHasNoFinalizers",
                         message="All content-preserving finalizers finished", last_transition_time=now)
    parts = ", ".join(f"{finalizer} in {n} resource instances" for finalizer, n in sorted(held.items()))
    return Condition(type=FINALIZERS_REMAINING, status="True", reason="SomeFinalizersRemain",
                     message=f"Some content in the namespace has finalizers remaining: {parts}",
                     last_transition_time=now)


def termination_conditions(old: list[Condition], *, remaining: Mapping[str, int], held: Mapping[str, int],
                           now: str) -> list[Condition]:
    """The namespace's conditions for what remains: `remaining` counts objects by resource,
    `held` counts objects by the finalizer holding them. A condition keeps its transition
    time while its status stays the same."""
    out = [c for c in old if c.type not in (CONTENT_REMAINING, FINALIZERS_REMAINING)]
    for c in (_content(remaining, now), _finalizers(held, now)):
        before = next((o for o in old if o.type == c.type), None)
        if before is not None and before.status == c.status:
            c.last_transition_time = before.last_transition_time
        out.append(c)
    return out
