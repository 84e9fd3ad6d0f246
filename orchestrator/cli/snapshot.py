"""`orch snapshot save|list|restore`: copies of the server's store, on the server's machine.

They read and write `DATA_DIR/state.db` directly (like `k3s etcd-snapshot`), not through
the API: `save` works while the server runs (SQLite's online backup, one consistent
revision); `restore` needs it stopped and keeps the file it replaces. The server also takes
snapshots by itself (`orch server --snapshot-interval/--snapshot-retain`).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from orchestrator.cli.common import CliError, env, out, verb_group
from orchestrator.model.tables import render
from orchestrator.store import snapshots
from orchestrator.store.guard import StoreCorrupt, StoreLocked


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _, verbs = verb_group(sub, "snapshot", help="save, list and restore copies of the server's store",
                          description="Consistent copies of DATA_DIR/state.db. save works while the server runs; "
                                   "restore needs the server stopped.")
    data_dir = {"default": env("ORCH_DATA_DIR", ".orch"), "help": "the server's data dir (env ORCH_DATA_DIR)"}
    save = verbs.add_parser("save", help="copy the store now (while the server runs, too)")
    save.add_argument("dest", nargs="?", default="",
                      help="a FILE.db, or a directory (default: DATA_DIR/snapshots, named by the time)")
    save.add_argument("--data-dir", **data_dir)
    save.set_defaults(handler=run_save)
    listing = verbs.add_parser("list", help="the snapshots in DATA_DIR/snapshots (or --dir)")
    listing.add_argument("--data-dir", **data_dir)
    listing.add_argument("--dir", default="", help="another directory of snapshots")
    listing.add_argument("-o", "--output", choices=("json",), help="json for machines")
    listing.set_defaults(handler=run_list)
    restore = verbs.add_parser("restore", help="make a snapshot the store (stop the server first)")
    restore.add_argument("snapshot", help="the snapshot file")
    restore.add_argument("--data-dir", **data_dir)
    restore.set_defaults(handler=run_restore)


def _db(args: argparse.Namespace) -> Path:
    return Path(args.data_dir).expanduser() / "state.db"


def run_save(args: argparse.Namespace) -> int:
    db = _db(args)
    dest = Path(args.dest).expanduser() if args.dest else db.parent / "snapshots"
    try:
        snap = snapshots.save(db, dest)
    except FileNotFoundError as exc:
        raise CliError(f"{exc} (is --data-dir right?)") from None
    except (OSError, sqlite3.Error) as exc:
        raise CliError(f"snapshot failed: {exc}") from None
    out(f"snapshot saved: {snap.path} (revision {snap.revision}, {snap.objects} objects, {_size(snap.size)})")
    return 0


def run_list(args: argparse.Namespace) -> int:
    directory = Path(args.dir).expanduser() if args.dir else _db(args).parent / "snapshots"
    found = snapshots.listing(directory)
    if args.output == "json":
        out(json.dumps([{"path": str(s.path), "revision": s.revision, "objects": s.objects, "bytes": s.size,
                         "taken": s.taken} for s in found], indent=2))
        return 0
    if not found:
        print(f"No snapshots in {directory}.", file=sys.stderr)
        return 0
    rows = [[s.path.name, s.taken, str(s.revision), str(s.objects), _size(s.size)] for s in reversed(found)]
    for line in render(["NAME", "TAKEN", "REVISION", "OBJECTS", "SIZE"], rows):
        out(line)
    return 0


def run_restore(args: argparse.Namespace) -> int:
    source = Path(args.snapshot).expanduser()
    if not source.is_file():
        raise CliError(f"{source}: no such snapshot file")
    try:
        kept = snapshots.restore(source, _db(args))
    except (StoreLocked, StoreCorrupt) as exc:
        raise CliError(str(exc)) from None
    snap = snapshots.describe(_db(args))
    out(f"store restored from {source}: revision {snap.revision}, {snap.objects} objects")
    if kept is not None:
        out(f"the previous store is kept at {kept}")
    return 0


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"
