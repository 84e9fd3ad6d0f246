"""Rollout arithmetic: percentages, rounding, and a simulated rollout that must never
drop below `replicas - maxUnavailable` available nor exceed `replicas + maxSurge` pods."""

from __future__ import annotations

import random

import pytest

from orchestrator.controllers.rollouts import (RSView, fenceposts, is_scaling_event, proportional_step, recreate_step,
                                              rolling_step, scaled_value)


@pytest.mark.parametrize(("value", "total", "up", "want"), [
    (2, 10, True, 2), ("25%", 5, True, 2), ("25%", 5, False, 1), ("10%", 5, True, 1), ("10%", 5, False, 0),
    ("100%", 3, False, 3), ("0%", 3, True, 0), ("3", 10, True, 3), ("33%", 10, True, 4), ("33%", 10, False, 3),
])
def test_scaled_values_round_surge_up_and_unavailable_down(value: int | str, total: int, up: bool, want: int) -> None:
    assert scaled_value(value, total, round_up=up) == want


def test_fenceposts_never_both_zero() -> None:
    assert fenceposts("25%", "25%", 5) == (2, 1)
    assert fenceposts(0, 0, 3) == (0, 1)
    assert fenceposts("10%", "10%", 5) == (1, 0)
    assert fenceposts("0%", "0%", 10) == (0, 1)


def test_first_step_surges_the_new_replicaset() -> None:
    old = [RSView("old", 5, 5)]
    assert rolling_step(replicas=5, surge=2, unavailable=1, new=RSView("new", 0, 0), old=old) == {"new": 2}


def test_old_scales_down_only_as_far_as_availability_allows() -> None:
    old = [RSView("old", 5, 5)]
    # new has 2 pods, none available: only maxUnavailable (1) old pods may go
    assert rolling_step(replicas=5, surge=2, unavailable=1, new=RSView("new", 2, 0), old=old) == {"old": 4}
    # both new pods available: old may drop to 3 (5 available stays >= 4 after)
    assert rolling_step(replicas=5, surge=2, unavailable=1, new=RSView("new", 2, 2), old=old) == {"old": 2}


def test_unhealthy_old_pods_are_cleaned_up_first() -> None:
    old = [RSView("older", 2, 0, created=1), RSView("old", 4, 4, created=2)]
    # 6 pods = 5 + surge: no room to grow the new one; the two unhealthy pods go first,
    # and no healthy one (4 available is the minimum)
    assert rolling_step(replicas=5, surge=1, unavailable=1, new=RSView("new", 0, 0), old=old) == {"older": 0}


def test_new_replicaset_above_replicas_is_scaled_down_at_once() -> None:
    assert rolling_step(replicas=0, surge=1, unavailable=0, new=RSView("new", 5, 5), old=[]) == {"new": 0}


def test_recreate_takes_old_to_zero_then_waits_for_their_pods() -> None:
    targets, may_run = recreate_step(replicas=3, new=RSView("new", 0, 0), old=[RSView("old", 3, 3, pods=3)])
    assert (targets, may_run) == ({"old": 0}, False)
    targets, may_run = recreate_step(replicas=3, new=RSView("new", 0, 0), old=[RSView("old", 0, 0, pods=2)])
    assert (targets, may_run) == ({}, False)
    targets, may_run = recreate_step(replicas=3, new=RSView("new", 0, 0), old=[RSView("old", 0, 0, pods=0)])
    assert (targets, may_run) == ({"new": 3}, True)


@pytest.mark.parametrize(("replicas", "surge_spec", "unavail_spec"), [
    (5, "25%", "25%"), (10, "30%", "30%"), (10, 0, 3), (4, 1, 0), (3, "100%", 0), (7, "50%", "10%"), (1, 1, 0),
])
def test_simulated_rollouts_keep_their_bounds(replicas: int, surge_spec: int | str, unavail_spec: int | str) -> None:
    """A tiny world: scale decisions apply at once; each new pod becomes available in a
    random later step; scaled-down pods vanish. Several old revisions at once, too."""
    rng = random.Random(f"{replicas}/{surge_spec}/{unavail_spec}")
    surge, unavailable = fenceposts(surge_spec, unavail_spec, replicas)
    sets = {"v1": [replicas, replicas], "v2": [replicas // 2, replicas // 2]}  # name -> [spec, available]
    sets["v1"][0] = sets["v1"][1] = replicas - replicas // 2
    for step in range(500):
        new = RSView("v3", *sets.get("v3", [0, 0]))
        old = [RSView(n, s, min(s, a), created=i) for i, (n, (s, a)) in enumerate(sorted(sets.items())) if n != "v3"]
        for name, target in rolling_step(replicas=replicas, surge=surge, unavailable=unavailable, new=new,
                                          old=old).items():
            spec, avail = sets.get(name, [0, 0])
            sets[name] = [target, min(avail, target)]
        total_pods = sum(s for s, _ in sets.values())
        available = sum(min(s, a) for s, a in sets.values())
        assert total_pods <= max(replicas + surge, 2 * replicas), (step, sets)
        assert available >= replicas - unavailable, (step, sets)
        v3 = sets.get("v3")
        if v3 is not None and v3[1] < v3[0] and rng.random() < 0.5:
            v3[1] += 1
        if v3 == [replicas, replicas] and all(s == 0 for n, (s, _) in sets.items() if n != "v3"):
            return
    pytest.fail(f"the rollout did not finish: {sets}")


def test_a_mid_rollout_resize_is_spread_in_proportion() -> None:
    """10 replicas with maxSurge 3, mid-rollout at 8 old + 5 new, resized to 15 (surge 4):
    19 allowed, 6 to add; old gets round(8*19/13) - 8 = 4, new round(5*19/13) - 5 = 2."""
    old = RSView("old", 8, 8, created=1.0, desired=10, max_replicas=13)
    new = RSView("new", 5, 0, created=2.0, desired=10, max_replicas=13)
    assert is_scaling_event(15, [old, new]) and not is_scaling_event(10, [old, new])
    targets = proportional_step(replicas=15, surge=4, views=[old, new], status_replicas=13)
    assert targets == {"old": 12, "new": 7}
    odd = proportional_step(replicas=12, surge=3, views=[old, new], status_replicas=13)  # 2 to add
    assert odd == {"old": 9, "new": 6}  # round(8*15/13) - 8 = 1, round(5*15/13) - 5 = 1


def test_proportional_shrink_and_to_zero() -> None:
    old = RSView("old", 6, 6, created=1.0, desired=10, max_replicas=12)
    new = RSView("new", 6, 6, created=2.0, desired=10, max_replicas=12)
    down = proportional_step(replicas=5, surge=2, views=[old, new], status_replicas=12)
    assert sum(down.values()) == 7 and abs(down["old"] - down["new"]) <= 1
    assert proportional_step(replicas=0, surge=0, views=[old, new], status_replicas=12) == {"old": 0, "new": 0}
    idle = RSView("idle", 0, 0, desired=3)
    assert not is_scaling_event(5, [idle])  # only active ReplicaSets count

