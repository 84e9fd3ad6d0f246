"""The local end of `orch exec -i`: stdin read without ever blocking the event loop."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.cli.terminal import read_chunks


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


async def test_waiting_for_more_input_leaves_the_loop_running(pipe: tuple[int, int]) -> None:
    r, w = pipe
    os.write(w, b"first")
    chunks = read_chunks(r)
    assert await anext(chunks) == b"first"
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    threading.Timer(0.3, os.write, (w, b"second")).start()  # from a thread: a blocked loop could not do it
    async with asyncio.TaskGroup() as tg:
        ticker = tg.create_task(tick())
        assert await anext(chunks) == b"second"
        ticker.cancel()
    assert ticks > 10, "the loop stood still while stdin had nothing to read"
    os.close(w)
    assert [chunk async for chunk in chunks] == []  # the writer closed: the end


async def test_a_regular_file_is_read_to_its_end(tmp_path: Path) -> None:
    (tmp_path / "input").write_bytes(b"x" * 100_000)  # epoll refuses regular files: read directly
    fd = os.open(tmp_path / "input", os.O_RDONLY)
    try:
        assert b"".join([chunk async for chunk in read_chunks(fd)]) == b"x" * 100_000
    finally:
        os.close(fd)
