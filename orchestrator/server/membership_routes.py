"""/gossip on the API server: members push their tables here and pull the server's.

Callers authenticate like any API caller (the middleware): a node presents its node
credential and may speak only as itself (`sender` = its node name); the admin may read
(GET) for diagnosis. A node's answer carries the cluster gossip key, which is how agents
get it. POST /gossip/probe asks the server to reach a member another could not (an
indirect probe).
"""

from __future__ import annotations

import msgspec
from aiohttp import web

from orchestrator.membership.gossiping import Gossiper
from orchestrator.membership.wire import Message, encode, message_decoder, probe_decoder
from orchestrator.model.errors import BadRequest, Forbidden, ServiceUnavailable
from orchestrator.server import membership_component, responses
from orchestrator.server.auth import Principal
from orchestrator.server.state import PRINCIPAL

MEMBER_ROLES = ("node", "admin")


def _caller(request: web.Request) -> Principal:
    principal = request[PRINCIPAL]
    if principal.role not in MEMBER_ROLES:
        raise Forbidden(f'User "{principal.name}" cannot gossip: gossip needs a node credential')
    return principal


def _gossiper(request: web.Request) -> Gossiper:
    gossiper = request.app[membership_component.MEMBERSHIP].gossiper
    if gossiper is None:
        raise ServiceUnavailable("membership is starting")
    return gossiper


async def gossip(request: web.Request) -> web.Response:
    principal = _caller(request)
    try:
        message = message_decoder.decode(await request.read())
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadRequest(f"unreadable gossip: {exc}") from None
    if principal.role == "node" and message.sender != principal.node:
        raise Forbidden(f'node "{principal.node}" cannot gossip as "{message.sender}"')
    answer = _gossiper(request).receive(message)
    if principal.role == "node":
        answer.key = request.app[membership_component.MEMBERSHIP].key
    return responses.raw(encode(answer))


async def members(request: web.Request) -> web.Response:
    _caller(request)
    table = request.app[membership_component.MEMBERSHIP].table
    return responses.raw(encode(Message(sender=table.me.name, members=table.members())))


async def probe(request: web.Request) -> web.Response:
    _caller(request)
    try:
        target = probe_decoder.decode(await request.read()).target
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise BadRequest(f"unreadable probe request: {exc}") from None
    return responses.raw(encode(await _gossiper(request).probe_for(target)))


def register(app: web.Application) -> None:
    membership_component.attach(app)
    app.router.add_post("/gossip", gossip)
    app.router.add_get("/gossip", members)
    app.router.add_post("/gossip/probe", probe)
