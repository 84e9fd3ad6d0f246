"""The process runtime's CPU and memory limits through real cgroups (this machine: root).

Where cgroups cannot be written the test skips, except under CI=true, where CI's machine
(root, like this one) must enforce them: a skip there would hide that limits broke.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from orchestrator.runtime import cgroups as cg
from orchestrator.runtime.base import ContainerSpec
from orchestrator.runtime.process import ProcessRuntime
from tests.conftest import IN_CI
from tests.runtime.test_process_runtime import started, wait_exited

MakeSpec = Callable[..., ContainerSpec]


@pytest.fixture
async def limited_rt(tmp_path: Path) -> AsyncIterator[ProcessRuntime]:
    groups, why = cg.detect()
    if groups is None:
        if IN_CI:
            pytest.fail(f"cgroup limits are required under CI=true: {why}", pytrace=False)
        pytest.skip(f"cgroups not writable here: {why}")
    runtime = await ProcessRuntime.open(data_dir=tmp_path / "node")
    assert runtime.limits_note.startswith("CPU and memory limits through cgroup v")
    try:
        yield runtime
    finally:
        for info in await runtime.list():
            await runtime.remove(info.id)
        await runtime.close()


def _cgroup_of(pid: int) -> str:
    return Path(f"/proc/{pid}/cgroup").read_text()


async def test_limits_are_written_and_the_command_and_its_children_run_inside(
        limited_rt: ProcessRuntime, make_spec: MakeSpec) -> None:
    spec = make_spec(command=["sh", "-c", "sleep 30 & wait"], cpu_millis=500, memory_bytes=64 * 2**20)
    id = await started(limited_rt, spec)
    groups, _ = cg.detect()
    assert groups is not None
    pid = _pid(limited_rt, id)
    inside = f"/{cg.PARENT}/{id}"
    async with asyncio.timeout(5):  # the shell joins, then execs the command, which forks sleep
        while inside not in _cgroup_of(pid) or not _children(pid):
            await asyncio.sleep(0.02)
    for child in _children(pid):  # what it forked stayed in the container's cgroup
        assert inside in _cgroup_of(child)
    if groups.version == 2:
        d = groups.root / cg.PARENT / id
        assert (d / "memory.max").read_text().strip() == str(64 * 2**20)
        assert (d / "cpu.max").read_text().split() == ["50000", "100000"]
    else:
        assert (groups.root / "memory" / cg.PARENT / id / "memory.limit_in_bytes").read_text().strip() == str(
            64 * 2**20)
        assert (groups.root / "cpu" / cg.PARENT / id / "cpu.cfs_quota_us").read_text().strip() == "50000"
    await limited_rt.stop(id, 0)
    await wait_exited(limited_rt, id)
    assert not any(d.exists() for d in groups._dirs(id).values())  # removed once empty


async def test_a_process_past_its_memory_limit_is_oom_killed(limited_rt: ProcessRuntime, make_spec: MakeSpec) -> None:
    hog = "x = bytearray(256 * 2**20); x[::4096] = b'1' * len(x[::4096]); import time; time.sleep(5)"
    id = await started(limited_rt, make_spec(command=[sys.executable, "-c", hog], memory_bytes=48 * 2**20))
    info = await wait_exited(limited_rt, id, timeout=20)
    assert info.oom_killed and info.exit_code == 137, info
    calm = await started(limited_rt, make_spec(command=["sh", "-c", "exit 0"], memory_bytes=48 * 2**20))
    assert not (await wait_exited(limited_rt, calm)).oom_killed


async def test_without_limits_nothing_is_made(limited_rt: ProcessRuntime, make_spec: MakeSpec) -> None:
    id = await started(limited_rt, make_spec(command=["sleep", "30"]))
    assert f"/{cg.PARENT}/" not in _cgroup_of(_pid(limited_rt, id))


def test_detect_says_why_not(tmp_path: Path) -> None:
    groups, why = cg.detect(tmp_path)
    assert groups is None and "no cgroup v2 or v1" in why
    (tmp_path / "cgroup.controllers").write_text("cpuset io\n")
    groups, why = cg.detect(tmp_path)
    assert groups is None and "without the cpu, memory controller(s)" in why


def _pid(rt: ProcessRuntime, id: str) -> int:
    pid = rt._records[id].pid
    assert pid is not None
    return pid


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]
