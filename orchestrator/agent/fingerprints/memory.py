"""Memory capacity from /proc/meminfo (sysconf where there is none)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

MEMINFO = Path("/proc/meminfo")


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryInfo:
    total_bytes: int
    available_bytes: int | None  # None when the kernel does not say


def parse_meminfo(text: str) -> dict[str, int]:
    """``{"MemTotal": bytes, ...}``; values in kB become bytes, bad lines are skipped."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if not fields or not fields[0].isdigit():
            continue
        scale = 1024 if len(fields) > 1 and fields[1].lower() == "kb" else 1
        values[key.strip()] = int(fields[0]) * scale
    return values


def fingerprint_memory(*, meminfo: Path = MEMINFO) -> MemoryInfo:
    try:
        values = parse_meminfo(meminfo.read_text())
    except OSError as exc:
        log.warning("cannot read meminfo, using sysconf", path=str(meminfo), error=str(exc))
        values = {}
    if "MemTotal" in values:
        return MemoryInfo(total_bytes=values["MemTotal"], available_bytes=values.get("MemAvailable"))
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return MemoryInfo(total_bytes=total, available_bytes=None)
