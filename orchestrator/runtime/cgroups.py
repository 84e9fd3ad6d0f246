"""CPU and memory limits for the process runtime, through Linux cgroups (v2 or v1).

One cgroup per container, `orch/<container id>`, under the unified hierarchy (v2) or
under the `memory` and `cpu` hierarchies (v1). Limits are Kubernetes': memory.max (v2) /
memory.limit_in_bytes (v1) from the memory limit; cpu.max (v2) / cpu.cfs_quota_us (v1)
from the CPU limit, over a 100 ms period. The process joins before it runs the command
(`join_argv`: a shell writes its own pid into `cgroup.procs`, then execs), so nothing it
forks escapes. An OOM kill is read back from memory.events (v2) / memory.oom_control (v1).

Without write access to a cgroup hierarchy (not root, a read-only /sys/fs/cgroup),
`detect()` answers None with the reason, and the runtime runs without limits and says so.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

ROOT = Path("/sys/fs/cgroup")
PARENT = "orch"
PERIOD_US = 100_000
# Writes its pid into each cgroup.procs given before "--", then becomes the command.
_JOIN = ('for f in "$@"; do if [ "$f" = -- ]; then shift; break; fi; '
         'echo $$ > "$f" || { echo "orch: cannot join cgroup $f" >&2; exit 126; }; shift; done; exec "$@"')


@dataclass(frozen=True, slots=True)
class Cgroups:
    version: int  # 2 (unified) or 1
    root: Path = ROOT

    def _dirs(self, cid: str) -> dict[str, Path]:
        if self.version == 2:
            return {"unified": self.root / PARENT / cid}
        return {"memory": self.root / "memory" / PARENT / cid, "cpu": self.root / "cpu" / PARENT / cid}

    def create(self, cid: str, *, cpu_millis: int | None, memory_bytes: int | None) -> list[str]:
        """Make the container's cgroup with its limits; the cgroup.procs files to join.
        Raises OSError when the hierarchy refuses."""
        dirs = self._dirs(cid)
        for d in dirs.values():
            d.mkdir(parents=True, exist_ok=True)
        if self.version == 2:
            d = dirs["unified"]
            if memory_bytes:
                (d / "memory.max").write_text(str(memory_bytes))
                _try_write(d / "memory.swap.max", "0")  # a limit the container cannot swap around
            if cpu_millis:
                (d / "cpu.max").write_text(f"{max(cpu_millis * PERIOD_US // 1000, 1000)} {PERIOD_US}")
        else:
            if memory_bytes:
                (dirs["memory"] / "memory.limit_in_bytes").write_text(str(memory_bytes))
            if cpu_millis:
                (dirs["cpu"] / "cpu.cfs_period_us").write_text(str(PERIOD_US))
                (dirs["cpu"] / "cpu.cfs_quota_us").write_text(str(max(cpu_millis * PERIOD_US // 1000, 1000)))
        return [str(d / "cgroup.procs") for d in dirs.values()]

    def oom_killed(self, cid: str) -> bool:
        """Whether the kernel's OOM killer killed something in this container's cgroup."""
        d = self._dirs(cid)
        path = d["unified"] / "memory.events" if self.version == 2 else d["memory"] / "memory.oom_control"
        try:
            fields = dict(line.split()[:2] for line in path.read_text().splitlines() if len(line.split()) >= 2)
        except OSError:
            return False
        return int(fields.get("oom_kill", "0") or 0) > 0

    def remove(self, cid: str) -> bool:
        """Drop the cgroup; False while a process is still in it (EBUSY)."""
        gone = True
        for d in self._dirs(cid).values():
            try:
                d.rmdir()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.debug("cgroup not removed yet", path=str(d), error=str(exc))
                gone = False
        return gone

    def kill_all(self, cid: str) -> None:
        """SIGKILL every process still in the container's cgroup."""
        for d in self._dirs(cid).values():
            try:
                pids = [int(x) for x in (d / "cgroup.procs").read_text().split()]
            except (OSError, ValueError):
                continue
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass  # gone already


def join_argv(procs: list[str], argv: list[str]) -> list[str]:
    return ["/bin/sh", "-c", _JOIN, "orch-cgroup-join", *procs, "--", *argv]


def detect(root: Path = ROOT) -> tuple[Cgroups | None, str]:
    """The cgroups this process may use for limits, or None and why not."""
    if (root / "cgroup.controllers").exists():  # v2
        parent = root / PARENT
        try:
            parent.mkdir(exist_ok=True)
            wanted = {"memory", "cpu"}
            available = set((root / "cgroup.controllers").read_text().split())
            missing = wanted - available
            if missing:
                return None, f"cgroup v2 without the {', '.join(sorted(missing))} controller(s)"
            # Limits in orch/<id> need the controllers enabled for orch's children.
            for d in (root, parent):
                enabled = set((d / "cgroup.subtree_control").read_text().split())
                if not wanted <= enabled:
                    (d / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sorted(wanted - enabled)))
        except OSError as exc:
            return None, f"cgroup v2 at {root} is not writable here ({exc.strerror or exc})"
        return Cgroups(2, root), "cgroup v2"
    dirs = [root / "memory", root / "cpu"]
    if not all(d.is_dir() for d in dirs):
        return None, f"no cgroup v2 or v1 memory/cpu hierarchies under {root}"
    for d in dirs:
        if not os.access(d, os.W_OK):
            return None, f"cgroup v1 at {d} is not writable (limits need root)"
        try:
            (d / PARENT).mkdir(exist_ok=True)
        except OSError as exc:
            return None, f"cgroup v1 at {d} is not writable ({exc.strerror or exc})"
    return Cgroups(1, root), "cgroup v1"


def _try_write(path: Path, value: str) -> None:
    try:
        path.write_text(value)
    except OSError:
        pass  # no swap accounting on this kernel: the memory limit still holds
