"""Host identity: hostname, OS, architecture (Kubernetes' names), kernel."""

from __future__ import annotations

import platform
import socket
from dataclasses import dataclass

_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
         "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class HostInfo:
    hostname: str
    os: str  # "linux"
    arch: str  # "amd64", "arm64", ... (as kubernetes.io/arch spells it)
    kernel: str  # "6.1.0-18-amd64"


def fingerprint_host() -> HostInfo:
    machine = platform.machine()
    return HostInfo(
        hostname=socket.gethostname(),
        os=platform.system().lower(),
        arch=_ARCH.get(machine.lower(), machine.lower()),
        kernel=platform.release(),
    )
