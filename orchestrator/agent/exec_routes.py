"""Exec in a container, on the agent's listener beside the log routes.

    POST /exec/{namespace}/{pod}/{container}   {"command": [...], "timeoutSeconds": N}
    <- 200: the command's output (stdout and stderr as one stream, as the runtime
       collects them); its exit code in the ``X-Orch-Exit-Code`` header

Only the server may call it, with the proxy token (checked as for logs).  The container
is the one logs would read (``log_routes.pick``: the newest pod's newest attempt).
Errors are Status answers: 401 bad token, 400 bad body, 404 no such container here, 409
the container is not running, 504 the command ran past its timeout, 503 the runtime
did not answer.  A command that cannot be started is not an error: the runtime answers
with the shell's code for it (126/127) and the engine's message as output.
"""

from __future__ import annotations

import asyncio

import msgspec
import structlog
from aiohttp import web

from orchestrator.agent.log_routes import LIST_TIMEOUT_S, RUNTIME, TOKEN, authorized, pick, status
from orchestrator.model.exec_protocol import EXIT_CODE_HEADER, request_decoder
from orchestrator.runtime import ContainerConflict, ContainerNotFound, ContainerRuntime, ExecTimeout, RuntimeError_

log = structlog.get_logger(__name__)

MAX_TIMEOUT_S = 3600.0  # whatever the caller asks: runtime.exec holds all output in memory until the end


def register(app: web.Application, *, runtime: ContainerRuntime, proxy_token_digest: str) -> None:
    app[RUNTIME] = runtime  # the same keys as the log routes: one runtime, one token per agent
    app[TOKEN] = proxy_token_digest
    app.router.add_post("/exec/{namespace}/{pod}/{container}", container_exec)


async def container_exec(request: web.Request) -> web.Response:
    if not authorized(request):
        return status(401, "Unauthorized", "Unauthorized: this endpoint takes the server's proxy token")
    ns, pod, name = (request.match_info[k] for k in ("namespace", "pod", "container"))
    try:
        wanted = request_decoder.decode(await request.read())
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return status(400, "BadRequest", f"unreadable exec request: {exc}")
    runtime = request.app[RUNTIME]
    try:
        async with asyncio.timeout(LIST_TIMEOUT_S):
            infos = await runtime.list()
    except (RuntimeError_, TimeoutError) as exc:
        return status(503, "ServiceUnavailable", f"the container runtime did not answer: {exc}")
    info = pick(infos, namespace=ns, pod=pod, container=name, previous=False)
    if info is None:
        return status(404, "NotFound", f'container "{name}" in pod "{pod}" not found on this node')
    if info.state != "running":
        return status(409, "Conflict", f'container "{name}" in pod "{pod}" is not running ({info.state}); '
                      "exec needs a running container")
    timeout = min(wanted.timeout_seconds, MAX_TIMEOUT_S)
    try:
        code, output = await runtime.exec(info.id, wanted.command, timeout)
    except ExecTimeout:
        return status(504, "Timeout", f"the command {wanted.command!r} ran past the exec timeout of {timeout:g}s; "
                      "its output is lost")
    except ContainerConflict as exc:  # stopped between the list and the exec
        return status(409, "Conflict", f'container "{name}" in pod "{pod}" is not running: {exc.message}')
    except ContainerNotFound:
        return status(404, "NotFound", f'container "{name}" in pod "{pod}" is gone')
    except RuntimeError_ as exc:
        return status(503, "ServiceUnavailable", f"the container runtime could not exec: {exc.message}")
    log.debug("exec", pod=f"{ns}/{pod}", container=name, command=wanted.command[0], exit_code=code)
    return web.Response(body=output, content_type="application/octet-stream",
                        headers={EXIT_CODE_HEADER: str(code)})
