"""open_runtime / detect_runtime: picking a driver."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from orchestrator.runtime import RuntimeUnavailable, detect_runtime, open_runtime
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.runtime.process import ProcessRuntime
from orchestrator.runtime.sim import SimRuntime


@pytest.mark.parametrize(("kind", "cls"), [("sim", SimRuntime), ("process", ProcessRuntime)])
async def test_open_by_name(kind: str, cls: type, tmp_path: Path) -> None:
    runtime = await open_runtime(kind, data_dir=tmp_path)
    assert isinstance(runtime, cls) and runtime.name == kind
    await runtime.close()


async def test_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown runtime"):
        await open_runtime("podman", data_dir=tmp_path)


async def test_no_engine_means_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    t0 = time.monotonic()
    runtime = await detect_runtime(data_dir=tmp_path)
    assert isinstance(runtime, ProcessRuntime) and time.monotonic() - t0 < 2
    await runtime.close()
    with pytest.raises(RuntimeUnavailable):
        await open_runtime("docker", data_dir=tmp_path)


@pytest.mark.docker
async def test_engine_answers_means_docker(tmp_path: Path) -> None:
    runtime = await open_runtime("auto", data_dir=tmp_path)
    assert isinstance(runtime, DockerRuntime)
    await runtime.close()
