"""Store snapshots: consistent copies of `state.db`, taken while the server runs.

`save` uses SQLite's online backup API: it copies the file page by page inside one read
transaction, so the copy is one revision of the store however busy the writer is (WAL
lets the writer go on meanwhile). The server takes one every `snapshot_interval_s` into
`<data-dir>/snapshots/` and keeps the newest `snapshot_retain` (as k3s does with etcd);
`orch snapshot save|list|restore` does it by hand. `restore` checks the snapshot, keeps the
current file aside (`state.db.before-restore-<time>`) and needs the server stopped (it
takes the store's lock).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import structlog

from orchestrator.store.guard import DataLock, StoreCorrupt, quick_check

log = structlog.get_logger(__name__)

SUFFIX = ".db"
PREFIX = "state-"


@dataclass(frozen=True, slots=True)
class Snapshot:
    path: Path
    size: int
    revision: int
    objects: int
    taken: str  # RFC 3339, from the file's name or mtime


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")


def describe(path: Path) -> Snapshot:
    """Read a snapshot's revision and object count (sqlite3.DatabaseError if it is not one)."""
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        (objects,) = db.execute("SELECT COUNT(*) FROM objects").fetchone()
        meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
        (max_event,) = db.execute("SELECT COALESCE(MAX(rv), 0) FROM events").fetchone()
        (max_object,) = db.execute("SELECT COALESCE(MAX(rv), 0) FROM objects").fetchone()
    finally:
        db.close()
    taken = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return Snapshot(path=path, size=path.stat().st_size, revision=max(meta.get("revision", 0), max_event, max_object),
                    objects=objects, taken=taken)


def save(db_path: Path, dest: Path) -> Snapshot:
    """Copy the store at `db_path` to `dest`: a file (`*.db`), or a directory to name one in."""
    if not db_path.exists():
        raise FileNotFoundError(f"no store at {db_path}")
    if dest.is_dir() or not dest.suffix:
        dest.mkdir(parents=True, exist_ok=True)
        dest = dest / f"{PREFIX}{_stamp()}{SUFFIX}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    source = sqlite3.connect(db_path)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            target.close()
    finally:
        source.close()
    os.chmod(partial, 0o600)  # it holds Secrets and token digests
    os.replace(partial, dest)
    return describe(dest)


def listing(directory: Path) -> list[Snapshot]:
    """The snapshots in `directory`, oldest first; unreadable files are left out."""
    out = []
    for path in sorted(directory.glob(f"*{SUFFIX}")) if directory.is_dir() else []:
        try:
            out.append(describe(path))
        except sqlite3.DatabaseError:
            log.warning("not a store snapshot", path=str(path))
    return sorted(out, key=lambda s: (s.path.stat().st_mtime, s.path.name))


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete automatic snapshots beyond the newest `keep`; the deleted paths."""
    auto = [s.path for s in listing(directory) if s.path.name.startswith(PREFIX)]
    doomed = auto[:-keep] if keep > 0 else auto
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


def restore(snapshot: Path, db_path: Path) -> Path | None:
    """Make `snapshot` the store at `db_path`; the path the old file was kept at (None: none).
    Raises StoreLocked while a server has the store open, StoreCorrupt for a bad snapshot."""
    try:
        describe(snapshot)
    except sqlite3.DatabaseError as exc:
        raise StoreCorrupt(f"{snapshot} is not an orch store snapshot ({exc})") from None
    quick_check(snapshot)
    lock = DataLock(db_path)
    lock.acquire()
    try:
        kept = None
        if db_path.exists():
            kept = db_path.with_name(f"{db_path.name}.before-restore-{_stamp()}")
            os.replace(db_path, kept)
        for extra in (db_path.with_name(db_path.name + "-wal"), db_path.with_name(db_path.name + "-shm")):
            if extra.exists() and kept is not None:
                os.replace(extra, kept.with_name(kept.name + extra.name.removeprefix(db_path.name)))
            extra.unlink(missing_ok=True)
        partial = db_path.with_name(db_path.name + ".restoring")
        shutil.copyfile(snapshot, partial)
        os.chmod(partial, 0o600)
        os.replace(partial, db_path)
        return kept
    finally:
        lock.release()


async def take_periodically(db_path: Path, directory: Path, *, interval_s: float, keep: int) -> None:
    """The server's snapshot loop (run it in the server's TaskGroup; it never returns)."""
    while True:
        await asyncio.sleep(interval_s)
        started = time.perf_counter()
        try:
            snap = await asyncio.to_thread(save, db_path, directory)
            removed = await asyncio.to_thread(prune, directory, keep)
        except (OSError, sqlite3.Error) as exc:
            log.error("store snapshot failed", error=str(exc), directory=str(directory))
            continue
        log.info("store snapshot taken", path=str(snap.path), revision=snap.revision, objects=snap.objects,
                 bytes=snap.size, seconds=round(time.perf_counter() - started, 3), pruned=len(removed))
