"""GPU fingerprinting: NVML, else ``nvidia-smi``, else none; or declared by hand.

Discovery never fails the agent: a missing library, a missing or hanging tool, or
output we cannot parse is logged and means "no GPUs".  A bad ``--gpus`` declaration
is the operator's error and raises ``ValueError`` so the agent refuses to start.

Declared devices (``--gpus 2xH100-80GB``, for tests and sim nodes) get ids
``GPU-<uuid5(node name, index)>``: stable across restarts, distinct across nodes, and
shaped like real NVIDIA UUIDs so they flow through DeviceRequests unchanged.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import uuid
from dataclasses import dataclass
from typing import Any

import structlog

log = structlog.get_logger(__name__)

QUERY = ["--query-gpu=index,uuid,name,memory.total", "--format=csv,noheader,nounits"]
DISCOVERY_TIMEOUT = 10.0  # seconds; nvidia-smi can be slow while a driver initialises
_DECLARED_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "gpus.orch.io")
_UUID = re.compile(r"^(GPU|MIG)-[0-9A-Fa-f-]+$")
_NOT_AVAILABLE = {"[N/A]", "[Not Supported]", "N/A"}
MAX_DECLARED = 1024  # per node: a typo such as 80000xH100 fails instead of filling memory
_NO_DEVICES = "No devices were found"  # what nvidia-smi says with a driver but no GPU
_ITEM = re.compile(  # [COUNTx]MODEL[-NNGB]; a model starts with a letter (H100, A100, L4)
    r"^(?:(?P<count>\d+)\s*x\s*)?(?P<model>[a-z][\w.\- ]*?)(?:-(?P<gb>\d+)\s*(?:GB|GiB|G))?$", re.IGNORECASE
)


@dataclass(frozen=True, slots=True, kw_only=True)
class GpuDevice:
    index: int
    uuid: str  # "GPU-..." exactly as NVIDIA (and Docker's DeviceIDs) spell it
    model: str  # "NVIDIA H100 80GB HBM3"; as declared for --gpus devices ("H100")
    memory_mib: int | None  # None when the tool does not say


class GpuFingerprintError(Exception):
    """Discovery output we cannot make sense of."""


async def fingerprint_gpus(
    *, spec: str = "auto", node_name: str, timeout: float = DISCOVERY_TIMEOUT
) -> list[GpuDevice]:
    """The node's GPUs for a ``--gpus`` value: ``auto`` discovers, anything else declares."""
    if spec.strip().lower() == "auto":
        return await discover_gpus(timeout=timeout)
    return declared_gpus(spec, node_name=node_name)


async def discover_gpus(*, timeout: float = DISCOVERY_TIMEOUT) -> list[GpuDevice]:
    devices = await _from_nvml(timeout=timeout)
    if devices is not None:
        log.info("gpus discovered", source="nvml", count=len(devices))
        return devices
    devices = await _from_nvidia_smi(timeout=timeout)
    if devices is None:
        log.info("no gpus", reason="neither NVML nor nvidia-smi is available")
        return []
    log.info("gpus discovered", source="nvidia-smi", count=len(devices))
    return devices


async def _from_nvml(*, timeout: float) -> list[GpuDevice] | None:
    """None when NVML is unusable (library absent, no driver): try the next source."""
    try:
        async with asyncio.timeout(timeout):
            return await asyncio.to_thread(_nvml_query)
    except TimeoutError:
        log.error("NVML did not answer, trying nvidia-smi", timeout=timeout)
        return None


def _nvml_query() -> list[GpuDevice] | None:
    try:
        import pynvml  # nvidia-ml-py; optional, so imported only here
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        log.info("NVML unavailable, trying nvidia-smi", error=str(exc))
        return None
    try:
        devices = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            devices.append(GpuDevice(
                index=index,
                uuid=_text(pynvml.nvmlDeviceGetUUID(handle)),
                model=_text(pynvml.nvmlDeviceGetName(handle)),
                memory_mib=int(memory.total) // (1024 * 1024),
            ))  # fmt: skip
        return devices
    except pynvml.NVMLError as exc:
        log.error("NVML query failed, trying nvidia-smi", error=str(exc))
        return None
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            pass


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)  # older bindings: bytes


async def _from_nvidia_smi(*, timeout: float) -> list[GpuDevice] | None:
    """None when there is no nvidia-smi; [] when it fails or says something odd."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    try:
        proc = await asyncio.create_subprocess_exec(
            exe, *QUERY, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
    except OSError as exc:
        log.error("cannot run nvidia-smi", path=exe, error=str(exc))
        return []
    try:
        async with asyncio.timeout(timeout):
            out, err = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        log.error("nvidia-smi did not answer; assuming no gpus", path=exe, timeout=timeout)
        return []
    text = out.decode(errors="replace")
    if proc.returncode != 0 and _NO_DEVICES not in text:
        log.warning("nvidia-smi failed; assuming no gpus", path=exe, exit_code=proc.returncode,
                    output=(text + err.decode(errors="replace")).strip()[-500:])  # fmt: skip
        return []
    try:
        return parse_nvidia_smi(text)
    except GpuFingerprintError as exc:
        log.error("cannot parse nvidia-smi output; assuming no gpus", path=exe, error=str(exc))
        return []


def parse_nvidia_smi(text: str) -> list[GpuDevice]:
    """Parse ``nvidia-smi --query-gpu=index,uuid,name,memory.total
    --format=csv,noheader,nounits``: one ``0, GPU-..., NVIDIA H100 80GB HBM3, 81559``
    per device.  Raises GpuFingerprintError naming the first bad line."""
    devices: list[GpuDevice] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.strip() == _NO_DEVICES:
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) < 4:
            raise GpuFingerprintError(
                f"line {lineno}: expected 'index, uuid, name, memory.total', got {line!r}"
            )
        index, gpu_uuid, memory = fields[0], fields[1], fields[-1]
        model = ", ".join(fields[2:-1])  # a name with a comma in it stays whole
        if not index.isdigit():
            raise GpuFingerprintError(f"line {lineno}: index {index!r} is not a number")
        if not _UUID.match(gpu_uuid):
            raise GpuFingerprintError(f"line {lineno}: {gpu_uuid!r} is not a GPU UUID")
        if memory not in _NOT_AVAILABLE and not memory.isdigit():
            raise GpuFingerprintError(f"line {lineno}: memory {memory!r} is not MiB")
        if not model:
            raise GpuFingerprintError(f"line {lineno}: empty name")
        devices.append(GpuDevice(index=int(index), uuid=gpu_uuid, model=model,
                                 memory_mib=None if memory in _NOT_AVAILABLE else int(memory)))  # fmt: skip
    if len({d.uuid for d in devices}) != len(devices) or len({d.index for d in devices}) != len(devices):
        raise GpuFingerprintError("the same index or UUID is listed twice")
    return devices


def declared_gpus(spec: str, *, node_name: str) -> list[GpuDevice]:
    """Devices from a ``--gpus`` declaration.

    ``none`` | ITEM[,ITEM...] where ITEM is ``[COUNTx]MODEL[-NNGB]``:
    ``2xH100-80GB`` is two H100s of 80 GiB; ``H100-80GB,A100`` one of each.
    """
    text = spec.strip()
    if text.lower() == "none":
        return []
    if text.lower() == "auto":
        raise ValueError("--gpus auto means discovery, not a declaration")
    devices: list[GpuDevice] = []
    for item in text.split(","):
        match = _ITEM.match(item.strip())
        count = int(match["count"]) if match and match["count"] is not None else 1
        if match is None or count < 1:
            raise ValueError(
                f"bad --gpus item {item.strip()!r} in {spec!r}: expected none, auto, "
                "or a comma list of [COUNTx]MODEL[-NNGB] such as 2xH100-80GB"
            )
        if len(devices) + count > MAX_DECLARED:
            raise ValueError(f"--gpus {spec!r} declares more than {MAX_DECLARED} devices")
        memory = int(match["gb"]) * 1024 if match["gb"] else None
        for _ in range(count):
            index = len(devices)
            devices.append(GpuDevice(index=index, uuid=declared_uuid(node_name=node_name, index=index),
                                     model=match["model"].strip(), memory_mib=memory))  # fmt: skip
    return devices


def declared_uuid(*, node_name: str, index: int) -> str:
    return f"GPU-{uuid.uuid5(_DECLARED_NAMESPACE, f'{node_name}/{index}')}"
