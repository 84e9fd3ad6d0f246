"""The container an exec runs in, and what a runtime's refusal means, for both exec routes.

Errors are the model's ApiErrors: the POST route answers them as HTTP Statuses, the
websocket route sends them on channel 3 (it has already upgraded by then).
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from orchestrator.agent.log_routes import LIST_TIMEOUT_S, RUNTIME, pick
from orchestrator.model.errors import ApiError, BadRequest, Conflict, NotFound, ServiceUnavailable
from orchestrator.runtime import ContainerConflict, ContainerNotFound, RuntimeError_, Unsupported
from orchestrator.runtime.base import ContainerInfo


async def running_container(request: web.Request) -> ContainerInfo | ApiError:
    """The container the path names, running; else why not (404 / 409 / 503)."""
    ns, pod, name = (request.match_info[k] for k in ("namespace", "pod", "container"))
    try:
        async with asyncio.timeout(LIST_TIMEOUT_S):
            infos = await request.app[RUNTIME].list()
    except (RuntimeError_, TimeoutError) as exc:
        return ServiceUnavailable(f"the container runtime did not answer: {exc}")
    info = pick(infos, namespace=ns, pod=pod, container=name, previous=False)
    if info is None:
        return NotFound(f'container "{name}" in pod "{pod}" not found on this node')
    if info.state != "running":
        return Conflict(f'container "{name}" in pod "{pod}" is not running ({info.state}); '
                        "exec needs a running container")
    return info


def failed_exec(exc: RuntimeError_, *, pod: str, container: str) -> ApiError:
    """What a runtime's refusal to exec means to the caller (ExecTimeout is the caller's own)."""
    if isinstance(exc, ContainerConflict):  # stopped between the list and the exec
        return Conflict(f'container "{container}" in pod "{pod}" is not running: {exc.message}')
    if isinstance(exc, ContainerNotFound):
        return NotFound(f'container "{container}" in pod "{pod}" is gone')
    if isinstance(exc, Unsupported):
        return BadRequest(exc.message)
    return ServiceUnavailable(f"the container runtime could not exec: {exc.message}")
