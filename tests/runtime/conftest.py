"""Fixtures for the runtime drivers: valid-by-default specs and runtimes that clean up.

Every container a test makes carries ``TEST_LABEL``; the docker fixture removes all
containers with it at teardown, whether or not the test got that far itself.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.runtime.base import ContainerSpec
from orchestrator.runtime.docker import DockerRuntime
from orchestrator.runtime.process import ProcessRuntime
from orchestrator.runtime.sim import SimRuntime

TEST_IMAGE = "orch-test/busybox:latest"
TEST_LABEL = "orch-test.io/suite"

MakeSpec = Callable[..., ContainerSpec]


@pytest.fixture
def make_spec(request: pytest.FixtureRequest) -> MakeSpec:
    """``make_spec(**overrides)``: a runnable busybox container in a fresh pod."""

    def make(**overrides: Any) -> ContainerSpec:
        fields: dict[str, Any] = {
            "pod_uid": str(uuid.uuid4()),
            "pod_name": "pod-" + uuid.uuid4().hex[:6],
            "namespace": "default",
            "container_name": "main",
            "image": TEST_IMAGE,
            "command": ["sleep", "30"],
            "image_pull_policy": "IfNotPresent",
        }
        fields.update(overrides)
        fields["labels"] = {TEST_LABEL: "runtime", **fields.get("labels", {})}
        return ContainerSpec(**fields)

    return make


@pytest.fixture
async def docker_rt() -> AsyncIterator[DockerRuntime]:
    runtime = await DockerRuntime.open()
    try:
        yield runtime
    finally:
        for info in await runtime.list():
            if info.labels.get(TEST_LABEL) == "runtime":
                await runtime.remove(info.id)
        await runtime.close()


@pytest.fixture
async def process_rt(tmp_path: Path) -> AsyncIterator[ProcessRuntime]:
    runtime = await ProcessRuntime.open(data_dir=tmp_path / "node")
    try:
        yield runtime
    finally:
        for info in await runtime.list():
            await runtime.remove(info.id)  # kills what is still running
        await runtime.close()


@pytest.fixture
async def sim_rt() -> AsyncIterator[SimRuntime]:
    runtime = SimRuntime()
    try:
        yield runtime
    finally:
        await runtime.close()
