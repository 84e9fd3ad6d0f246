"""Exec in a container, on the agent's listener beside the log routes.

    POST /exec/{namespace}/{pod}/{container}   {"command": [...], "timeoutSeconds": N}
    <- 200: the command's output (stdout and stderr as one stream, as the runtime
       collects them); its exit code in the ``X-Orch-Exit-Code`` header

Only the server may call it, with the proxy token (checked as for logs).  The container
is the one logs would read (``log_routes.pick``: the newest pod's newest attempt).
Errors are Status answers: 401 bad token, 400 bad body, 404 no such container here, 409
the container is not running, 504 the command ran past its timeout, 503 the runtime
did not answer.  Interactive exec (stdin, tty) is a websocket GET on the same path
(``exec_sessions``).  A command that cannot be started is not an error: the runtime answers
with the shell's code for it (126/127) and the engine's message as output.
"""

from __future__ import annotations

import msgspec
import structlog
from aiohttp import web

from orchestrator.agent import exec_sessions
from orchestrator.agent.exec_targets import failed_exec, running_container
from orchestrator.agent.log_routes import RUNTIME, TOKEN, authorized, status
from orchestrator.model.errors import ApiError
from orchestrator.model.exec_protocol import EXIT_CODE_HEADER, request_decoder
from orchestrator.runtime import ContainerRuntime, ExecTimeout, RuntimeError_

log = structlog.get_logger(__name__)

MAX_TIMEOUT_S = 3600.0  # whatever the caller asks: runtime.exec holds all output in memory until the end


def register(app: web.Application, *, runtime: ContainerRuntime, proxy_token_digest: str) -> None:
    app[RUNTIME] = runtime  # the same keys as the log routes: one runtime, one token per agent
    app[TOKEN] = proxy_token_digest
    app.router.add_post("/exec/{namespace}/{pod}/{container}", container_exec)
    app.router.add_get("/exec/{namespace}/{pod}/{container}", exec_sessions.container_attach)


async def container_exec(request: web.Request) -> web.Response:
    if not authorized(request):
        return status(401, "Unauthorized", "Unauthorized: this endpoint takes the server's proxy token")
    ns, pod, name = (request.match_info[k] for k in ("namespace", "pod", "container"))
    try:
        wanted = request_decoder.decode(await request.read())
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return status(400, "BadRequest", f"unreadable exec request: {exc}")
    found = await running_container(request)
    if isinstance(found, ApiError):
        return status(found.code, found.reason, found.message)
    timeout = min(wanted.timeout_seconds, MAX_TIMEOUT_S)
    try:
        code, output = await request.app[RUNTIME].exec(found.id, wanted.command, timeout)
    except ExecTimeout:
        return status(504, "Timeout", f"the command {wanted.command!r} ran past the exec timeout of {timeout:g}s; "
                      "its output is lost")
    except RuntimeError_ as exc:
        failed = failed_exec(exc, pod=pod, container=name)
        return status(failed.code, failed.reason, failed.message)
    log.debug("exec", pod=f"{ns}/{pod}", container=name, command=wanted.command[0], exit_code=code)
    return web.Response(body=output, content_type="application/octet-stream",
                        headers={EXIT_CODE_HEADER: str(code)})
