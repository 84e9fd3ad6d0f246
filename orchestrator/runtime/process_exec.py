"""Exec for the process runtime: a host process beside the container's, in its own group.

Interactive exec is ``-i`` only: stdin is a pipe, stdout and stderr one merged pipe (as
``exec`` collects them).  There is no tty to give (``Unsupported``).  A command that cannot
start answers as a shell would: 127 and the reason as output.  Leaving a session closes
the command's stdin and waits briefly for it to end, then kills its group: a host process
left behind would have no parent to reap it.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator

from . import errors, procfs

CHUNK = 64 * 1024
DETACH_WAIT_S = 1.0  # how long a command gets to end by itself once its stdin is closed
NO_TTY = "the process runtime has no tty to give: exec -t needs the docker runtime (-i alone works)"


async def spawn(command: list[str], *, env: dict[str, str], cwd: str | None,
                stdin: int) -> asyncio.subprocess.Process:
    """The command started, output merged into one pipe; OSError when it cannot start."""
    return await asyncio.create_subprocess_exec(
        *command, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd,
        start_new_session=True)


def not_started(command: list[str], exc: OSError) -> bytes:
    return f"exec {command[0]!r}: {exc.strerror or exc}\n".encode()


class PipeSession:
    def __init__(self, proc: asyncio.subprocess.Process | None, *, failure: bytes = b"") -> None:
        self._proc, self._failure = proc, failure  # no proc: it could not start, `failure` says why

    async def write_stdin(self, data: bytes) -> None:
        if self._proc is None or self._proc.stdin is None or self._proc.stdin.is_closing():
            return
        try:
            self._proc.stdin.write(data)
            await self._proc.stdin.drain()
        except ConnectionError:
            pass  # it has ended: the input has nowhere to go

    async def close_stdin(self) -> None:
        if self._proc is not None and self._proc.stdin is not None:
            self._proc.stdin.close()

    async def read(self) -> tuple[int, bytes] | None:
        if self._proc is None:
            failure, self._failure = self._failure, b""
            return (1, failure) if failure else None
        assert self._proc.stdout is not None
        data = await self._proc.stdout.read(CHUNK)
        return (1, data) if data else None

    async def resize(self, *, cols: int, rows: int) -> None:
        pass  # no tty: nothing to size

    async def exit_code(self) -> int:
        return 127 if self._proc is None else procfs.shell_code(await self._proc.wait())

    async def detach(self) -> None:
        if self._proc is None:
            return
        await self.close_stdin()
        try:
            async with asyncio.timeout(DETACH_WAIT_S):
                await self._proc.wait()
        except TimeoutError:
            procfs.kill_group_quietly(self._proc.pid)  # still running, so the pgid is its own
            await self._proc.wait()


@contextlib.asynccontextmanager
async def pipe_session(command: list[str], *, env: dict[str, str], cwd: str | None, stdin: bool,
                       tty: bool) -> AsyncIterator[PipeSession]:
    if tty:
        raise errors.Unsupported(NO_TTY)
    try:
        session = PipeSession(await spawn(command, env=env, cwd=cwd,
                                          stdin=subprocess.PIPE if stdin else subprocess.DEVNULL))
    except OSError as exc:
        session = PipeSession(None, failure=not_started(command, exc))
    try:
        yield session
    finally:
        await asyncio.shield(session.detach())
