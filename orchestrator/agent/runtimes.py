"""Which container runtime this agent uses, and a sentence saying why (logged, and put on
the Node as the `orch.io/runtime-reason` annotation)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from orchestrator.runtime import ContainerRuntime, RuntimeError_, open_runtime

log = structlog.get_logger(__name__)

DOCKER_PING_S = 1.5


async def choose_runtime(kind: str, *, data_dir: Path) -> tuple[ContainerRuntime, str]:
    """`auto`: Docker when its engine answers, else host processes. Others as named.

    Raises RuntimeError_ when a named runtime cannot be had (docker with no engine).
    """
    if kind != "auto":
        runtime = await open_runtime(kind, data_dir=data_dir)
        reason = _with_limits(f"the {kind} runtime, as asked (--runtime {kind})", runtime)
        log.info("container runtime chosen", runtime=runtime.name, reason=reason)
        return runtime, reason
    from orchestrator.runtime.docker import DockerRuntime, default_docker_url

    url = default_docker_url()
    try:
        async with asyncio.timeout(DOCKER_PING_S + 0.5):
            docker: ContainerRuntime = await DockerRuntime.open(url=url, ping_timeout=DOCKER_PING_S)
    except (RuntimeError_, TimeoutError) as exc:
        why = exc.message if isinstance(exc, RuntimeError_) else "timed out"
        runtime = await open_runtime("process", data_dir=data_dir)
        reason = _with_limits(f"docker engine not answering at {url}: using the process runtime", runtime)
        log.info(reason, runtime="process", docker_error=why)
        return runtime, reason
    reason = f"docker engine answered at {url}: using the docker runtime"
    log.info(reason, runtime="docker")
    return docker, reason


def _with_limits(reason: str, runtime: ContainerRuntime) -> str:
    """The process runtime enforces limits only where it may write cgroups: say which."""
    note = getattr(runtime, "limits_note", "")
    return f"{reason} ({note})" if note else reason
