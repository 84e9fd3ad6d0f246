"""The controller runtime: keys, one worker per key, retries, stop, requeue, filters, resync,
and waiting for one's own writes — on the real in-process store."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from orchestrator.client.informers import Informer, object_key
from orchestrator.controllers.runner import Result, TerminalError, Watch, run_controller, wait_observed
from orchestrator.model.base import ObjectMeta
from orchestrator.model.config import ConfigMap
from tests.controllers.conftest import eventually


def cm(name: str, **data: str) -> ConfigMap:
    return ConfigMap(metadata=ObjectMeta(name=name, namespace="default"), data=dict(data))


class Toy:
    name = "toy"
    workers = 4
    resync_s = 3600.0

    def __init__(self, informer: Informer, *, relevant: Any = None) -> None:
        self.informer, self.relevant = informer, relevant
        self.calls: Counter[str] = Counter()
        self.busy: set[str] = set()
        self.overlap = False
        self.behaviour: dict[str, str] = {}

    def primary(self) -> Informer:
        return self.informer

    def watches(self) -> list[Watch]:
        return [Watch(self.informer, keys=lambda o: [object_key(o)], relevant=self.relevant)]

    async def reconcile(self, key: str) -> Result | None:
        if key in self.busy:
            self.overlap = True
        self.busy.add(key)
        try:
            self.calls[key] += 1
            await asyncio.sleep(0.01)
            how = self.behaviour.get(key, "")
            if how == "fail" and self.calls[key] < 3:
                raise RuntimeError("transient")
            if how == "terminal":
                raise TerminalError("never")
            if how == "requeue" and self.calls[key] < 3:
                return Result(requeue_after=0.05)
            return None
        finally:
            self.busy.discard(key)


async def run_toy(toy: Toy) -> asyncio.Task[Any]:
    started = asyncio.Event()
    task = asyncio.create_task(run_controller(toy, started=started.set), name="toy")
    informer_task = asyncio.create_task(toy.informer.run(), name="toy-informer")
    await asyncio.wait_for(started.wait(), 5)
    toy.informer_task = informer_task  # type: ignore[attr-defined]
    return task


async def stop(toy: Toy, task: asyncio.Task[Any]) -> None:
    for t in (task, toy.informer_task):  # type: ignore[attr-defined]
        t.cancel()
    await asyncio.gather(task, toy.informer_task, return_exceptions=True)  # type: ignore[attr-defined]


async def test_keys_are_deduplicated_never_run_twice_at_once_and_retried(local_api: Any) -> None:
    toy = Toy(Informer(local_api, "ConfigMap"))
    toy.behaviour = {"default/flaky": "fail", "default/stop": "terminal", "default/later": "requeue"}
    task = await run_toy(toy)
    try:
        for name in ("a", "flaky", "stop", "later"):
            await local_api.create(cm(name))
        for i in range(20):  # a burst of updates to one key
            await local_api.patch("ConfigMap", "a", {"data": {"i": str(i)}}, namespace="default")
        await eventually(lambda: _at_least(toy, {"default/flaky": 3, "default/later": 3, "default/stop": 1}),
                         timeout=5, what="retries and requeues")
        await asyncio.sleep(0.3)
        assert toy.calls["default/stop"] == 1  # terminal: not retried
        assert toy.calls["default/a"] < 21  # repeats collapsed
        assert not toy.overlap
    finally:
        await stop(toy, task)


async def _at_least(toy: Toy, want: dict[str, int]) -> bool:
    return all(toy.calls[k] >= n for k, n in want.items())


async def test_irrelevant_updates_enqueue_nothing(local_api: Any) -> None:
    toy = Toy(Informer(local_api, "ConfigMap"), relevant=lambda old, new: old.metadata.labels != new.metadata.labels)
    task = await run_toy(toy)
    try:
        await local_api.create(cm("x"))
        await eventually(lambda: _at_least(toy, {"default/x": 1}), timeout=5)
        await local_api.patch("ConfigMap", "x", {"data": {"k": "v"}}, namespace="default")
        await asyncio.sleep(0.2)
        assert toy.calls["default/x"] == 1
        await local_api.patch("ConfigMap", "x", {"metadata": {"labels": {"a": "b"}}}, namespace="default")
        await eventually(lambda: _at_least(toy, {"default/x": 2}), timeout=5)
    finally:
        await stop(toy, task)


async def test_resync_uses_resync_keys_when_a_controller_has_them(local_api: Any) -> None:
    toy = Toy(Informer(local_api, "ConfigMap"))
    toy.resync_s = 0.05
    toy.resync_keys = lambda: ["made/up"]  # type: ignore[attr-defined]
    task = await run_toy(toy)
    try:
        await eventually(lambda: _at_least(toy, {"made/up": 2}), timeout=5, what="resyncs of the custom key")
    finally:
        await stop(toy, task)


async def test_wait_observed_waits_for_the_cache_to_see_a_write(local_api: Any) -> None:
    informer = Informer(local_api, "ConfigMap")
    task = asyncio.create_task(informer.run(), name="informer")
    try:
        await informer.synced.wait()
        created = await local_api.create(cm("w"))
        rv = int(created.metadata.resource_version)
        assert await wait_observed(informer, rv, timeout=5)
        assert informer.get("w", "default") is not None
        assert not await wait_observed(informer, rv + 1000, timeout=0.1)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
