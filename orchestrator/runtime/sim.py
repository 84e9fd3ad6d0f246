"""The sim driver: containers that are only in-memory state (like kwok).

For scale tests and benchmarks, so everything is O(1) per call and a node can hold
thousands: no tasks per container, only a ``call_later`` timer for containers that
should finish (``run_seconds``, from the runtime's default or a per-container label,
for Jobs).  A stopped container exits 143, as a real SIGTERM'd process does.
Interactive exec echoes: what comes on stdin goes back on stdout (as ``cat``, tty or not);
when stdin closes, the exec handler's answer for the command follows and gives the exit code.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import errors
from .base import (
    LABEL_POD_UID,
    ContainerInfo,
    ContainerSpec,
    PullPolicy,
    container_name,
    info_from_labels,
    managed_labels,
    now_rfc3339,
)

LABEL_RUN_SECONDS = "orch.io/sim-run-seconds"  # exit after this long once started
LABEL_EXIT_CODE = "orch.io/sim-exit-code"  # ... with this code (default 0)
SIGTERM_EXIT = 143
FOLLOW_POLL_INTERVAL = 0.05  # seconds

ExecHandler = Callable[[ContainerInfo, list[str]], tuple[int, bytes]]


@dataclass(slots=True)
class _Sim:
    info: ContainerInfo
    run_seconds: float | None
    exit_code: int
    timer: asyncio.TimerHandle | None = None
    output: list[tuple[int, bytes]] = field(default_factory=list)  # (when written, ns since the epoch; line)

    def write(self, line: str) -> None:
        self.output.append((time.time_ns(), line.encode()))


class SimRuntime:
    name = "sim"

    def __init__(
        self,
        *,
        run_seconds: float | None = None,
        exit_code: int = 0,
        missing_images: Collection[str] = (),
        exec_handler: ExecHandler | None = None,
    ) -> None:
        self._run_seconds = run_seconds
        self._exit_code = exit_code
        self._missing_images = frozenset(missing_images)
        self._exec_handler = exec_handler
        self._containers: dict[str, _Sim] = {}
        self._names: dict[str, str] = {}
        self._ips = 0

    async def version(self) -> str:
        return "sim-1"

    async def ensure_image(self, image: str, policy: PullPolicy) -> None:
        if image not in self._missing_images:
            return
        if policy == "Never":
            raise errors.ImageNotPresent(f"image {image!r} is not present and imagePullPolicy is Never", image=image)
        raise errors.ImagePullError(f"sim: pull access denied for {image}", image=image)

    async def create(self, spec: ContainerSpec) -> str:
        name = container_name(spec)
        if name in self._names:
            raise errors.ContainerConflict(f"container name {name!r} is already in use")
        labels = managed_labels(spec)
        id = uuid.uuid4().hex
        info = info_from_labels(id=id, name=name, image=spec.image, labels=labels)
        info.state, info.created_at, info.image_id = "created", now_rfc3339(), f"sim:{spec.image}"
        run = labels.get(LABEL_RUN_SECONDS)
        code = labels.get(LABEL_EXIT_CODE)
        try:
            sim = _Sim(
                info=info,
                run_seconds=float(run) if run is not None else self._run_seconds,
                exit_code=int(code) if code is not None else self._exit_code,
            )
        except ValueError as exc:
            raise errors.InvalidSpec(f"bad sim label: {exc}") from exc
        self._containers[id] = sim
        self._names[name] = id
        return id

    async def start(self, id: str) -> None:
        sim = self._get(id)
        if sim.info.state != "created":
            raise errors.ContainerConflict(f"container {id} is {sim.info.state}, not created")
        self._ips += 1
        sim.info.state, sim.info.started_at = "running", now_rfc3339()
        sim.info.ip = f"10.88.{(self._ips >> 8) & 0xFF}.{self._ips & 0xFF}"
        sim.write(f"sim: {sim.info.container_name} started\n")
        if sim.run_seconds is not None:
            loop = asyncio.get_running_loop()
            sim.timer = loop.call_later(sim.run_seconds, self._exit, sim, sim.exit_code)

    def _exit(self, sim: _Sim, code: int) -> None:
        if sim.timer is not None:
            sim.timer.cancel()
            sim.timer = None
        if sim.info.state != "running":
            return
        sim.info.state, sim.info.exit_code, sim.info.finished_at = "exited", code, now_rfc3339()
        sim.write(f"sim: exited with code {code}\n")

    async def stop(self, id: str, grace_seconds: float) -> None:
        self._exit(self._get(id), SIGTERM_EXIT)

    async def remove(self, id: str) -> None:
        sim = self._get(id)
        self._exit(sim, SIGTERM_EXIT)
        del self._containers[id]
        del self._names[sim.info.name]

    async def list(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        return [
            _copy(s.info) for s in self._containers.values()
            if pod_uid is None or s.info.labels.get(LABEL_POD_UID) == pod_uid
        ]  # fmt: skip

    async def inspect(self, id: str) -> ContainerInfo:
        return _copy(self._get(id).info)

    async def logs(
        self, id: str, *, follow: bool = False, tail: int | None = None,
        timestamps: bool = False, since: float | None = None,
    ) -> AsyncIterator[bytes]:
        sim = self._get(id)
        start = 0 if tail is None else max(len(sim.output) - tail, 0)
        since_ns = None if since is None else int(since * 1e9)
        while True:
            for at, line in sim.output[start:]:
                if since_ns is not None and at < since_ns:  # tail first, then since, as the kubelet
                    continue
                yield (rfc3339_nano(at).encode() + b" " + line) if timestamps else line
            start = len(sim.output)
            if not follow or sim.info.state == "exited" or self._containers.get(id) is not sim:
                return
            await asyncio.sleep(FOLLOW_POLL_INTERVAL)

    async def exec(self, id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        sim = self._running(id)
        if self._exec_handler is None:
            return 0, b""
        return self._exec_handler(_copy(sim.info), list(command))

    @contextlib.asynccontextmanager
    async def exec_session(self, id: str, command: list[str], *, stdin: bool, tty: bool) -> AsyncIterator[EchoSession]:
        info, argv, handler = _copy(self._running(id).info), list(command), self._exec_handler
        session = EchoSession(lambda: handler(info, argv) if handler is not None else (0, b""))
        if not stdin:
            await session.close_stdin()
        yield session

    def _running(self, id: str) -> _Sim:
        sim = self._get(id)
        if sim.info.state != "running":
            raise errors.ContainerConflict(f"container {id} is {sim.info.state}, not running")
        return sim

    async def close(self) -> None:
        for sim in self._containers.values():
            if sim.timer is not None:
                sim.timer.cancel()
                sim.timer = None

    def _get(self, id: str) -> _Sim:
        try:
            return self._containers[id]
        except KeyError:
            raise errors.ContainerNotFound(f"no container {id}") from None


class EchoSession:
    def __init__(self, answer: Callable[[], tuple[int, bytes]]) -> None:
        self._answer = answer  # the exec handler's (exit code, output), asked for when stdin closes
        self._output: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=16)
        self._code: int | None = None

    async def write_stdin(self, data: bytes) -> None:
        if self._code is None:
            await self._output.put(data)

    async def close_stdin(self) -> None:
        if self._code is None:
            self._code, output = self._answer()
            for item in (output, None) if output else (None,):
                await self._output.put(item)

    async def read(self) -> tuple[int, bytes] | None:
        data = await self._output.get()
        return None if data is None else (1, data)

    async def resize(self, *, cols: int, rows: int) -> None:
        pass

    async def exit_code(self) -> int:
        return self._code or 0


def rfc3339_nano(ns: int) -> str:
    """Docker's log timestamp: always nine fraction digits, UTC, ``Z``."""
    seconds, frac = divmod(ns, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{frac:09d}Z"


def _copy(info: ContainerInfo) -> ContainerInfo:
    # Callers get a snapshot: mutating it must not change the runtime's state.
    return dataclasses.replace(info, labels=dict(info.labels))
