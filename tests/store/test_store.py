"""The SQLite store on a real file: CAS, ordering, durability across reopen, compaction."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from orchestrator.model.base import clone
from orchestrator.model.config import ConfigMap
from orchestrator.model.errors import AlreadyExists, Conflict, Gone, NotFound
from orchestrator.settings import StoreSettings
from orchestrator.store.events import ADDED, DELETED, MODIFIED
from orchestrator.store.store import Store


def cm(name: str, **data: str) -> ConfigMap:
    obj = ConfigMap(data=dict(data))
    obj.metadata.name, obj.metadata.namespace = name, "default"
    return obj


def key(name: str) -> str:
    return f"configmaps/default/{name}"


class Running:
    """A store with its writer running, closed at exit."""

    def __init__(self, path: Path, **settings: object) -> None:
        self.store = Store(StoreSettings(path=path, **settings))  # type: ignore[arg-type]

    async def __aenter__(self) -> Store:
        await self.store.open()
        self.task = asyncio.create_task(self.store.run())
        return self.store

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.store.close()


async def test_create_get_update_delete(tmp_path: Path) -> None:
    async with Running(tmp_path / "s.db") as store:
        e = await store.create(key("a"), cm("a", x="1"))
        assert e.rv == 1 and e.obj.metadata.resource_version == "1"
        with pytest.raises(AlreadyExists):
            await store.create(key("a"), cm("a"))
        new = clone(e.obj)
        new.data["x"] = "2"
        e2 = await store.update(key("a"), new, expected_rv=1)
        assert e2.rv == 2 and (await store.get(key("a"))).obj.data == {"x": "2"}
        with pytest.raises(Conflict):
            await store.update(key("a"), clone(new), expected_rv=1)
        await store.delete(key("a"), expected_rv=2)
        with pytest.raises(NotFound):
            await store.get(key("a"))


async def test_200_concurrent_cas_increments_lose_nothing(tmp_path: Path) -> None:
    async with Running(tmp_path / "s.db") as store:
        await store.create(key("counter"), cm("counter", n="0"))

        async def increment() -> int:
            attempts = 0
            while True:
                attempts += 1
                current = await store.get(key("counter"))
                new = clone(current.obj)
                new.data["n"] = str(int(new.data["n"]) + 1)
                try:
                    await store.update(key("counter"), new, expected_rv=current.rv)
                    return attempts
                except Conflict:
                    await asyncio.sleep(0)

        attempts = await asyncio.gather(*(increment() for _ in range(200)))
        assert (await store.get(key("counter"))).obj.data["n"] == "200"
        assert max(attempts) > 1  # the race really happened: some writers had to retry
    async with Running(tmp_path / "s.db") as store:  # and it is on disk
        assert (await store.get(key("counter"))).obj.data["n"] == "200"


async def test_group_commit_batches_concurrent_writes(tmp_path: Path) -> None:
    async with Running(tmp_path / "s.db") as store:
        await asyncio.gather(*(store.create(key(f"c{i}"), cm(f"c{i}")) for i in range(300)))
        assert store.revision == 300
        series = store._batch_size.series[()]
        batches = sum(series[:-1])
        assert batches < 300  # concurrent writes shared transactions


async def test_watch_from_revision_sees_every_later_event_once_in_order_across_restart(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    async with Running(path) as store:
        for i in range(5):
            await store.create(key(f"w{i}"), cm(f"w{i}"))
        start = store.revision  # R
        for i in range(5, 10):
            await store.create(key(f"w{i}"), cm(f"w{i}"))
        e = await store.get(key("w0"))
        new = clone(e.obj)
        new.data["changed"] = "yes"
        await store.update(key("w0"), new)
        await store.delete(key("w1"))
    async with Running(path) as store:  # a restart: the ring buffer is gone, SQLite's log serves
        assert store.revision == 12
        await store.create(key("after"), cm("after"))  # a live event after the replay
        seen = []
        stream = store.watch("configmaps/", start)
        async for ev in stream:
            seen.append((ev.rv, ev.type, ev.key))
            if ev.key == key("after"):
                break
        await stream.aclose()
    assert [rv for rv, _, _ in seen] == list(range(start + 1, 14))
    assert seen[-3:] == [(11, MODIFIED, key("w0")), (12, DELETED, key("w1")), (13, ADDED, key("after"))]


async def test_watch_joins_history_and_live_without_gap(tmp_path: Path) -> None:
    async with Running(tmp_path / "s.db") as store:
        await store.create(key("h0"), cm("h0"))
        stream = store.watch("configmaps/", 0)
        writes = asyncio.gather(*(store.create(key(f"l{i}"), cm(f"l{i}")) for i in range(50)))
        got = []
        async for ev in stream:
            got.append(ev.rv)
            if len(got) == 51:
                break
        await writes
        await stream.aclose()
        assert got == list(range(1, 52))


async def test_410_below_compacted_revision(tmp_path: Path) -> None:
    async with Running(tmp_path / "s.db", compact_step=3) as store:
        for i in range(10):
            await store.create(key(f"g{i}"), cm(f"g{i}"))
        await store.compact(6)
        assert store.compacted == 6
        with pytest.raises(Gone):
            store.watch("configmaps/", 5)
        stream = store.watch("configmaps/", 6)  # exactly at the compacted revision is fine
        ev = await anext(stream)
        assert ev.rv == 7
        await stream.aclose()
    async with Running(tmp_path / "s.db") as store:  # compaction survives a restart
        assert store.compacted == 6
        with pytest.raises(Gone):
            store.watch("configmaps/", 2)


async def test_slow_subscriber_is_cut_off_with_resume_point(tmp_path: Path) -> None:
    from orchestrator.model.errors import TooManyRequests
    async with Running(tmp_path / "s.db") as store:
        store.bus.queue_size = 5
        stream = store.watch("configmaps/")
        for i in range(10):
            await store.create(key(f"s{i}"), cm(f"s{i}"))
        with pytest.raises(TooManyRequests, match="resume from resourceVersion"):
            async for _ in stream:
                pass
        assert store.bus.dropped == 1
