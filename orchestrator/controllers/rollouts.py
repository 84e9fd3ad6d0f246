"""Rollout arithmetic (pure), as the Kubernetes deployment controller does it.

- `scaled_value`: maxSurge/maxUnavailable as ints or percentages of replicas; surge rounds
  up, unavailable rounds down; both 0 would deadlock, so unavailable becomes 1.
- `rolling_step`: one step of RollingUpdate: first grow the new ReplicaSet within
  `replicas + maxSurge` pods; otherwise shrink old ReplicaSets, unhealthy pods first,
  never below `replicas - maxUnavailable` available.
- `recreate_step`: Recreate: old ReplicaSets to zero, wait until their pods are gone,
  then the new one to `replicas`.
- `proportional_step`: a Deployment resized mid-rollout spreads the change over its
  active ReplicaSets in proportion to their sizes.

A ReplicaSet is seen as `RSView`: its spec replicas and how many of its pods are
available, capped by its replicas (what it will have left once it has scaled down: the
ReplicaSet controller deletes not-ready pods first). That cap keeps the arithmetic
safe while ReplicaSets are still catching up with a scale-down.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec

from orchestrator.model.base import clone
from orchestrator.model.templates import PodTemplateSpec

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
CHANGE_CAUSE = "kubernetes.io/change-cause"
_ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(slots=True)
class RSView:
    name: str
    replicas: int       # spec.replicas
    available: int      # available pods, at most `replicas`
    created: float = 0.0
    pods: int = 0       # pods not yet gone (active or terminating), for Recreate
    desired: int | None = None       # the desired-replicas annotation: the Deployment size it was sized for
    max_replicas: int | None = None  # the max-replicas annotation: that size plus maxSurge


def scaled_value(value: int | str | None, total: int, *, round_up: bool) -> int:
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.endswith("%"):
        pct = int(text[:-1])
        exact = pct * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(text)


def fenceposts(max_surge: int | str | None, max_unavailable: int | str | None, replicas: int) -> tuple[int, int]:
    surge = scaled_value(max_surge, replicas, round_up=True)
    unavailable = scaled_value(max_unavailable, replicas, round_up=False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def new_replicas(*, replicas: int, surge: int, views: list[RSView], new: RSView) -> int:
    """How big the new ReplicaSet may be now (NewRSNewReplicas for RollingUpdate)."""
    current = sum(v.replicas for v in views)
    max_total = replicas + surge
    if current >= max_total:
        return new.replicas
    grow = min(max_total - current, replicas - new.replicas)
    return new.replicas + max(grow, 0)


def rolling_step(*, replicas: int, surge: int, unavailable: int, new: RSView, old: list[RSView]) -> dict[str, int]:
    """New spec.replicas by ReplicaSet name, for the ReplicaSets that change in this step."""
    if new.replicas > replicas:
        return {new.name: replicas}
    views = [*old, new]
    if new.replicas < replicas:
        target = new_replicas(replicas=replicas, surge=surge, views=views, new=new)
        if target != new.replicas:
            return {new.name: target}
    return _scale_down_old(replicas=replicas, unavailable=min(unavailable, replicas), new=new, old=old)


def _scale_down_old(*, replicas: int, unavailable: int, new: RSView, old: list[RSView]) -> dict[str, int]:
    if sum(v.replicas for v in old) == 0:
        return {}
    all_pods = sum(v.replicas for v in old) + new.replicas
    min_available = replicas - unavailable
    new_unavailable = new.replicas - new.available
    max_scaled_down = all_pods - min_available - new_unavailable
    if max_scaled_down <= 0:
        return {}
    ordered = sorted(old, key=lambda v: (v.created, v.name))
    targets: dict[str, int] = {}
    cleaned = 0
    for v in ordered:  # unhealthy pods of old ReplicaSets go first: they cost no availability
        if cleaned >= max_scaled_down:
            break
        unhealthy = v.replicas - v.available
        if v.replicas == 0 or unhealthy <= 0:
            continue
        n = min(max_scaled_down - cleaned, unhealthy)
        targets[v.name] = v.replicas - n
        cleaned += n
    available = new.available + sum(min(targets.get(v.name, v.replicas), v.available) for v in old)
    if available <= min_available:
        return targets
    budget = available - min_available
    scaled = 0
    for v in ordered:
        if scaled >= budget:
            break
        current = targets.get(v.name, v.replicas)
        if current == 0:
            continue
        n = min(current, budget - scaled)
        targets[v.name] = current - n
        scaled += n
    return targets


def is_scaling_event(replicas: int, views: list[RSView]) -> bool:
    """The Deployment was resized since its active ReplicaSets were last sized."""
    return any(v.replicas > 0 and v.desired is not None and v.desired != replicas for v in views)


def proportional_step(*, replicas: int, surge: int, views: list[RSView], status_replicas: int) -> dict[str, int]:
    """Kubernetes' proportional scaling: a Deployment resized in the middle of a rollout
    spreads the change over its active ReplicaSets in proportion to their sizes (so
    neither the old nor the new template suddenly gets it all); what rounding leaves goes
    to the largest. Every active ReplicaSet is in the answer, so all get re-annotated."""
    active = [v for v in views if v.replicas > 0]
    allowed = replicas + surge if replicas > 0 else 0
    to_add = allowed - sum(v.replicas for v in active)
    # bigger first; ties: newer first when growing, older first when shrinking
    order = sorted(active, key=lambda v: (-v.replicas, -v.created if to_add > 0 else v.created, v.name))
    targets = {v.name: v.replicas for v in order}
    added = 0
    for v in order:
        if to_add == 0 or added == to_add:
            break
        share = _fraction(v, replicas=replicas, surge=surge, status_replicas=status_replicas)
        step = min(share, to_add - added) if to_add > 0 else max(share, to_add - added)
        targets[v.name] += step
        added += step
    if order and to_add != added:
        first = order[0].name
        targets[first] = max(targets[first] + to_add - added, 0)
    return targets


def _fraction(v: RSView, *, replicas: int, surge: int, status_replicas: int) -> int:
    if replicas == 0:
        return -v.replicas
    annotated = v.max_replicas if v.max_replicas else status_replicas
    if annotated <= 0:
        return 0
    return math.floor(v.replicas * (replicas + surge) / annotated + 0.5) - v.replicas


def recreate_step(*, replicas: int, new: RSView | None, old: list[RSView]) -> tuple[dict[str, int], bool]:
    """(targets, may the new ReplicaSet run yet). Old ones go to zero first and their pods
    must be gone before the new one scales up."""
    down = {v.name: 0 for v in old if v.replicas > 0}
    if down:
        return down, False
    if any(v.pods > 0 for v in old):
        return {}, False
    if new is not None and new.replicas != replicas:
        return {new.name: replicas}, True
    return {}, True


# --- templates and revisions ------------------------------------------------------------

def _without_hash(template: PodTemplateSpec) -> bytes:
    t = clone(template)
    t.metadata.labels.pop(HASH_LABEL, None)
    return _sorted_json(t)


def _sorted_json(obj: object) -> bytes:
    return msgspec.json.encode(msgspec.to_builtins(obj), order="sorted")


def same_template(a: PodTemplateSpec, b: PodTemplateSpec) -> bool:
    """Equal but for the pod-template-hash label (EqualIgnoreHash)."""
    return _without_hash(a) == _without_hash(b)


def template_hash(template: PodTemplateSpec, collision_count: int | None = None) -> str:
    """fnv-1a (32 bit) of the template, spelled with kubernetes' safe alphabet."""
    data = _without_hash(template)
    if collision_count:
        data += str(collision_count).encode()
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return "".join(_ALPHANUMS[b % len(_ALPHANUMS)] for b in str(h).encode())


def revision_number(obj: object) -> int:
    try:
        return int(obj.metadata.annotations.get(REVISION, "0"))  # type: ignore[attr-defined]
    except ValueError:
        return 0
