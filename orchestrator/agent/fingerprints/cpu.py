"""CPU capacity: the cores this process may run on (affinity, so a pinned agent
reports its share, not the host's), in millicores as the scheduler counts them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuInfo:
    cores: int
    millis: int  # cores * 1000
    model: str  # "" when unknown


def fingerprint_cpu(*, cpuinfo: Path = CPUINFO) -> CpuInfo:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cores = os.cpu_count() or 1
    return CpuInfo(cores=cores, millis=cores * 1000, model=_model(cpuinfo))


def _model(cpuinfo: Path) -> str:
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "cpu model"):
            return value.strip()
    return ""
