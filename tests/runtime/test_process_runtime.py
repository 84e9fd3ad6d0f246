"""The process driver with real host processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.runtime import errors, procfs
from orchestrator.runtime.base import ContainerInfo, ContainerRuntime, ContainerSpec
from orchestrator.runtime.process import ProcessRuntime

MakeSpec = Callable[..., ContainerSpec]


async def wait_exited(rt: ProcessRuntime, id: str, *, timeout: float = 5.0) -> ContainerInfo:
    async with asyncio.timeout(timeout):
        while (info := await rt.inspect(id)).state != "exited":
            await asyncio.sleep(0.02)
    return info


async def output(rt: ProcessRuntime, id: str, **kwargs: object) -> bytes:
    return b"".join([chunk async for chunk in rt.logs(id, **kwargs)])  # type: ignore[arg-type]


async def started(rt: ProcessRuntime, spec: ContainerSpec) -> str:
    id = await rt.create(spec)
    await rt.start(id)
    return id


async def test_is_a_container_runtime(process_rt: ProcessRuntime) -> None:
    assert isinstance(process_rt, ContainerRuntime) and process_rt.name == "process"
    await process_rt.ensure_image("anything:latest", "Never")  # images are ignored


async def test_exit_code_and_logs(process_rt: ProcessRuntime, make_spec: MakeSpec, tmp_path: Path) -> None:
    spec = make_spec(command=["sh", "-c", "echo hi; echo err >&2; exit 3"], restart_count=1)
    id = await process_rt.create(spec)
    assert (await process_rt.inspect(id)).state == "created"
    await process_rt.start(id)
    info = await wait_exited(process_rt, id)
    assert (info.exit_code, info.error, info.restart_count) == (3, None, 1)
    assert info.started_at and info.finished_at and info.pod_uid == spec.pod_uid
    assert await output(process_rt, id) == b"hi\nerr\n"
    log_file = tmp_path / "node" / "logs" / spec.pod_uid / "main" / "1.log"  # one file per attempt
    assert log_file.read_bytes() == b"hi\nerr\n"


async def test_env_and_working_dir(process_rt: ProcessRuntime, make_spec: MakeSpec, tmp_path: Path) -> None:
    id = await started(process_rt, make_spec(
        command=["sh", "-c"], args=['echo "$GREETING in $(pwd) as $HOSTNAME"'],
        env={"GREETING": "hello world"}, working_dir=str(tmp_path), pod_name="web-0",
    ))  # fmt: skip
    assert (await wait_exited(process_rt, id)).exit_code == 0
    assert await output(process_rt, id) == f"hello world in {tmp_path} as web-0\n".encode()


async def test_assigned_gpus_are_visible_to_cuda(process_rt: ProcessRuntime, make_spec: MakeSpec) -> None:
    id = await started(process_rt, make_spec(command=["sh", "-c", "echo $CUDA_VISIBLE_DEVICES"],
                                             gpu_device_ids=["GPU-a", "GPU-b"]))  # fmt: skip
    await wait_exited(process_rt, id)
    assert await output(process_rt, id) == b"GPU-a,GPU-b\n"


async def test_stop_sigterm_within_grace(process_rt: ProcessRuntime, make_spec: MakeSpec) -> None:
    id = await started(process_rt, make_spec(command=["sleep", "30"]))
    t0 = time.monotonic()
    await process_rt.stop(id, 10)
    assert time.monotonic() - t0 < 1
    assert (await process_rt.inspect(id)).exit_code == 143


async def test_stop_sigkill_after_grace_reaches_the_group(process_rt: ProcessRuntime, make_spec: MakeSpec) -> None:
    # sh ignores TERM and so does its child (ignored signals are inherited).
    id = await started(process_rt, make_spec(command=["sh", "-c", "trap '' TERM; sleep 30 & echo $!; wait"]))
    async with asyncio.timeout(5):
        while not (out := await output(process_rt, id)):
            await asyncio.sleep(0.02)
    child = int(out)
    t0 = time.monotonic()
    await process_rt.stop(id, 0.5)
    elapsed = time.monotonic() - t0
    assert 0.45 < elapsed < 2, elapsed
    assert (await process_rt.inspect(id)).exit_code == 137
    async with asyncio.timeout(2):  # the grandchild went with the group
        while procfs.start_time(child) is not None:
            await asyncio.sleep(0.02)


async def test_leftovers_killed_when_main_process_exits(process_rt: ProcessRuntime, make_spec: MakeSpec) -> None:
    id = await started(process_rt, make_spec(command=["sh", "-c", "sleep 30 & echo $!"]))
    assert (await wait_exited(process_rt, id)).exit_code == 0
    child = int(await output(process_rt, id))
    async with asyncio.timeout(2):
        while procfs.start_time(child) is not None:
            await asyncio.sleep(0.02)


async def test_adopts_running_process_after_restart(tmp_path: Path, make_spec: MakeSpec) -> None:
    first = await ProcessRuntime.open(data_dir=tmp_path)
    id = await started(first, make_spec(command=["sleep", "30"]))
    await first.close()  # the agent goes away; the process must not

    second = await ProcessRuntime.open(data_dir=tmp_path)
    try:
        info = await second.inspect(id)
        assert info.state == "running" and [i.id for i in await second.list()] == [id]
        await second.stop(id, 5)
        info = await second.inspect(id)
        # Our test process is still its parent so the code is known here; an agent
        # that really restarted gets None with an explanation.
        assert info.state == "exited" and (info.exit_code == 143 or info.error)
        await second.remove(id)
    finally:
        await second.close()


async def test_process_gone_while_away_is_exited(tmp_path: Path, make_spec: MakeSpec) -> None:
    first = await ProcessRuntime.open(data_dir=tmp_path)
    id = await started(first, make_spec(command=["sleep", "30"]))
    await first.close()
    pid = json.loads((tmp_path / "containers" / f"{id}.json").read_text())["pid"]
    os.kill(pid, signal.SIGKILL)
    await asyncio.to_thread(os.waitpid, pid, 0)  # the test process is its parent: reap it

    second = await ProcessRuntime.open(data_dir=tmp_path)
    info = await second.inspect(id)
    assert info.state == "exited" and info.exit_code is None and "no agent" in (info.error or "")
    await second.close()


async def test_reused_pid_is_never_signalled(tmp_path: Path, make_spec: MakeSpec) -> None:
    """A record whose pid now belongs to someone else (here: pytest itself)."""
    first = await ProcessRuntime.open(data_dir=tmp_path)
    id = await first.create(make_spec(command=["sleep", "30"]))
    await first.close()
    path = tmp_path / "containers" / f"{id}.json"
    record = json.loads(path.read_text())
    record.update(state="running", pid=os.getpid(), pid_start=procfs.start_time(os.getpid()) - 1)
    path.write_text(json.dumps(record))

    second = await ProcessRuntime.open(data_dir=tmp_path)
    assert (await second.inspect(id)).state == "exited"
    await second.stop(id, 0)  # must not signal pytest
    await second.close()


async def test_exec(process_rt: ProcessRuntime, make_spec: MakeSpec) -> None:
    id = await started(process_rt, make_spec(command=["sleep", "30"], env={"WHO": "probe"}))
    assert await process_rt.exec(id, ["sh", "-c", "echo hi $WHO; exit 2"], 5) == (2, b"hi probe\n")
    code, out = await process_rt.exec(id, ["/nonexistent/probe"], 5)
    assert code == 127 and b"nonexistent" in out
    t0 = time.monotonic()
    with pytest.raises(errors.ExecTimeout):
        await process_rt.exec(id, ["sleep", "5"], 0.3)
    assert time.monotonic() - t0 < 2
    await process_rt.stop(id, 1)
    with pytest.raises(errors.ContainerConflict):
        await process_rt.exec(id, ["true"], 5)


async def test_logs_follow_and_tail(process_rt: ProcessRuntime, make_spec: MakeSpec) -> None:
    id = await started(process_rt, make_spec(command=["sh", "-c", "echo one; echo two; sleep 0.3; echo three"]))
    async with asyncio.timeout(5):
        assert await output(process_rt, id, follow=True) == b"one\ntwo\nthree\n"
    assert await output(process_rt, id, tail=2) == b"two\nthree\n"
    assert await output(process_rt, id, tail=0) == b""
    assert await output(process_rt, id, tail=10) == b"one\ntwo\nthree\n"


async def test_logs_refuse_times_when_called(process_rt: ProcessRuntime, make_spec: MakeSpec) -> None:
    id = await started(process_rt, make_spec(command=["sh", "-c", "echo one"]))
    for kwargs in ({"timestamps": True}, {"since": time.time() - 60}):
        with pytest.raises(errors.Unsupported, match="does not record when log lines were written.*docker"):
            process_rt.logs(id, **kwargs)  # type: ignore[arg-type]  # raised before any iteration


async def test_bad_specs(process_rt: ProcessRuntime, make_spec: MakeSpec) -> None:
    with pytest.raises(errors.InvalidSpec):
        await process_rt.create(make_spec(command=[], args=[]))
    id = await process_rt.create(make_spec(command=["/nonexistent/binary"]))
    with pytest.raises(errors.InvalidSpec):
        await process_rt.start(id)
    info = await process_rt.inspect(id)
    assert info.state == "exited" and info.exit_code == 128 and "/nonexistent/binary" in (info.error or "")
    with pytest.raises(errors.ContainerNotFound):
        await process_rt.inspect("nope")


async def test_remove_kills_and_forgets(process_rt: ProcessRuntime, make_spec: MakeSpec, tmp_path: Path) -> None:
    spec = make_spec(command=["sleep", "30"])
    id = await started(process_rt, spec)
    record = tmp_path / "node" / "containers" / f"{id}.json"
    pid = json.loads(record.read_text())["pid"]
    await process_rt.remove(id)
    assert procfs.start_time(pid) is None
    assert await process_rt.list(pod_uid=spec.pod_uid) == []
    assert not record.exists()
