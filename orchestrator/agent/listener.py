"""The agent's own HTTP listener: /join (forwarded), /gossip, /gossip/probe, /healthz, logs.

- POST /join: passed as it is (body and Authorization) to an API server this agent knows;
  the server's answer comes back unchanged. So a new agent can join through any member.
- POST /gossip, /gossip/probe (and GET /gossip, the table, for people and tests): signed
  with the cluster gossip key (see `membership.wire`); answers are signed back.
- GET /healthz: "ok", no credentials.
- The log routes of `agent.log_routes`, when that module is there, and the exec routes of
  `agent.exec_routes` (a POST; a websocket GET for interactive exec, `agent.exec_sessions`);
  all check the proxy token the server presents.
The socket is bound before the join (so the join can name the real port, even for port
0) and served once the join is done.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import urlsplit

import aiohttp
import msgspec
import structlog
from aiohttp import web

from orchestrator.agent import exec_routes
from orchestrator.membership.gossiping import Gossiper
from orchestrator.membership.wire import (SIGNATURE_HEADER, Message, PeerAuth, encode, message_decoder,
                                          probe_decoder, verify)
from orchestrator.runtime import ContainerRuntime

log = structlog.get_logger(__name__)

REFUSAL_LOG_EVERY_S = 60.0  # a misconfigured peer is logged once a minute, not every round


@dataclass(slots=True, kw_only=True)
class ListenerContext:
    gossiper: Gossiper
    auth: PeerAuth
    session: aiohttp.ClientSession
    api_servers: Callable[[], list[str]]
    timeout_s: float
    refused_at: dict[str, float] = field(default_factory=dict)  # peer -> when its refusal was last logged


CONTEXT = web.AppKey("agent", ListenerContext)


def bind_listener(listen: str) -> socket.socket:
    """A bound TCP socket for `host:port` (port 0: the OS picks one)."""
    host, _, port = listen.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, int(port)))
    except (OSError, ValueError) as exc:
        sock.close()
        raise OSError(f"cannot listen on {listen}: {exc}") from None
    return sock


def advertise_address(*, advertise: str, sock: socket.socket, join_url: str) -> str:
    """`host:port` others reach this listener at: --advertise, else the bound address, with
    a wildcard host replaced by the local address that routes towards the join URL."""
    bound_host, bound_port = sock.getsockname()[:2]
    if advertise:
        return advertise if _has_port(advertise) else f"{advertise}:{bound_port}"
    host = bound_host
    if host in ("0.0.0.0", "::", ""):
        host = _route_to(urlsplit(join_url).hostname or "127.0.0.1")
    return f"[{host}]:{bound_port}" if ":" in host else f"{host}:{bound_port}"


def _has_port(text: str) -> bool:
    host, sep, port = text.rpartition(":")
    return bool(sep) and port.isdigit() and (host.endswith("]") or ":" not in host)


def _route_to(target: str) -> str:
    """The local address the kernel would use towards `target` (no packet is sent)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((socket.gethostbyname(target), 9))
            return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"


def build_app(ctx: ListenerContext, *, runtime: ContainerRuntime, proxy_token_digest: str) -> web.Application:
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[CONTEXT] = ctx
    app.router.add_get("/healthz", healthz)
    app.router.add_post("/join", forward_join)
    app.router.add_post("/gossip", gossip)
    app.router.add_get("/gossip", members)
    app.router.add_post("/gossip/probe", probe)
    try:
        from orchestrator.agent.log_routes import register as register_log_routes
    except ModuleNotFoundError as exc:
        if exc.name != "orchestrator.agent.log_routes":
            raise
        log.info("log routes not built into this agent; `orch logs` will not reach it")
    else:
        register_log_routes(app, runtime=runtime, proxy_token_digest=proxy_token_digest)
    exec_routes.register(app, runtime=runtime, proxy_token_digest=proxy_token_digest)
    return app


async def serve(app: web.Application, sock: socket.socket, *, started: asyncio.Event | None = None) -> NoReturn:
    """Serve until cancelled; the listener closes on the way out."""
    runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
    await runner.setup()
    try:
        await web.SockSite(runner, sock, backlog=256).start()
        log.info("agent listening", address="%s:%s" % sock.getsockname()[:2])
        if started is not None:
            started.set()
        while True:
            await asyncio.sleep(3600)
    finally:
        await asyncio.shield(runner.cleanup())


def status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}
    return web.json_response(body, status=code)


async def healthz(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def forward_join(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    body = await request.read()
    headers = {"Content-Type": "application/json", "Authorization": request.headers.get("Authorization", "")}
    tried: list[str] = []
    for url in ctx.api_servers():
        try:
            async with asyncio.timeout(ctx.timeout_s):
                async with ctx.session.post(url.rstrip("/") + "/join", data=body, headers=headers) as resp:
                    answer = await resp.read()
                    log.info("join forwarded", api_server=url, status=resp.status, peer=request.remote)
                    return web.Response(status=resp.status, body=answer,
                                        content_type=resp.content_type or "application/json")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            tried.append(f"{url} ({str(exc) or type(exc).__name__})")
    return status(503, "ServiceUnavailable", "this agent could not reach an API server to forward the join to: "
                  + ", ".join(tried or ["none known"]))


def _checked(request: web.Request, body: bytes) -> web.Response | None:
    ctx = request.app[CONTEXT]
    problem = verify(ctx.auth.key, request.headers.get(SIGNATURE_HEADER), method=request.method,
                     path=request.path, body=body, now=time.time())
    if problem is None:
        return None
    peer, now = request.remote or "?", time.monotonic()
    if now - ctx.refused_at.get(peer, -REFUSAL_LOG_EVERY_S) >= REFUSAL_LOG_EVERY_S:
        ctx.refused_at[peer] = now
        log.warning("gossip refused", peer=peer, path=request.path, reason=problem)
    return status(401, "Unauthorized", f"gossip refused: {problem}")


def _signed(request: web.Request, payload: Any) -> web.Response:
    ctx = request.app[CONTEXT]
    body = encode(payload)
    return web.Response(body=body, content_type="application/json",
                        headers=ctx.auth.answer_headers(path=request.path, body=body, now=time.time()))


async def gossip(request: web.Request) -> web.Response:
    body = await request.read()
    if (refused := _checked(request, body)) is not None:
        return refused
    try:
        message = message_decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return status(400, "BadRequest", f"unreadable gossip: {exc}")
    return _signed(request, request.app[CONTEXT].gossiper.receive(message))


async def members(request: web.Request) -> web.Response:
    if (refused := _checked(request, b"")) is not None:
        return refused
    gossiper = request.app[CONTEXT].gossiper
    return _signed(request, Message(sender=gossiper.table.me.name, members=gossiper.table.members()))


async def probe(request: web.Request) -> web.Response:
    body = await request.read()
    if (refused := _checked(request, body)) is not None:
        return refused
    try:
        target = probe_decoder.decode(body).target
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        return status(400, "BadRequest", f"unreadable probe request: {exc}")
    return _signed(request, await request.app[CONTEXT].gossiper.probe_for(target))
