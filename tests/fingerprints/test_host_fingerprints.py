"""CPU, memory and host fingerprinters."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from orchestrator.agent.fingerprints import fingerprint_node
from orchestrator.agent.fingerprints.cpu import fingerprint_cpu
from orchestrator.agent.fingerprints.host import fingerprint_host
from orchestrator.agent.fingerprints.memory import fingerprint_memory, parse_meminfo

MEMINFO = """\
MemTotal:       24681532 kB
MemFree:        20000000 kB
MemAvailable:   24141384 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
garbage line
"""


def test_cpu() -> None:
    cpu = fingerprint_cpu()
    assert 1 <= cpu.cores <= (os.cpu_count() or 1) and cpu.millis == cpu.cores * 1000


def test_meminfo_parsing() -> None:
    values = parse_meminfo(MEMINFO)
    assert values["MemTotal"] == 24681532 * 1024 and values["HugePages_Total"] == 0
    assert "garbage line" not in values


def test_memory_from_file_and_fallback(tmp_path: Path) -> None:
    path = tmp_path / "meminfo"
    path.write_text(MEMINFO)
    mem = fingerprint_memory(meminfo=path)
    assert (mem.total_bytes, mem.available_bytes) == (24681532 * 1024, 24141384 * 1024)
    fallback = fingerprint_memory(meminfo=tmp_path / "missing")
    assert fallback.total_bytes > 0 and fallback.available_bytes is None


def test_host() -> None:
    host = fingerprint_host()
    assert host.hostname and host.os == "linux" and host.kernel
    machine = platform.machine()
    assert host.arch == {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine.lower())


async def test_node_with_declared_gpus() -> None:
    node = await fingerprint_node(node_name="sim-1", gpus="4xH100-80GB")
    assert len(node.gpus) == 4 and node.cpu.cores >= 1 and node.memory.total_bytes > 0
