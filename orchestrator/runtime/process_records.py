"""The process driver's files: one JSON record per container, and log tails.

Records are written to a temporary name and renamed, so a crash mid-write leaves the
old record or the new one, never half of one.  An unreadable record is logged and
skipped rather than failing the agent's start.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import structlog

from .base import ContainerInfo, State, info_from_labels

log = structlog.get_logger(__name__)


@dataclass(slots=True, kw_only=True)
class Record:
    id: str
    name: str
    image: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    log_path: str
    state: State = "created"
    pid: int | None = None
    pid_start: int | None = None  # clock ticks since boot: (pid, start) is the identity
    exit_code: int | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    cpu_millis: int | None = None  # limits, enforced through a cgroup when the host allows
    memory_bytes: int | None = None
    cgroup: bool = False  # runs in cgroup orch/<id>
    oom_killed: bool = False

    def info(self) -> ContainerInfo:
        info = info_from_labels(id=self.id, name=self.name, image=self.image, labels=self.labels)
        info.state = self.state
        info.exit_code = self.exit_code
        info.created_at = self.created_at
        info.started_at = self.started_at
        info.finished_at = self.finished_at
        info.error = self.error
        info.oom_killed = self.oom_killed
        # ip stays None: host processes share the node's network, the agent
        # reports the host IP as the pod IP.
        return info


def save_record(directory: Path, rec: Record) -> None:
    path = directory / f"{rec.id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dataclasses.asdict(rec)))
    os.replace(tmp, path)


def delete_record(directory: Path, id: str) -> None:
    (directory / f"{id}.json").unlink(missing_ok=True)


def load_records(directory: Path) -> list[Record]:
    records = []
    for path in sorted(directory.glob("*.json")):
        try:
            records.append(Record(**json.loads(path.read_text())))
        except (OSError, ValueError, TypeError) as exc:
            log.error("skipping unreadable container record", path=str(path), error=str(exc))
    return records


def tail_offset(f: BinaryIO, lines: int, *, block: int = 65536) -> int:
    """The offset where the last ``lines`` lines of ``f`` begin (a final newline
    ends the last line rather than starting an empty one)."""
    end = f.seek(0, os.SEEK_END)
    if lines <= 0:
        return end
    pos, seen = end, 0
    while pos > 0:
        size = min(block, pos)
        pos -= size
        f.seek(pos)
        data = f.read(size)
        for i in range(len(data) - 1, -1, -1):
            if data[i] == 0x0A and pos + i != end - 1:
                seen += 1
                if seen == lines:
                    return pos + i + 1
    return 0
