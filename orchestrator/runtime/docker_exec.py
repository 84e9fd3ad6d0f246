"""Interactive exec on Docker: the exec's hijacked connection, stdin in, output out.

    exec create (AttachStdin, Tty) -> exec start (the connection is upgraded to raw TCP)
        write -> the command's stdin; read <- stdout/stderr (multiplexed without a tty)
        half-close (write EOF) -> the command sees EOF on stdin, as `docker exec -i` does

aiodocker's ``Stream.close`` closes both directions at once, which would lose the output
still to come after stdin ends, so ``close_stdin`` half-closes the transport itself.
With a tty the engine ends the stream when stdin closes, even if the command runs on
(a terminal's EOF is a ^D byte, not a closed input); ``exit_code`` then says it still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiodocker
import aiohttp
import structlog
from aiodocker.execs import Exec
from aiodocker.stream import Stream

from . import errors

log = structlog.get_logger(__name__)

Call = Callable[..., AbstractAsyncContextManager[None]]  # DockerRuntime._call: errors translated, time limited
EXIT_WAIT_S = 5.0  # the engine records the exit code just after the output ends


async def exit_code(ex: Any) -> int:
    # The stream ends when the process does, but the engine may not have recorded
    # the exit code yet; poll briefly.
    while True:
        info = await ex.inspect()
        if not info.get("Running") and info.get("ExitCode") is not None:
            return int(info["ExitCode"])
        await asyncio.sleep(0.02)


class DockerExecSession:
    def __init__(self, *, ex: Exec, stream: Stream, call: Call) -> None:
        self._ex, self._stream, self._call = ex, stream, call

    async def write_stdin(self, data: bytes) -> None:
        try:
            await self._stream.write_in(data)
        except (RuntimeError, ConnectionError, aiohttp.ClientError):
            pass  # stdin is closed or the command has ended: the input has nowhere to go

    async def close_stdin(self) -> None:
        connection = self._stream._resp.connection if self._stream._resp is not None else None
        transport = connection.transport if connection is not None else None
        if transport is not None and not transport.is_closing() and transport.can_write_eof():
            transport.write_eof()

    async def read(self) -> tuple[int, bytes] | None:
        try:
            message = await self._stream.read_out()
        except aiohttp.ClientError as exc:
            raise errors.RuntimeUnavailable(f"docker exec: the stream broke: {exc}") from exc
        return None if message is None else (message.stream, message.data)

    async def resize(self, *, cols: int, rows: int) -> None:
        try:
            async with self._call("exec resize"):
                await self._ex.resize(h=rows, w=cols)
        except errors.RuntimeError_ as exc:  # e.g. it has just ended: a size means nothing then
            log.debug("exec resize refused", error=exc.message)

    async def exit_code(self) -> int:
        async with self._call("exec inspect", timeout=EXIT_WAIT_S + 5.0):
            try:
                async with asyncio.timeout(EXIT_WAIT_S):
                    return await exit_code(self._ex)
            except TimeoutError:
                raise errors.RuntimeError_("the command's output ended but it still runs "
                                           "(a tty ends its output when its input closes)") from None


@contextlib.asynccontextmanager
async def exec_session(docker: aiodocker.Docker, call: Call, id: str, command: list[str], *, stdin: bool,
                       tty: bool) -> AsyncIterator[DockerExecSession]:
    async with contextlib.AsyncExitStack() as stack:
        async with call("exec"):  # the limit covers starting, not the session
            ex = await docker.containers.container(id).exec(command, stdin=stdin, tty=tty)
            stream = await stack.enter_async_context(ex.start(detach=False))
        yield DockerExecSession(ex=ex, stream=stream, call=call)
