"""Container runtimes behind one Protocol: ``docker``, ``process`` and ``sim``.

Invariants:
- Only ``runtime.docker*`` modules import aiodocker, imported lazily so ``sim`` and
  ``process`` nodes start without touching it.
- Drivers raise only ``runtime.errors`` types; each translates its library's errors
  in one place.
- A runtime lists only containers it made (``orch.io/managed=true``), and every fact
  the agent needs after a restart (pod uid, container, restart count) is stored on
  the container, so a fresh runtime instance adopts what is already running.
- The package imports nothing else from the project (not even the model): the agent
  translates Pods into ``ContainerSpec``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from .base import ContainerInfo, ContainerRuntime, ContainerSpec, PortMapping, PullPolicy
from .errors import (
    ContainerConflict,
    ContainerNotFound,
    ExecTimeout,
    ImageError,
    ImageNotPresent,
    ImagePullError,
    InvalidSpec,
    RuntimeError_,
    RuntimeUnavailable,
    Unsupported,
)

__all__ = [
    "KINDS",
    "ContainerConflict",
    "ContainerInfo",
    "ContainerNotFound",
    "ContainerRuntime",
    "ContainerSpec",
    "ExecTimeout",
    "ImageError",
    "ImageNotPresent",
    "ImagePullError",
    "InvalidSpec",
    "PortMapping",
    "PullPolicy",
    "RuntimeError_",
    "RuntimeUnavailable",
    "Unsupported",
    "detect_runtime",
    "open_runtime",
]  # fmt: skip

log = structlog.get_logger(__name__)

KINDS = ("auto", "docker", "process", "sim")
DETECT_TIMEOUT = 1.0  # seconds the engine gets to answer before "auto" gives up on it


async def open_runtime(kind: str, *, data_dir: Path) -> ContainerRuntime:
    """The runtime named by ``--runtime``; ``auto`` is ``detect_runtime``.

    Raises RuntimeUnavailable when ``docker`` is asked for and the engine is down,
    ValueError for an unknown kind.
    """
    if kind == "auto":
        return await detect_runtime(data_dir=data_dir)
    if kind == "docker":
        from .docker import DockerRuntime

        return await DockerRuntime.open()
    if kind == "process":
        from .process import ProcessRuntime

        return await ProcessRuntime.open(data_dir=data_dir)
    if kind == "sim":
        from .sim import SimRuntime

        return SimRuntime()
    raise ValueError(f"unknown runtime {kind!r}; expected one of {', '.join(KINDS)}")


async def detect_runtime(*, data_dir: Path, timeout: float = DETECT_TIMEOUT) -> ContainerRuntime:
    """Docker when its engine answers within ``timeout``, else host processes."""
    from .docker import DockerRuntime, default_docker_url
    from .process import ProcessRuntime

    url = default_docker_url()
    try:
        async with asyncio.timeout(timeout + 0.5):  # open()'s own limit, plus slack
            docker = await DockerRuntime.open(url=url, ping_timeout=timeout)
    except (RuntimeError_, TimeoutError) as exc:
        reason = exc.message if isinstance(exc, RuntimeError_) else "timed out"
        log.info("runtime detected", runtime="process", reason=f"docker unavailable: {reason}")
        return await ProcessRuntime.open(data_dir=data_dir)
    log.info("runtime detected", runtime="docker", reason=f"engine answered at {url}")
    return docker
