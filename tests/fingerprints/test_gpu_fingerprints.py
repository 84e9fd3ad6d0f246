"""GPU discovery from recorded nvidia-smi outputs, NVML, and --gpus declarations."""

from __future__ import annotations

import sys
import time
import types
from collections.abc import Callable
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from orchestrator.agent.fingerprints.gpus import (
    QUERY,
    GpuDevice,
    GpuFingerprintError,
    declared_gpus,
    discover_gpus,
    fingerprint_gpus,
    parse_nvidia_smi,
)

RECORDINGS = Path(__file__).parents[1] / "fixtures" / "nvidia-smi"
InstallFake = Callable[..., Path]


def recording(name: str) -> str:
    return (RECORDINGS / f"{name}.txt").read_text()


# --- parsing recorded outputs ----------------------------------------------------------


def test_parse_none() -> None:
    assert parse_nvidia_smi(recording("none")) == []
    assert parse_nvidia_smi("No devices were found\n") == []


def test_parse_one_gpu() -> None:
    [gpu] = parse_nvidia_smi(recording("one-gpu"))
    assert gpu.index == 0 and gpu.uuid.startswith("GPU-") and len(gpu.uuid) == 40
    assert (gpu.model, gpu.memory_mib) == ("NVIDIA A100-SXM4-40GB", 40960)


def test_parse_eight_h100() -> None:
    gpus = parse_nvidia_smi(recording("eight-h100"))
    assert [g.index for g in gpus] == list(range(8))
    assert len({g.uuid for g in gpus}) == 8
    assert {(g.model, g.memory_mib) for g in gpus} == {("NVIDIA H100 80GB HBM3", 81559)}


def test_parse_malformed_names_the_line() -> None:
    with pytest.raises(GpuFingerprintError, match="line 2"):
        parse_nvidia_smi(recording("malformed"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0, GPU-1a2b, Tesla T4, [N/A]\n", GpuDevice(index=0, uuid="GPU-1a2b", model="Tesla T4", memory_mib=None)),
        ("0, MIG-9f8e, NVIDIA A100, rev 2, 4864\n",
         GpuDevice(index=0, uuid="MIG-9f8e", model="NVIDIA A100, rev 2", memory_mib=4864)),
    ],
)  # fmt: skip
def test_parse_edge_cases(text: str, expected: GpuDevice) -> None:
    assert parse_nvidia_smi(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "zero, GPU-1a2b, T4, 15360",  # index
        "0, 1a2b, T4, 15360",  # uuid
        "0, GPU-1a2b, T4, lots",  # memory
        "0, GPU-1a2b, , 15360",  # name
        "0, GPU-1a2b, T4, 15360\n0, GPU-3c4d, T4, 15360",  # duplicate index
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.",
    ],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(GpuFingerprintError):
        parse_nvidia_smi(text)


# --- discovery end to end (fake nvidia-smi on PATH) ------------------------------------


async def test_discover_via_fake_nvidia_smi(gpu_path: InstallFake) -> None:
    script = gpu_path("eight-h100")
    gpus = await discover_gpus()
    assert gpus == parse_nvidia_smi(recording("eight-h100"))
    assert (script.parent / "nvidia-smi.args").read_text().split() == QUERY


@pytest.mark.parametrize("name", ["none", "one-gpu"])
async def test_auto_uses_discovery(gpu_path: InstallFake, name: str) -> None:
    gpu_path(name)
    assert await fingerprint_gpus(spec="auto", node_name="n1") == parse_nvidia_smi(recording(name))


async def test_malformed_output_means_no_gpus_and_an_error_log(gpu_path: InstallFake) -> None:
    gpu_path("malformed")
    with capture_logs() as logs:
        assert await discover_gpus() == []
    [error] = [e for e in logs if e["log_level"] == "error"]
    assert "cannot parse nvidia-smi output" in error["event"] and "line 2" in error["error"]


async def test_failing_tool_means_no_gpus(gpu_path: InstallFake) -> None:
    gpu_path("eight-h100", exit_code=9)  # e.g. "couldn't communicate with the NVIDIA driver"
    assert await discover_gpus() == []


async def test_hanging_tool_is_killed(gpu_path: InstallFake) -> None:
    gpu_path("one-gpu", hang=True)
    t0 = time.monotonic()
    assert await discover_gpus(timeout=0.3) == []
    assert time.monotonic() - t0 < 2


async def test_no_tool_no_gpus(gpu_path: InstallFake) -> None:
    assert await discover_gpus() == []  # PATH holds only an empty directory


# --- NVML (a stand-in module: nvidia-ml-py is not installed here) ----------------------


class NVMLError(Exception):
    pass


def fake_pynvml(*, init_fails: bool = False) -> types.ModuleType:
    mod = types.ModuleType("pynvml")
    mod.NVMLError = NVMLError  # type: ignore[attr-defined]

    def init() -> None:
        if init_fails:
            raise NVMLError("Driver Not Loaded")

    mod.nvmlInit = init  # type: ignore[attr-defined]
    mod.nvmlShutdown = lambda: None  # type: ignore[attr-defined]
    mod.nvmlDeviceGetCount = lambda: 2  # type: ignore[attr-defined]
    mod.nvmlDeviceGetHandleByIndex = lambda i: i  # type: ignore[attr-defined]
    mod.nvmlDeviceGetUUID = lambda h: f"GPU-0000000{h}-aaaa-bbbb-cccc-dddddddddddd".encode()  # type: ignore[attr-defined]
    mod.nvmlDeviceGetName = lambda h: "NVIDIA H200"  # type: ignore[attr-defined]
    mod.nvmlDeviceGetMemoryInfo = lambda h: types.SimpleNamespace(total=143771 * 1024 * 1024)  # type: ignore[attr-defined]
    return mod


async def test_nvml_comes_first(gpu_path: InstallFake, monkeypatch: pytest.MonkeyPatch) -> None:
    gpu_path("eight-h100")
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml())
    gpus = await discover_gpus()
    assert [(g.uuid, g.model, g.memory_mib) for g in gpus] == [
        ("GPU-00000000-aaaa-bbbb-cccc-dddddddddddd", "NVIDIA H200", 143771),
        ("GPU-00000001-aaaa-bbbb-cccc-dddddddddddd", "NVIDIA H200", 143771),
    ]


async def test_nvml_error_falls_back_to_nvidia_smi(gpu_path: InstallFake, monkeypatch: pytest.MonkeyPatch) -> None:
    gpu_path("one-gpu")
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(init_fails=True))
    assert await discover_gpus() == parse_nvidia_smi(recording("one-gpu"))


# --- --gpus declarations ---------------------------------------------------------------


def test_declared_count_model_memory() -> None:
    gpus = declared_gpus("2xH100-80GB", node_name="gpu-node-1")
    assert [(g.index, g.model, g.memory_mib) for g in gpus] == [(0, "H100", 81920), (1, "H100", 81920)]
    assert all(g.uuid.startswith("GPU-") and len(g.uuid) == 40 for g in gpus)


def test_declared_ids_are_stable_per_node_and_index() -> None:
    first = declared_gpus("2xH100-80GB", node_name="n1")
    assert declared_gpus("2xH100-80GB", node_name="n1") == first  # across restarts
    other = declared_gpus("2xH100-80GB", node_name="n2")
    assert {g.uuid for g in first}.isdisjoint(g.uuid for g in other)
    assert len({g.uuid for g in first}) == 2


def test_declared_list() -> None:
    gpus = declared_gpus("H100-80GB, 2x A100-SXM4-40GB, L4", node_name="n1")
    assert [(g.index, g.model, g.memory_mib) for g in gpus] == [
        (0, "H100", 81920), (1, "A100-SXM4", 40960), (2, "A100-SXM4", 40960), (3, "L4", None)
    ]  # fmt: skip


async def test_none_declares_nothing(gpu_path: InstallFake) -> None:
    gpu_path("eight-h100")  # present, but not asked
    assert await fingerprint_gpus(spec="none", node_name="n1") == []


@pytest.mark.parametrize("spec", ["", "0xH100", "2x", "H100,,A100", "-80GB", "3090", "99999xH100", "auto"])
def test_declared_rejects(spec: str) -> None:
    with pytest.raises(ValueError):
        declared_gpus(spec, node_name="n1")
