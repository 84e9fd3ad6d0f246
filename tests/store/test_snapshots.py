"""Store guards and snapshots on real SQLite files: one server per file, no start on a
damaged file, consistent snapshots under load, pruning, restore."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from orchestrator.settings import StoreSettings
from orchestrator.store import snapshots
from orchestrator.store.guard import StoreCorrupt, StoreLocked
from orchestrator.store.sqlite import SCHEMA
from orchestrator.store.store import Store
from tests.store.test_store import Running, cm, key


async def test_a_second_store_on_one_file_is_refused_naming_the_first(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with Running(path):
        second = Store(StoreSettings(path=path))
        with pytest.raises(StoreLocked, match=f"pid {os.getpid()}"):
            await second.open()
    async with Running(path) as again:  # released at close
        assert again.revision == 0


async def test_a_damaged_file_is_refused_with_how_to_restore(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with Running(path) as store:
        for i in range(50):
            await store.create(key(f"c{i}"), cm(f"c{i}", v="x" * 500))
    with path.open("r+b") as f:  # scribble over the middle of the file
        f.seek(path.stat().st_size // 2)
        f.write(os.urandom(8192))
    with pytest.raises(StoreCorrupt, match="orch snapshot restore"):
        await Store(StoreSettings(path=path)).open()
    with pytest.raises(StoreCorrupt):  # and the lock was let go: the same answer again, not "in use"
        await Store(StoreSettings(path=path)).open()


async def test_a_snapshot_under_load_is_one_revision_and_restores(tmp_path: Path) -> None:
    path, shots = tmp_path / "state.db", tmp_path / "snaps"
    revisions: dict[str, int] = {}
    async with Running(path) as store:
        for i in range(100):
            revisions[f"a{i}"] = (await store.create(key(f"a{i}"), cm(f"a{i}"))).rv

        async def writes() -> None:
            for i in range(300):
                revisions[f"b{i}"] = (await store.create(key(f"b{i}"), cm(f"b{i}"))).rv

        writer = asyncio.create_task(writes())
        await asyncio.sleep(0.01)
        snap = await asyncio.to_thread(snapshots.save, path, shots)
        await writer
        final = store.revision
    assert snap.path.parent == shots and snap.path.name.startswith("state-") and oct(snap.path.stat().st_mode)[-3:] == "600"
    assert 100 <= snap.objects < 400 and snap.revision < final
    # exactly the objects written up to the snapshot's revision
    assert snap.objects == sum(1 for rv in revisions.values() if rv <= snap.revision)
    kept = snapshots.restore(snap.path, path)
    assert kept is not None and kept.exists()
    async with Running(path) as restored:
        assert restored.revision == snap.revision
        assert len(restored.list("configmaps/")[0]) == snap.objects
        # life goes on from the restored revision
        assert (await restored.create(key("after"), cm("after"))).rv == snap.revision + 1


async def test_restore_refuses_a_running_store_and_a_file_that_is_not_a_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    async with Running(path) as store:
        await store.create(key("x"), cm("x"))
        snap = snapshots.save(path, tmp_path / "one.db")
        with pytest.raises(StoreLocked):
            snapshots.restore(snap.path, path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StoreCorrupt, match="not an orch store snapshot"):
        snapshots.restore(junk, path)


def test_prune_keeps_the_newest_automatic_snapshots(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    conn = sqlite3.connect(db)
    conn.executescript(SCHEMA)
    conn.close()
    shots = tmp_path / "snaps"
    made = []
    for i in range(4):
        made.append(snapshots.save(db, shots).path)
        os.utime(made[-1], (1_000_000 + i, 1_000_000 + i))
    by_hand = snapshots.save(db, shots / "before-upgrade.db").path
    removed = snapshots.prune(shots, 2)
    assert removed == made[:2]
    assert {s.path for s in snapshots.listing(shots)} == {*made[2:], by_hand}
