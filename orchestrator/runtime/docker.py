"""The Docker driver: the only module in the project that imports aiodocker.

Every engine call runs under ``asyncio.timeout`` and goes through ``_call``, the one
place that turns aiodocker/aiohttp errors and timeouts into ``runtime.errors``.
Containers get ``Init: true`` so a PID 1 that ignores SIGTERM (``sleep``) still stops
within the grace period.  The containers of a multi-container pod share a sandbox's
network (``docker_sandbox``).  GPUs are DeviceRequests with exact UUIDs; an engine without
the nvidia runtime accepts them at create and fails at start ("could not select
device driver"), which surfaces as a ``RuntimeError_`` from ``start``.  Interactive exec
(stdin, tty) is a session over the exec's hijacked connection (``docker_exec``).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import aiodocker
import aiohttp
import structlog
from aiodocker.exceptions import DockerError

from . import errors
from .base import LABEL_MANAGED, LABEL_POD_UID, ContainerInfo, ContainerSpec, PullPolicy, container_name, is_managed
from .docker_config import container_config, info_from_inspect
from .docker_exec import DockerExecSession, exec_session, exit_code
from .docker_sandbox import Sandboxes

log = structlog.get_logger(__name__)

_STREAMING = aiohttp.ClientTimeout()  # no limit: follow-mode logs may last for days


def default_docker_url() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


class DockerRuntime:
    name = "docker"

    def __init__(
        self, *, url: str | None = None, call_timeout: float = 30.0, pull_timeout: float = 600.0
    ) -> None:
        # An explicit URL: aiodocker's own socket search asserts when none exists.
        self._docker = aiodocker.Docker(url=url or default_docker_url())
        self._call_timeout = call_timeout
        self._pull_timeout = pull_timeout
        self._sandboxes = Sandboxes(self._docker, self._call)

    @classmethod
    async def open(cls, *, url: str | None = None, ping_timeout: float = 5.0) -> DockerRuntime:
        """Connect and check the engine answers; RuntimeUnavailable if it does not."""
        runtime = cls(url=url)
        try:
            async with runtime._call("version", timeout=ping_timeout):
                await runtime._docker.version()
        except BaseException:
            await runtime.close()
            raise
        return runtime

    @contextlib.asynccontextmanager
    async def _call(
        self,
        what: str,
        *,
        timeout: float | None = None,
        not_found: Callable[[str], errors.RuntimeError_] = errors.ContainerNotFound,
    ) -> AsyncIterator[None]:
        limit = self._call_timeout if timeout is None else timeout
        try:
            async with asyncio.timeout(limit):
                yield
        except errors.RuntimeError_:
            raise  # already ours (ExecTimeout is a TimeoutError too)
        except TimeoutError as exc:
            raise errors.RuntimeUnavailable(f"docker {what}: no answer within {limit:g}s") from exc
        except DockerError as exc:
            raise _translate(exc, what=what, not_found=not_found) from exc
        except aiohttp.ClientError as exc:
            raise errors.RuntimeUnavailable(f"docker {what}: {exc}") from exc

    async def version(self) -> str:
        async with self._call("version"):
            data = await self._docker.version()
        return str(data.get("Version", "unknown"))

    async def _image_present(self, image: str) -> bool:
        missing = lambda msg: errors.ImageNotPresent(msg, image=image)
        try:
            async with self._call("image inspect", not_found=missing):
                await self._docker.images.inspect(image)
        except errors.ImageNotPresent:
            return False
        return True

    async def ensure_image(self, image: str, policy: PullPolicy) -> None:
        present = await self._image_present(image)
        if policy == "Never":
            if not present:
                raise errors.ImageNotPresent(
                    f"image {image!r} is not present and imagePullPolicy is Never", image=image
                )
            return
        if present and policy == "IfNotPresent":
            return
        try:
            await self._pull(image)
        except errors.RuntimeError_ as exc:
            if present:  # Always, but offline: run what we have rather than nothing
                log.warning("image pull failed, using local copy", image=image, error=exc.message)
                return
            raise errors.ImagePullError(exc.message, image=image) from exc

    async def _pull(self, image: str) -> None:
        log.info("pulling image", image=image)
        async with self._call("pull", timeout=self._pull_timeout):
            async for _ in self._docker.images.pull(image, stream=True):
                pass  # progress messages; an error entry raises DockerStreamError

    async def create(self, spec: ContainerSpec) -> str:
        sandbox = await self._sandboxes.ensure(spec)
        config = container_config(spec, sandbox=sandbox)
        name = container_name(spec)
        image_missing = lambda msg: errors.ImageNotPresent(msg, image=spec.image)
        async with self._call("create", not_found=image_missing):
            container = await self._docker.containers.create(config, name=name)
        log.debug("container created", id=container.id[:12], name=name)
        return container.id

    async def start(self, id: str) -> None:
        async with self._call("start"):
            await self._docker.containers.container(id).start()

    async def stop(self, id: str, grace_seconds: float) -> None:
        grace = max(0, math.ceil(grace_seconds))  # the API takes whole seconds
        async with self._call("stop", timeout=grace + self._call_timeout):
            await self._docker.containers.container(id).stop(t=grace, timeout=_STREAMING)

    async def remove(self, id: str) -> None:
        container = self._docker.containers.container(id)
        async with self._call("remove"):
            data = await container.show()
        if not str((data.get("HostConfig") or {}).get("NetworkMode", "")).startswith("container:"):
            async with self._call("remove"):
                await container.delete(force=True)
            return
        async with self._sandboxes.removing((data.get("Config", {}).get("Labels") or {}).get(LABEL_POD_UID, "")):
            async with self._call("remove"):
                await container.delete(force=True)

    async def list(self, pod_uid: str | None = None) -> list[ContainerInfo]:
        wanted = [f"{LABEL_MANAGED}=true"]
        if pod_uid is not None:
            wanted.append(f"{LABEL_POD_UID}={pod_uid}")
        async with self._call("list"):
            found = await self._docker.containers.list(all=True, filters={"label": wanted})
        infos = await asyncio.gather(*(self._inspect_or_none(c.id) for c in found))
        if pod_uid is None:
            await self._sandboxes.sweep()
        return [info for info in infos if info is not None]

    async def _inspect_or_none(self, id: str) -> ContainerInfo | None:
        try:
            return await self.inspect(id)
        except errors.ContainerNotFound:  # removed between list and inspect
            return None

    async def inspect(self, id: str) -> ContainerInfo:
        async with self._call("inspect"):
            data = await self._docker.containers.container(id).show()
        labels = data.get("Config", {}).get("Labels") or {}
        if not is_managed(labels):
            raise errors.ContainerNotFound(f"container {id} is not managed by orch")
        info = info_from_inspect(data)
        mode = str((data.get("HostConfig") or {}).get("NetworkMode", ""))
        if info.ip is None and mode.startswith("container:"):  # in a pod sandbox: the pod IP is its
            info.ip = await self._sandboxes.ip(mode.removeprefix("container:"))
        return info

    async def logs(
        self, id: str, *, follow: bool = False, tail: int | None = None,
        timestamps: bool = False, since: float | None = None,
    ) -> AsyncIterator[bytes]:
        params = {"stdout": "1", "stderr": "1", "follow": "1" if follow else "0",
                  "tail": "all" if tail is None else str(tail)}  # fmt: skip
        if timestamps:  # the engine prefixes each line with its RFC3339Nano time and a space
            params["timestamps"] = "1"
        if since is not None and since > 0:  # 0 means "no filter" to the engine; earlier is all anyway
            params["since"] = f"{since:.9f}"  # the engine takes seconds.nanoseconds
        async with contextlib.AsyncExitStack() as stack:
            async with self._call("logs"):  # the limit covers opening, not streaming
                # aiodocker's public log() decodes to str and drops bad bytes; we
                # want the raw stream, so open the request ourselves and demux it.
                response = await stack.enter_async_context(
                    self._docker._query(f"containers/{id}/logs", params=params, timeout=_STREAMING)
                )
            try:
                async for chunk in _demultiplex(response.content):
                    yield chunk
            except aiohttp.ClientError as exc:
                raise errors.RuntimeUnavailable(f"docker logs: {exc}") from exc

    async def exec(self, id: str, command: list[str], timeout: float) -> tuple[int, bytes]:
        output = bytearray()
        async with self._call("exec", timeout=timeout + self._call_timeout):
            try:
                async with asyncio.timeout(timeout):
                    ex = await self._docker.containers.container(id).exec(command)
                    async with ex.start(detach=False) as stream:
                        while (msg := await stream.read_out()) is not None:
                            output += msg.data
                    code = await exit_code(ex)
            except TimeoutError as exc:  # the command was slow (the process runs on:
                # the Engine API cannot kill an exec)
                raise errors.ExecTimeout(f"exec {command!r} ran past {timeout:g}s") from exc
        return code, bytes(output)

    def exec_session(
        self, id: str, command: list[str], *, stdin: bool, tty: bool
    ) -> AbstractAsyncContextManager[DockerExecSession]:
        return exec_session(self._docker, self._call, id, command, stdin=stdin, tty=tty)

    async def close(self) -> None:
        await self._docker.close()


async def _demultiplex(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """Docker's non-TTY stream: 8-byte header (stream id, 3 pad, big-endian size)."""
    while True:
        try:
            header = await content.readexactly(8)
            size = int.from_bytes(header[4:8], "big")
            if size:
                yield await content.readexactly(size)
        except asyncio.IncompleteReadError:
            return


def _translate(
    exc: DockerError, *, what: str, not_found: Callable[[str], errors.RuntimeError_]
) -> errors.RuntimeError_:
    message = f"docker {what}: {exc.message}"
    if exc.status == 900:  # aiodocker's code for "cannot connect"
        return errors.RuntimeUnavailable(message)
    if exc.status == 404:
        return not_found(message)
    if exc.status == 409:
        return errors.ContainerConflict(message)
    if exc.status == 400:
        return errors.InvalidSpec(message)
    return errors.RuntimeError_(message)
