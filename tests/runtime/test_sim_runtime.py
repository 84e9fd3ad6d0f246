"""The sim driver: an in-memory state machine, cheap enough for thousands."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import datetime

import pytest

from orchestrator.runtime import errors
from orchestrator.runtime.base import ContainerInfo, ContainerRuntime, ContainerSpec
from orchestrator.runtime.sim import LABEL_EXIT_CODE, LABEL_RUN_SECONDS, SimRuntime

MakeSpec = Callable[..., ContainerSpec]


async def test_lifecycle(sim_rt: SimRuntime, make_spec: MakeSpec) -> None:
    assert isinstance(sim_rt, ContainerRuntime) and sim_rt.name == "sim"
    spec = make_spec(restart_count=4)
    id = await sim_rt.create(spec)
    assert (await sim_rt.inspect(id)).state == "created"
    await sim_rt.start(id)
    info = await sim_rt.inspect(id)
    assert info.state == "running" and info.ip and info.restart_count == 4 and info.pod_uid == spec.pod_uid
    await sim_rt.stop(id, 30)  # instant: no grace to wait out
    info = await sim_rt.inspect(id)
    assert (info.state, info.exit_code) == ("exited", 143) and info.finished_at
    assert [c async for c in sim_rt.logs(id, tail=1)] == [b"sim: exited with code 143\n"]
    await sim_rt.remove(id)
    with pytest.raises(errors.ContainerNotFound):
        await sim_rt.inspect(id)


async def test_run_seconds_exits_by_itself(make_spec: MakeSpec) -> None:
    rt = SimRuntime(run_seconds=0.05)
    try:
        default = await rt.create(make_spec())
        failing = await rt.create(make_spec(labels={LABEL_RUN_SECONDS: "0.1", LABEL_EXIT_CODE: "2"}))
        for id in (default, failing):
            await rt.start(id)
        async with asyncio.timeout(2):
            follow = [c async for c in rt.logs(failing, follow=True)]
        assert follow[-1] == b"sim: exited with code 2\n"
        assert [(i.state, i.exit_code) for i in [await rt.inspect(default), await rt.inspect(failing)]] == [
            ("exited", 0), ("exited", 2)
        ]
    finally:
        await rt.close()


async def test_thousands_are_cheap(sim_rt: SimRuntime, make_spec: MakeSpec) -> None:
    specs = [make_spec() for _ in range(5000)]
    t0 = time.perf_counter()
    for spec in specs:
        await sim_rt.start(await sim_rt.create(spec))
    listed = await sim_rt.list()
    elapsed = time.perf_counter() - t0
    assert len(listed) == 5000 and len({i.ip for i in listed}) == 5000
    assert elapsed < 2, f"5000 sim containers took {elapsed:.2f}s"
    assert [i.pod_uid for i in await sim_rt.list(pod_uid=specs[7].pod_uid)] == [specs[7].pod_uid]


async def test_images_exec_and_conflicts(make_spec: MakeSpec) -> None:
    def handler(info: ContainerInfo, command: list[str]) -> tuple[int, bytes]:
        return (0 if command == ["ready"] else 1), info.container_name.encode()

    rt = SimRuntime(missing_images={"gone:1"}, exec_handler=handler)
    with pytest.raises(errors.ImagePullError):
        await rt.ensure_image("gone:1", "Always")
    with pytest.raises(errors.ImageNotPresent):
        await rt.ensure_image("gone:1", "Never")
    await rt.ensure_image("here:1", "Never")
    spec = make_spec()
    id = await rt.create(spec)
    with pytest.raises(errors.ContainerConflict):
        await rt.create(spec)
    with pytest.raises(errors.ContainerConflict):
        await rt.exec(id, ["ready"], 1)  # not running yet
    await rt.start(id)
    assert await rt.exec(id, ["ready"], 1) == (0, b"main")
    assert await rt.exec(id, ["other"], 1) == (1, b"main")
    with pytest.raises(errors.InvalidSpec):
        await rt.create(make_spec(labels={LABEL_RUN_SECONDS: "soon"}))
    await rt.close()


async def test_snapshots_do_not_alias_state(sim_rt: SimRuntime, make_spec: MakeSpec) -> None:
    id = await sim_rt.create(make_spec())
    info = await sim_rt.inspect(id)
    info.state = "running"
    info.labels["x"] = "y"
    again = await sim_rt.inspect(id)
    assert again.state == "created" and "x" not in again.labels


async def test_logs_since_and_timestamps(sim_rt: SimRuntime, make_spec: MakeSpec) -> None:
    id = await sim_rt.create(make_spec())
    before = time.time()
    await sim_rt.start(id)
    await asyncio.sleep(0.02)
    between = time.time()
    await asyncio.sleep(0.02)
    await sim_rt.stop(id, 0)
    after = time.time()
    everything = [b"sim: main started\n", b"sim: exited with code 143\n"]
    assert [c async for c in sim_rt.logs(id, since=before)] == everything
    assert [c async for c in sim_rt.logs(id, since=between)] == everything[1:]
    assert [c async for c in sim_rt.logs(id, since=after + 1)] == []
    assert [c async for c in sim_rt.logs(id, tail=1, since=before)] == everything[1:]  # tail, then since
    stamped = [c async for c in sim_rt.logs(id, timestamps=True)]
    assert [c.split(b" ", 1)[1] for c in stamped] == everything
    stamp = stamped[0].split(b" ", 1)[0].decode()  # Docker's shape: nine fraction digits and Z
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", stamp), stamp
    assert before - 1e-3 <= datetime.fromisoformat(stamp[:26] + "+00:00").timestamp() <= between
