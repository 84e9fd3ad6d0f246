"""The applier's outcomes: bound, conflict, gone, and errors whose outcome is unknown."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from orchestrator.aio.metrics import Metrics
from orchestrator.client.responses import Unreachable
from orchestrator.model.errors import Conflict, NotFound
from orchestrator.scheduler.applier import Applier
from orchestrator.scheduler.eventing import EventSink
from orchestrator.scheduler.planning import schedule
from orchestrator.scheduler.queue import SchedulingQueue
from tests.scheduler.factories import info, make_node, make_pod, snapshot_of


class FakeBinder:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error


class FakeApi:
    def __init__(self, pod: Any) -> None:
        self.pod = pod

    async def get(self, kind: str, name: str, *, namespace: str = "") -> Any:
        if self.pod is None:
            raise NotFound("gone")
        if isinstance(self.pod, Exception):
            raise self.pod
        return self.pod


class FakeRecorder:
    async def record(self, obj: Any, *, reason: str, message: str, type_: str = "Normal") -> None: ...


async def setup(error: Exception | None, current: Any = None) -> tuple[Applier, Any, FakeBinder]:
    snap = snapshot_of(make_node("gpu-0", gpus=2))
    queue = SchedulingQueue(initial_backoff_s=0.01)
    pod = info(name="nb", gpus=1)
    queue.add(pod)
    batch, _ = await queue.pop_batch(10)
    (a,) = schedule(snap, batch).assignments
    binder = FakeBinder(error)
    applier = Applier(api=FakeApi(current), binder=binder, snapshot=snap, queue=queue,  # type: ignore[arg-type]
                      events=EventSink(FakeRecorder(), metrics=Metrics()),  # type: ignore[arg-type]
                      metrics=Metrics())
    return applier, a, binder


async def test_bound_posts_the_binding_with_cas_and_devices() -> None:
    applier, a, binder = await setup(None)
    assert await applier.apply(a) == "bound"
    assert binder.calls == [{"namespace": "default", "name": "nb", "node_name": "gpu-0",
                             "resource_version": a.pod.resource_version,
                             "annotations": {"orch.io/gpu-devices": "GPU-gpu-0-00"}}]
    assert "default/nb" in applier.snapshot.assumed  # until the informer confirms
    assert len(applier.queue) == 0
    assert applier.events._todo.qsize() == 1  # the Scheduled event, posted not written


async def test_conflict_forgets_and_waits_for_the_next_version() -> None:
    applier, a, _ = await setup(Conflict("modified"))
    assert await applier.apply(a) == "conflict"
    assert applier.snapshot.nodes["gpu-0"].free_gpus == 2
    assert len(applier.queue) == 1 and applier.queue.active == 0


async def test_not_found_forgets_the_pod() -> None:
    applier, a, _ = await setup(NotFound("gone"))
    assert await applier.apply(a) == "gone"
    assert applier.snapshot.nodes["gpu-0"].free_gpus == 2 and len(applier.queue) == 0


@pytest.mark.parametrize("error", [Unreachable("no answer"), TimeoutError()])
async def test_unknown_outcome_but_bound_keeps_the_assumption(error: Exception) -> None:
    pod = make_pod("nb", gpus=1)
    bound = msgspec.structs.replace(pod, spec=msgspec.structs.replace(pod.spec, node_name="gpu-0"))
    applier, a, _ = await setup(error, current=bound)
    assert await applier.apply(a) == "error"
    assert applier.snapshot.nodes["gpu-0"].free_gpus == 1 and len(applier.queue) == 0


async def test_unknown_outcome_and_unbound_forgets_and_retries() -> None:
    applier, a, _ = await setup(Unreachable("no answer"), current=make_pod("nb", gpus=1))
    assert await applier.apply(a) == "error"
    assert applier.snapshot.nodes["gpu-0"].free_gpus == 2
    await asyncio.sleep(0.05)
    assert applier.queue.active == 1  # back after its back-off


async def test_unknown_outcome_unknown_state_keeps_counting_the_device() -> None:
    applier, a, _ = await setup(Unreachable("no answer"), current=Unreachable("still no answer"))
    assert await applier.apply(a) == "error"
    assert applier.snapshot.nodes["gpu-0"].free_gpus == 1  # counted: never handed out twice
    await asyncio.sleep(0.05)
    assert applier.queue.active == 1


async def test_binder_passes_cas_and_devices_to_the_api() -> None:
    from orchestrator.scheduler.binding import binder_for

    class Api:
        def __init__(self) -> None:
            self.calls: list[tuple[Any, ...]] = []

        async def bind(self, namespace: str, pod_name: str, node_name: str, *, expected_rv: str = "",
                       annotations: dict[str, str] | None = None) -> None:
            self.calls.append((namespace, pod_name, node_name, expected_rv, annotations))

    api = Api()
    await binder_for(api)(namespace="default", name="p", node_name="n", resource_version="7",  # type: ignore[arg-type]
                          annotations={"a": "b"})
    assert api.calls == [("default", "p", "n", "7", {"a": "b"})]
