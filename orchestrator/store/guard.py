"""What keeps a store file sound: one server at a time, and no start on a damaged file.

- `DataLock`: an exclusive `flock` on `<state.db>.lock`, held while a Store is open. Two
  servers on one data dir would each keep their own revision counter and cache over one
  file, and the store would rot; the second one is refused, naming the first one's pid.
  The kernel drops the lock when the process dies, so a crash never leaves it stuck.
- `quick_check`: SQLite's `PRAGMA quick_check` at open; a damaged file is refused with
  what SQLite found and how to restore a snapshot, rather than served half-read.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path


class StoreLocked(Exception):
    """Another process has this store open."""


class StoreCorrupt(Exception):
    """The store file failed SQLite's consistency check."""


class DataLock:
    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise StoreLocked(f"{self.path.with_suffix('')} is in use by another orch server (pid {holder}); "
                              "stop it first, or give this one its own --data-dir") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def quick_check(db_path: Path) -> None:
    """Raise StoreCorrupt unless SQLite finds the file sound (a missing file is fine: new)."""
    if not db_path.exists():
        return
    try:
        db = sqlite3.connect(db_path)  # read-write: it may have a WAL to recover first (we hold the lock)
        try:
            rows = [r[0] for r in db.execute("PRAGMA quick_check(5)").fetchall()]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        rows = [str(exc)]
    if rows != ["ok"]:
        raise StoreCorrupt(f"{db_path} is damaged ({'; '.join(rows)}). Restore a snapshot: "
                           f"orch snapshot list --data-dir {db_path.parent}, then "
                           f"orch snapshot restore FILE --data-dir {db_path.parent} (with the server stopped)")
