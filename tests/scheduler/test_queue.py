"""The scheduling queue, and the scheduler's event handlers moving unschedulable pods back."""

from __future__ import annotations

import asyncio

import msgspec
import pytest

from orchestrator.aio.metrics import Metrics
from orchestrator.scheduler import Scheduler
from orchestrator.scheduler.pods import pod_info
from orchestrator.scheduler.queue import SchedulingQueue
from orchestrator.scheduler.running import SchedulerSettings
from tests.scheduler.factories import info, make_node, make_pod

BACKOFF = 0.2


async def pop(q: SchedulingQueue, n: int = 100) -> list[str]:
    batch, _ = await asyncio.wait_for(q.pop_batch(n), 1)
    return [p.name for p in batch]


async def nothing_ready(q: SchedulingQueue) -> bool:
    try:
        await asyncio.wait_for(q.pop_batch(10), 0.05)
    except TimeoutError:
        return True
    return False


async def test_priority_then_creation_order_and_dedup() -> None:
    q = SchedulingQueue(initial_backoff_s=BACKOFF)
    q.add(info(name="late", created="2024-01-02T00:00:00Z"))
    q.add(info(name="early", created="2024-01-01T00:00:00Z"))
    q.add(info(name="urgent", created="2024-01-03T00:00:00Z", priority=1000))
    q.add(info(name="early", created="2024-01-01T00:00:00Z"))  # a repeat collapses
    assert await pop(q) == ["urgent", "early", "late"]
    assert await nothing_ready(q)


async def test_unschedulable_pods_wait_for_a_change() -> None:
    q = SchedulingQueue(initial_backoff_s=BACKOFF)
    q.add(info(name="big"))
    batch, cycle = await q.pop_batch(10)
    q.failed(batch[0].key, cycle)
    assert q.unschedulable == 1
    assert await nothing_ready(q)  # no change, no retry
    q.move_all()
    assert await nothing_ready(q)  # moved, but backing off for its first retry
    await asyncio.sleep(BACKOFF + 0.05)
    assert await pop(q) == ["big"]


async def test_a_move_during_the_try_sends_the_pod_to_back_off_not_to_sleep() -> None:
    q = SchedulingQueue(initial_backoff_s=BACKOFF)
    q.add(info(name="p"))
    batch, cycle = await q.pop_batch(10)
    q.move_all()  # a node was added while this batch was being planned
    q.failed(batch[0].key, cycle)
    assert q.unschedulable == 0
    await asyncio.sleep(BACKOFF + 0.05)
    assert await pop(q) == ["p"]


async def test_lost_race_waits_for_the_next_version() -> None:
    q = SchedulingQueue(initial_backoff_s=BACKOFF)
    pod = make_pod("p")
    q.add(pod_info(pod))
    batch, _ = await q.pop_batch(10)
    q.lost_race(batch[0].key, batch[0].resource_version)
    assert await nothing_ready(q)
    newer = msgspec.structs.replace(pod, metadata=msgspec.structs.replace(pod.metadata, resource_version="99999"))
    q.add(pod_info(newer))
    assert await pop(q) == ["p"]


async def test_lost_race_with_a_newer_version_already_here_retries_at_once() -> None:
    q = SchedulingQueue(initial_backoff_s=BACKOFF)
    pod = make_pod("p")
    q.add(pod_info(pod))
    batch, _ = await q.pop_batch(10)
    q.add(pod_info(msgspec.structs.replace(pod, metadata=msgspec.structs.replace(pod.metadata, resource_version="7"))))
    q.lost_race(batch[0].key, batch[0].resource_version)
    assert await pop(q) == ["p"]


async def test_removed_pods_vanish_everywhere() -> None:
    q = SchedulingQueue(initial_backoff_s=BACKOFF)
    q.add(info(name="a"))
    q.add(info(name="b"))
    q.remove("default/a")
    assert await pop(q) == ["b"]
    q.failed("default/b", q.cycle)
    q.remove("default/b")
    q.move_all()
    assert len(q) == 0


async def test_stale_unschedulable_pods_are_flushed() -> None:
    q = SchedulingQueue(flush_after_s=0.0, initial_backoff_s=BACKOFF)
    q.add(info(name="p"))
    batch, cycle = await q.pop_batch(10)
    q.failed(batch[0].key, cycle)
    assert q.flush_stale() == 1
    assert await pop(q) == ["p"]


class _NoBinder:
    async def __call__(self, **kwargs: object) -> None:
        raise AssertionError("not used")


@pytest.fixture
def scheduler() -> Scheduler:
    return Scheduler(object(), metrics=Metrics(), recorder=None, binder=_NoBinder(),  # type: ignore[arg-type]
                     settings=SchedulerSettings(initial_backoff_s=BACKOFF))


async def _plan_once(s: Scheduler) -> list[str]:
    batch, cycle = await asyncio.wait_for(s.queue.pop_batch(100), 1)
    plan = s.planner.schedule(s.snapshot, batch)
    for f in plan.failures:
        s.queue.failed(f.pod.key, cycle)
    for a in plan.assignments:
        s.queue.done(a.pod.key)
    return [a.pod.name for a in plan.assignments]


async def test_a_new_node_moves_unschedulable_pods_back(scheduler: Scheduler) -> None:
    s = scheduler
    s._node_changed(make_node("small", cpu="1"))
    s._pod_changed(make_pod("big", cpu="2"))
    assert await _plan_once(s) == []
    assert s.queue.is_unschedulable("default/big")
    s._node_changed(make_node("small", cpu="1"))  # a heartbeat: nothing the filters see
    assert s.queue.is_unschedulable("default/big")
    s._node_changed(make_node("large", cpu="4"))
    assert not s.queue.is_unschedulable("default/big")
    await asyncio.sleep(BACKOFF + 0.05)  # its first retry backs off
    assert await _plan_once(s) == ["big"]


async def test_a_deleted_pod_moves_unschedulable_pods_back(scheduler: Scheduler) -> None:
    s = scheduler
    s._node_changed(make_node("gpu-0", gpus=1))
    holder = make_pod("holder", gpus=1, node_name="gpu-0", devices=["GPU-gpu-0-00"], phase="Running")
    s._pod_changed(holder)
    s._pod_changed(make_pod("waiting", gpus=1))
    assert await _plan_once(s) == []
    assert s.queue.is_unschedulable("default/waiting")
    s._pod_changed(make_pod("other", node_name="gpu-0", phase="Running"))  # a pod added frees nothing
    assert s.queue.is_unschedulable("default/waiting")
    s._pod_deleted(holder)
    assert not s.queue.is_unschedulable("default/waiting")
    await asyncio.sleep(BACKOFF + 0.05)
    assert await _plan_once(s) == ["waiting"]
