"""Host-process plumbing for the process driver: identity, waiting, signalling.

A pid alone is not an identity (pids are reused), so a process is named by
``(pid, start time in clock ticks since boot)`` from ``/proc/<pid>/stat``; every
signal goes through ``signal_group`` which re-checks that pair first.  Waiting uses
a pidfd, which works for any process, not only our children: an adopted process
(started by an earlier agent) can be watched the same way.
"""

from __future__ import annotations

import asyncio
import os
import signal

import structlog

log = structlog.get_logger(__name__)

POLL_INTERVAL = 0.2  # seconds, only where pidfd_open is unavailable


def start_time(pid: int) -> int | None:
    """The process's start time (clock ticks since boot), None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    if not fields or fields[0] in ("Z", "X"):  # state: zombie or dead
        return None
    return int(fields[19])  # field 22 overall; fields[0] is field 3


def is_alive(pid: int, started: int | None) -> bool:
    return started is not None and start_time(pid) == started


def signal_group(pid: int, started: int | None, sig: signal.Signals) -> bool:
    """Signal the process group led by ``pid`` if that leader is still the same
    process; False when it is gone (nothing sent)."""
    if not is_alive(pid, started):
        return False
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    return True


def kill_group_quietly(pgid: int) -> None:
    """SIGKILL what is left of a group; only call while the leader is an unreaped
    zombie, so the pgid cannot have been reused."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


async def wait_exit(pid: int) -> None:
    """Return once ``pid`` has exited (it may still be an unreaped zombie)."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except OSError as exc:  # old kernel or a sandbox without pidfd: poll instead
        log.debug("pidfd_open unavailable, polling", pid=pid, error=str(exc))
        started = start_time(pid)
        while is_alive(pid, started):
            await asyncio.sleep(POLL_INTERVAL)
        return
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    loop.add_reader(fd, readable.set)  # a pidfd turns readable when the process exits
    try:
        await readable.wait()
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def reap(pid: int) -> int | None:
    """Collect the exit code of our exited child; None if it is not our child or
    someone else reaped it (an adopted process: its code is unknowable)."""
    try:
        got, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None
    if got == 0:
        return None
    return exit_code(status)


def exit_code(status: int) -> int:
    """A wait status as a shell (and Docker) reports it: 128+N for signal N."""
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def shell_code(returncode: int) -> int:
    """subprocess reports signal N as -N; shells and Docker say 128+N."""
    return 128 - returncode if returncode < 0 else returncode
