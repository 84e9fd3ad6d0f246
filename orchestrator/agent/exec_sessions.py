"""Interactive exec on the agent's listener: a websocket the server relays kubectl's frames over.

    GET /exec/{namespace}/{pod}/{container}?command=..&stdin=true&tty=true  (websocket, v5.channel.k8s.io)
    -> channel 0 stdin, 4 resize, [255, 0] stdin closed      -> the runtime's exec session
    <- channel 1 stdout, 2 stderr as the command writes them
    <- channel 3 the Status once it ends (Success / NonZeroExitCode, or why it could not run), close

Only the proxy token gets the upgrade (401 before it, as for the POST route).  Anything
after that, including a missing container or a runtime that cannot give a tty, is a
Status on channel 3, which the server passes to the client as it is.  The server
leaving first detaches the session: the command's stdin closes, nothing is killed.
No timeout: an interactive session lasts as long as the command or the caller.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from orchestrator.agent.exec_targets import failed_exec, running_container
from orchestrator.agent.log_routes import RUNTIME, authorized, status
from orchestrator.model import codec
from orchestrator.model.errors import ApiError, BadRequest, ServiceUnavailable
from orchestrator.model.exec_protocol import (CLOSE, ERROR, PROTOCOLS, RESIZE, STDIN, exit_status, frame,
                                              terminal_size)
from orchestrator.runtime import RuntimeError_
from orchestrator.runtime.base import ExecSession

log = structlog.get_logger(__name__)


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1", "yes")


async def container_attach(request: web.Request) -> web.StreamResponse:
    if not authorized(request):
        return status(401, "Unauthorized", "Unauthorized: this endpoint takes the server's proxy token")
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    if not ws.can_prepare(request).ok:
        return status(400, "BadRequest", "GET on an exec path is an interactive session: it needs a websocket")
    await ws.prepare(request)
    outcome = await _attach(request, ws)
    if outcome is not None:  # None: the server left, nobody to tell
        try:
            await ws.send_bytes(frame(ERROR, codec.encode(outcome)))
        except ConnectionError:
            pass
    await ws.close()
    return ws


async def _attach(request: web.Request, ws: web.WebSocketResponse) -> Any:
    """How the command ended (a channel-3 Status), or None when the server left first."""
    command = request.query.getall("command", [])
    if not command:
        return BadRequest("you must specify at least one command for the container").to_status()
    found = await running_container(request)
    if isinstance(found, ApiError):
        return found.to_status()
    pod, container = request.match_info["pod"], request.match_info["container"]
    stdin, tty = _flag(request, "stdin"), _flag(request, "tty")
    try:
        async with request.app[RUNTIME].exec_session(found.id, command, stdin=stdin, tty=tty) as session:
            log.debug("exec session", pod=pod, container=container, command=command[0], stdin=stdin, tty=tty)
            return await _pump(ws, session, command=command)
    except RuntimeError_ as exc:
        return failed_exec(exc, pod=pod, container=container).to_status()


async def _pump(ws: web.WebSocketResponse, session: ExecSession, *, command: list[str]) -> Any:
    async with asyncio.TaskGroup() as tg:
        inbound = tg.create_task(_inbound(ws, session), name="exec-session-input")
        outbound = tg.create_task(_outbound(ws, session, command=command), name="exec-session-output")
        await asyncio.wait((inbound, outbound), return_when=asyncio.FIRST_COMPLETED)
        inbound.cancel()  # the output ended (the command did), or the server left: either way we are done
        outbound.cancel()
    return None if outbound.cancelled() else outbound.result()


async def _inbound(ws: web.WebSocketResponse, session: ExecSession) -> None:
    """The server's frames to the session, until the server closes the websocket."""
    async for msg in ws:
        if msg.type != aiohttp.WSMsgType.BINARY or not msg.data:
            continue
        channel, data = msg.data[0], msg.data[1:]
        if channel == STDIN:
            await session.write_stdin(data)
        elif channel == RESIZE and (size := terminal_size(data)) is not None:
            await session.resize(cols=size.cols, rows=size.rows)
        elif channel == CLOSE and data[:1] == bytes((STDIN,)):
            await session.close_stdin()


async def _outbound(ws: web.WebSocketResponse, session: ExecSession, *, command: list[str]) -> Any:
    """The command's output to the server until it ends; then its Status (None: the server left)."""
    try:
        while (chunk := await session.read()) is not None:
            await ws.send_bytes(frame(*chunk))
        return exit_status(command, await session.exit_code())
    except ConnectionError:
        return None
    except RuntimeError_ as exc:  # the stream broke, or the end could not be told
        return ServiceUnavailable(f"exec {command[0]!r}: {exc.message}").to_status()
