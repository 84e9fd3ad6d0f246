"""The process driver: each container is a host process group (no isolation).

State is one JSON file per container under ``<data_dir>/containers/``, rewritten
atomically on every transition, so a fresh runtime on the same data dir adopts the
processes an earlier agent started (same pid *and* start time).  Output goes to
``<data_dir>/logs/<pod-uid>/<container>/<restart>.log``, one file per attempt like
the kubelet's, so a restarted container's earlier log stays readable.  CPU and memory
limits go into a cgroup per container where the host lets us write one (``cgroups``;
root), and an OOM kill is reported as such; elsewhere the runtime runs without limits and
says so when it opens.  The child
writes that file itself, so lines carry no times: ``logs`` refuses ``timestamps`` and
``since`` (``Unsupported``).

Each started container has a watcher task, owned by the runtime and cancelled by
``close()``; closing never stops the processes.  The exit code of a process we
started is exact; one we adopted exited under another parent, so its code is
unknown (``exit_code=None`` with an ``error`` saying so).  The image is ignored.
Exec runs a host process beside the container's (``process_exec``; -i, no tty).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import structlog

from . import cgroups as cg
from . import errors, procfs
from .base import (
    LABEL_POD_NAME,
    LABEL_POD_UID,
    ContainerInfo,
    ContainerSpec,
    PullPolicy,
    container_name,
    kube_argv,
    managed_labels,
    now_rfc3339,
)
from .process_exec import PipeSession, not_started, pipe_session, spawn
from .process_records import Record, delete_record, load_records, save_record, tail_offset

log = structlog.get_logger(__name__)

LOG_POLL_INTERVAL = 0.1  # seconds between reads when following a log
CGROUP_RELEASE_TRIES = 50  # x 20 ms: how long an exited container's leftovers get to go


class ProcessRuntime:
    """Make one with ``await ProcessRuntime.open(data_dir=...)``, which adopts."""

    name = "process"

    def __init__(self, *, data_dir: Path, kill_wait: float = 5.0, cgroups: cg.Cgroups | None = None,
                 limits_note: str = "no limits") -> None:
        self._cgroups = cgroups
        self.limits_note = limits_note  # how limits are enforced, for the agent to tell
        self._state_dir = data_dir / "containers"
        self._log_dir = data_dir / "logs"
        self._kill_wait = kill_wait
        self._records: dict[str, Record] = {}
        self._exited: dict[str, asyncio.Event] = {}
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @classmethod
    async def open(cls, *, data_dir: Path, kill_wait: float = 5.0, limits: bool = True) -> ProcessRuntime:
        """Load the records under data_dir and adopt the processes still alive."""
        groups, why = cg.detect() if limits else (None, "limits turned off")
        note = f"CPU and memory limits through {why}" if groups else f"no CPU or memory limits: {why}"
        (log.info if groups else log.warning)("process runtime limits", limits=note)
        runtime = cls(data_dir=data_dir, kill_wait=kill_wait, cgroups=groups, limits_note=note)
        runtime._state_dir.mkdir(parents=True, exist_ok=True)
        for rec in load_records(runtime._state_dir):
            runtime._records[rec.id] = rec
            runtime._exited[rec.id] = asyncio.Event()
            if rec.state != "running":
                runtime._exited[rec.id].set()
            elif rec.pid is not None and procfs.is_alive(rec.pid, rec.pid_start):
                log.info("adopting process", id=rec.id[:12], pid=rec.pid, name=rec.name)
                runtime._watch(rec)
            else:
                runtime._finish(rec, None, error="process ended while no agent watched it")
        return runtime

    async def version(self) -> str:
        return f"{platform.system().lower()}-{platform.release()}"

    async def ensure_image(self, image: str, policy: PullPolicy) -> None:
        log.debug("process runtime ignores images", image=image, policy=policy)

    async def create(self, spec: ContainerSpec) -> str:
        argv = kube_argv(spec.command, spec.args)
        if not argv:
            raise errors.InvalidSpec(
                f"container {spec.container_name!r}: the process runtime has no image "
                "ENTRYPOINT/CMD to fall back to; give command or args"
            )
        name = container_name(spec)
        if any(r.name == name for r in self._records.values()):
            raise errors.ContainerConflict(f"container name {name!r} is already in use")
        id = uuid.uuid4().hex
        log_path = self._log_dir / spec.pod_uid / spec.container_name / f"{spec.restart_count}.log"
        env = dict(spec.env)
        if spec.gpu_device_ids:  # no cgroups to enforce it, but CUDA honours this (UUIDs too)
            env.setdefault("CUDA_VISIBLE_DEVICES", ",".join(spec.gpu_device_ids))
        rec = Record(
            id=id, name=name, image=spec.image, argv=argv, env=env,
            working_dir=spec.working_dir, labels=managed_labels(spec),
            log_path=str(log_path), created_at=now_rfc3339(),
            cpu_millis=spec.cpu_millis, memory_bytes=spec.memory_bytes,
        )  # fmt: skip
        save_record(self._state_dir, rec)
        self._records[id] = rec
        self._exited[id] = asyncio.Event()
        return id

    async def start(self, id: str) -> None:
        rec = self._get(id)
        if rec.state != "created":
            raise errors.ContainerConflict(f"container {id} is {rec.state}, not created")
        path = Path(rec.log_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A minimal environment: the agent's own (tokens included) is not the pod's.
        env = {"PATH": os.environ.get("PATH", os.defpath), "HOSTNAME": rec.labels[LABEL_POD_NAME]}
        argv = self._limited(rec)
        try:
            with path.open("ab") as out:  # noqa: ASYNC230 - local file, opened once
                # A new session makes the pid a group leader: stop signals the group,
                # reaching what the command forked, as a container's stop would.
                # Plain Popen, not asyncio's: closing an asyncio subprocess transport
                # kills the child, and workloads must outlive the runtime object.
                child = subprocess.Popen(  # noqa: ASYNC220 - fork+exec, returns at once
                    argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    env={**env, **rec.env}, cwd=rec.working_dir, start_new_session=True,
                )  # fmt: skip
        except OSError as exc:
            self._finish(rec, 128, error=f"cannot start {rec.argv[0]!r}: {exc.strerror or exc}")
            raise errors.InvalidSpec(rec.error or "") from exc
        rec.pid, rec.pid_start = child.pid, procfs.start_time(child.pid)
        rec.state, rec.started_at = "running", now_rfc3339()
        save_record(self._state_dir, rec)
        self._children[id] = child
        self._watch(rec)
        log.debug("process started", id=id[:12], pid=child.pid, argv=rec.argv)

    def _limited(self, rec: Record) -> list[str]:
        """The argv to run: the command, joining its cgroup first when it has limits."""
        if self._cgroups is None or not (rec.cpu_millis or rec.memory_bytes):
            return rec.argv
        try:
            procs = self._cgroups.create(rec.id, cpu_millis=rec.cpu_millis, memory_bytes=rec.memory_bytes)
        except OSError as exc:
            log.warning("running without limits: the cgroup could not be made", id=rec.id[:12], error=str(exc))
            return rec.argv
        rec.cgroup = True
        return cg.join_argv(procs, rec.argv)

    def _watch(self, rec: Record) -> None:
        task = asyncio.get_running_loop().create_task(self._wait(rec), name=f"process-watch-{rec.id[:12]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _wait(self, rec: Record) -> None:
        assert rec.pid is not None
        await procfs.wait_exit(rec.pid)
        child = self._children.pop(rec.id, None)
        if child is None:
            await self._release_cgroup(rec)
            self._finish(rec, procfs.reap(rec.pid))
            return
        # Exited but not yet reaped, so the pgid is still ours: clear out whatever
        # it left behind in its group, as a container's teardown would.
        procfs.kill_group_quietly(rec.pid)
        await self._release_cgroup(rec)
        code = child.poll()
        self._finish(rec, None if code is None else procfs.shell_code(code))

    async def _release_cgroup(self, rec: Record) -> None:
        """Before the container counts as exited: note an OOM kill, end what is left in its
        cgroup (a child that left the process group), and remove the cgroup."""
        if not rec.cgroup or self._cgroups is None:
            return
        rec.oom_killed = self._cgroups.oom_killed(rec.id)
        for _ in range(CGROUP_RELEASE_TRIES):
            if self._cgroups.remove(rec.id):
                return
            self._cgroups.kill_all(rec.id)
            await asyncio.sleep(0.02)
        log.warning("container cgroup not removed: processes still in it", id=rec.id[:12])

    def _finish(self, rec: Record, code: int | None, *, error: str | None = None) -> None:
        rec.state, rec.exit_code, rec.finished_at = "exited", code, now_rfc3339()
        if code is None and error is None:
            error = "exit code unknown: the process was adopted from an earlier agent"
        rec.error = error
        if rec.id in self._records:  # not removed meanwhile
            save_record(self._state_dir, rec)
            self._exited[rec.id].set()
        log.debug("process exited", id=rec.id[:12], exit_code=code, error=error)

    async def stop(self, id: str, grace_seconds: float) -> None:
        rec = self._get(id)
        if rec.state != "running" or rec.pid is None:
            return
        exited = self._exited[id]
        if procfs.signal_group(rec.pid, rec.pid_start, signal.SIGTERM):
            try:
                async with asyncio.timeout(max(grace_seconds, 0)):
                    await exited.wait()
                return
            except TimeoutError:
                pass
        procfs.signal_group(rec.pid, rec.pid_start, signal.SIGKILL)
        try:
            async with asyncio.timeout(self._kill_wait):
                await exited.wait()
        except TimeoutError as exc:  # e.g. stuck in uninterruptible I/O
            raise errors.RuntimeError_(f"process {rec.pid} survived SIGKILL for {self._kill_wait:g}s") from exc

    async def remove(self, id: str) -> None:
        rec = self._get(id)
        if rec.state == "running":
            await self.stop(id, 0)
        del self._records[id]
        self._exited.pop(id, None)
        if rec.cgroup and self._cgroups is not None:
            self._cgroups.remove(id)
        delete_record(self._state_dir, id)
        Path(rec.log_path).unlink(missing_ok=True)

    async def list(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        return [
            rec.info() for rec in self._records.values()
            if pod_uid is None or rec.labels.get(LABEL_POD_UID) == pod_uid
        ]  # fmt: skip

    async def inspect(self, id: str) -> ContainerInfo:
        return self._get(id).info()

    def logs(
        self, id: str, *, follow: bool = False, tail: int | None = None,
        timestamps: bool = False, since: float | None = None,
    ) -> AsyncIterator[bytes]:
        # The child writes straight into the file (so it outlives the agent), so no
        # line has a time; refuse now, before the caller starts streaming.
        if timestamps or since is not None:
            raise errors.Unsupported(
                "the process runtime does not record when log lines were written; "
                "timestamps, sinceSeconds and sinceTime need the docker runtime"
            )
        return self._read_log(id, follow=follow, tail=tail)

    async def _read_log(self, id: str, *, follow: bool, tail: int | None) -> AsyncIterator[bytes]:
        rec = self._get(id)
        path = Path(rec.log_path)
        if not path.exists():
            return  # created, never started: nothing written yet
        with path.open("rb") as f:  # noqa: ASYNC230 - a local file; reads never block long
            if tail is not None:
                f.seek(tail_offset(f, tail))
            while True:
                chunk = f.read(65536)
                if chunk:
                    yield chunk
                    continue
                done = self._records.get(id) is not rec or rec.state == "exited"
                if not follow or done:
                    if done and (rest := f.read()):  # written just before the exit
                        yield rest
                    return
                await asyncio.sleep(LOG_POLL_INTERVAL)

    async def exec(self, id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        rec = self._running(id)
        try:
            proc = await spawn(command, env=self._exec_env(rec), cwd=rec.working_dir, stdin=subprocess.DEVNULL)
        except OSError as exc:  # what a shell says for a missing command
            return 127, not_started(command, exc)
        try:
            async with asyncio.timeout(timeout):
                out, _ = await proc.communicate()
        except TimeoutError as exc:
            procfs.kill_group_quietly(proc.pid)  # still running, so the pgid is its own
            await proc.wait()
            raise errors.ExecTimeout(f"exec {command!r} ran past {timeout:g}s") from exc
        assert proc.returncode is not None
        return procfs.shell_code(proc.returncode), out

    @contextlib.asynccontextmanager
    async def exec_session(self, id: str, command: list[str], *, stdin: bool, tty: bool) -> AsyncIterator[PipeSession]:
        rec = self._running(id)
        async with pipe_session(command, env=self._exec_env(rec), cwd=rec.working_dir, stdin=stdin,
                                tty=tty) as session:
            yield session

    def _running(self, id: str) -> Record:
        rec = self._get(id)
        if rec.state != "running":
            raise errors.ContainerConflict(f"container {id} is {rec.state}, not running")
        return rec

    @staticmethod
    def _exec_env(rec: Record) -> dict[str, str]:
        return {"PATH": os.environ.get("PATH", os.defpath), **rec.env}

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _get(self, id: str) -> Record:
        try:
            return self._records[id]
        except KeyError:
            raise errors.ContainerNotFound(f"no container {id}") from None

