"""The local end of an interactive exec: stdin read without blocking the loop, raw mode, size.

Raw mode hands every key (^C, ^D, arrows) to the remote tty, which does the echoing and
line editing; the saved settings come back on the way out, errors included.  Stdin is
watched with the loop's reader where the selector takes it (terminals, pipes, sockets);
a regular file or /dev/null is refused by epoll but never blocks, so it is read directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import termios
import tty
from collections.abc import AsyncIterator, Iterator

CHUNK = 64 * 1024


@contextlib.contextmanager
def raw_mode(fd: int) -> Iterator[None]:
    saved = termios.tcgetattr(fd)
    tty.setraw(fd, termios.TCSANOW)  # not setraw's default TCSAFLUSH: that drops what was typed ahead
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def size(fd: int) -> tuple[int, int]:
    """(columns, rows) of the terminal at `fd`."""
    cols, rows = os.get_terminal_size(fd)
    return cols, rows


async def read_chunks(fd: int) -> AsyncIterator[bytes]:
    """What arrives on `fd` until its end, as it comes."""
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    try:
        loop.add_reader(fd, readable.set)
    except PermissionError:  # a regular file or /dev/null: reads return at once
        while data := os.read(fd, CHUNK):
            yield data
        return
    try:
        while True:
            await readable.wait()
            readable.clear()
            # The reader is level-triggered: a callback queued before our last read may have
            # set the event after it; a blocking read then would stop the whole loop.
            if not select.select([fd], [], [], 0)[0]:
                continue
            try:
                data = os.read(fd, CHUNK)
            except OSError:  # EIO: the terminal hung up, which ends its input too
                return
            if not data:
                return
            yield data
    finally:
        loop.remove_reader(fd)
