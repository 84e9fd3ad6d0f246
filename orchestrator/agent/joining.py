"""Joining: describe this node, POST /join to a member, keep the answer.

With a saved identity (node.json) the agent rejoins with its own credential, trying the
API servers it knows, then the --join URL; a refused credential (401) falls back to the
join token when one was given. Without an identity it needs the join token. Refusals
(401, 403, 409, 422) are final and say why; an unreachable member or a 5xx is retried
with back-off for as long as it takes.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import structlog

import orchestrator
from orchestrator.agent.fingerprints import NodeFingerprint
from orchestrator.agent.identities import NodeIdentity
from orchestrator.aio.backoff import backoff_delay
from orchestrator.client import Client
from orchestrator.model.errors import ApiError, ServiceUnavailable
from orchestrator.membership.tables import Member

log = structlog.get_logger(__name__)

OS_RELEASE = Path("/etc/os-release")
FINAL_CODES = (400, 401, 403, 404, 409, 422)


class JoinRefused(Exception):
    """The cluster said no (or we have nothing to join with): stop, and tell the person why."""


class JoinAnswer(msgspec.Struct, kw_only=True, rename="camel"):
    node_name: str
    token: str
    api_servers: list[str] = msgspec.field(default_factory=list)
    proxy_token_digest: str = ""
    members: list[Member] = msgspec.field(default_factory=list)


def node_name_from(hostname: str) -> str:
    """A hostname as a valid node name: lower case, [a-z0-9.-], alphanumeric at both ends."""
    name = re.sub(r"[^a-z0-9.-]+", "-", hostname.lower()).strip(".-")
    return name[:253] or "node"


def os_image(path: Path = OS_RELEASE) -> str:
    try:
        for line in path.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.partition("=")[2].strip().strip('"')
    except OSError:
        pass
    return ""


def capacity_digest(fp: NodeFingerprint) -> str:
    """`cpu=8,memory=31Gi,gpu=2xNVIDIA H100`: what gossip tells others about this node."""
    parts = [f"cpu={fp.cpu.millis / 1000:g}", f"memory={fp.memory.total_bytes // 2**30}Gi"]
    if fp.gpus:
        parts.append(f"gpu={len(fp.gpus)}x{fp.gpus[0].model}")
    return ",".join(parts)


def join_request(*, name: str, address: str, fp: NodeFingerprint, runtime: str,
                 labels: dict[str, str], runtime_reason: str = "") -> dict[str, Any]:
    return {
        "name": name, "address": address, "labels": labels, "cpuMillis": fp.cpu.millis,
        "memoryBytes": fp.memory.total_bytes, "runtime": runtime, "runtimeReason": runtime_reason, "agentVersion": orchestrator.__version__,
        "gpus": [{"index": g.index, "uuid": g.uuid, "model": g.model, "memoryMiB": g.memory_mib or 0}
                 for g in fp.gpus],
        "os": fp.host.os, "arch": fp.host.arch, "kernel": fp.host.kernel, "osImage": os_image(), "role": "agent",
    }


async def post_join(session: aiohttp.ClientSession, url: str, *, token: str, body: dict[str, Any],
                    timeout_s: float) -> JoinAnswer:
    """One attempt. JoinRefused for a final no; ServiceUnavailable (incl. Unreachable) to retry."""
    client = Client(url, token, session=session, timeout=timeout_s)
    try:
        raw = await client.request("POST", "/join", body=msgspec.json.encode(body))
    except ServiceUnavailable:
        raise
    except ApiError as exc:
        if exc.code in FINAL_CODES:
            raise JoinRefused(f"{url} refused the join ({exc.code} {exc.reason}): {exc.message}") from None
        raise ServiceUnavailable(f"{url}: {exc.code} {exc.message}") from None
    try:
        return msgspec.json.decode(raw, type=JoinAnswer)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ServiceUnavailable(f"{url} answered the join with something unreadable: {exc}") from None


async def join_cluster(*, session: aiohttp.ClientSession, join_url: str, join_token: str,
                       identity: NodeIdentity | None, body: dict[str, Any], timeout_s: float) -> JoinAnswer:
    """Join (or rejoin) until it works or is refused for good."""
    attempt = 0
    while True:
        try:
            if identity is not None:
                try:
                    return await _rejoin(session, identity=identity, join_url=join_url, body=body,
                                         timeout_s=timeout_s)
                except JoinRefused as exc:
                    if not join_token:
                        raise JoinRefused(f"{exc}; no join token to fall back on (--token / ORCH_TOKEN)") from None
                    log.warning("saved node credential refused; joining with the join token", reason=str(exc))
                    identity = None
            if not join_token:
                raise JoinRefused("this agent has no node.json yet: give it a join token (--token / ORCH_TOKEN; "
                                  "`orch token create`, or the server's <data-dir>/join-token)")
            answer = await post_join(session, join_url, token=join_token, body=body, timeout_s=timeout_s)
            log.info("joined", node=answer.node_name, via=join_url, api_servers=answer.api_servers,
                     members=len(answer.members))
            return answer
        except ServiceUnavailable as exc:
            delay = backoff_delay(attempt, base=0.5, cap=15.0)
            attempt += 1
            log.warning("cannot join yet; retrying", via=join_url, error=exc.message, retry_in_s=round(delay, 2))
            await asyncio.sleep(delay)


async def _rejoin(session: aiohttp.ClientSession, *, identity: NodeIdentity, join_url: str,
                  body: dict[str, Any], timeout_s: float) -> JoinAnswer:
    """With the saved credential: each API server known, then the join URL."""
    last: ServiceUnavailable | None = None
    for url in dict.fromkeys([*identity.api_servers, join_url]):
        try:
            answer = await post_join(session, url, token=identity.credential, body=body, timeout_s=timeout_s)
        except ServiceUnavailable as exc:
            last = exc
            continue
        log.info("rejoined with the saved node credential", node=answer.node_name, via=url)
        return answer
    assert last is not None
    raise last
