"""Joining the simulated nodes, exactly as real agents do, and keeping their credentials.

Each node POSTs /join with the join token and gets its own node credential. With a data
dir, credentials are saved (`sim-credentials.json`, mode 0600) and a restarted sim
rejoins with them: the server lets a node rejoin under its own credential even while
its Lease is still fresh, where a join token gets 409 "held by a live node". A saved
credential the server no longer knows (401) falls back to the join token.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import structlog

from orchestrator.agent.sim.nodes import NODE_IPS, SimNode, join_body, node_ip, node_names, prefix_offset
from orchestrator.agent.sim.settings import SimSettings
from orchestrator.client import Client
from orchestrator.aio.backoff import backoff_delay
from orchestrator.model.errors import ApiError, ServiceUnavailable, TooManyRequests, Unauthorized

log = structlog.get_logger(__name__)
CREDENTIALS_FILE = "sim-credentials.json"
RETRY_FOR_S = 30.0  # transient answers (unreachable, 503, 429) are retried this long


class JoinFailed(Exception):
    def __init__(self, *, node: str, error: ApiError) -> None:
        super().__init__(f"joining node {node}: {error}")
        self.node, self.error = node, error


@dataclass(slots=True, kw_only=True)
class Joined:
    nodes: list[SimNode]
    api_server: str
    rejoined: int
    seconds: float


def load_credentials(data_dir: Path | None) -> dict[str, str]:
    if data_dir is None:
        return {}
    try:
        data = json.loads((data_dir / CREDENTIALS_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return {}
    nodes = data.get("nodes") if isinstance(data, dict) else None
    return {str(k): str(v) for k, v in nodes.items()} if isinstance(nodes, dict) else {}


def save_credentials(data_dir: Path, *, server: str, tokens: dict[str, str]) -> None:
    """Atomically, readable by the owner only (these are credentials)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    tmp = data_dir / (CREDENTIALS_FILE + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"server": server, "nodes": tokens}, f)
    os.replace(tmp, data_dir / CREDENTIALS_FILE)


async def join_all(settings: SimSettings, *, session: aiohttp.ClientSession) -> Joined:
    """Join every node (at most `concurrency` at once); the first failure stops the rest."""
    saved = load_credentials(settings.data_dir)
    names = node_names(prefix=settings.name_prefix, count=settings.nodes)
    offset = prefix_offset(settings.name_prefix, space=NODE_IPS)
    ips = [node_ip(i, offset=offset) for i in range(len(names))]
    results: dict[str, tuple[str, str, bool]] = {}
    gate = asyncio.Semaphore(settings.concurrency)
    started = time.monotonic()

    async def one(index: int, name: str) -> None:
        async with gate:
            results[name] = await _join_one(settings, session=session, name=name, ip=ips[index],
                                            saved=saved.get(name))

    try:
        async with asyncio.TaskGroup() as tg:
            for i, name in enumerate(names):
                tg.create_task(one(i, name), name=f"sim-join-{name}")
    except* JoinFailed as group:
        raise group.exceptions[0] from None
    api_server = next(iter(results.values()))[1] if results else settings.join_url
    if settings.data_dir is not None:
        save_credentials(settings.data_dir, server=api_server, tokens={n: r[0] for n, r in results.items()})
    nodes = [SimNode(name=n, index=i, ip=ips[i],
                     client=Client(api_server, results[n][0], session=session, timeout=settings.request_timeout_s))
             for i, n in enumerate(names)]
    return Joined(nodes=nodes, api_server=api_server, rejoined=sum(r[2] for r in results.values()),
                  seconds=time.monotonic() - started)


async def _join_one(settings: SimSettings, *, session: aiohttp.ClientSession, name: str, ip: str,
                    saved: str | None) -> tuple[str, str, bool]:
    """(node credential, API server URL, rejoined with a saved credential)."""
    body = join_body(name=name, ip=ip, shape=settings.shape)
    if saved:
        try:
            return (*await _post_join(settings, session=session, token=saved, body=body), True)
        except Unauthorized:
            log.info("saved node credential refused; joining with the join token", node=name)
        except ApiError as exc:
            raise JoinFailed(node=name, error=exc) from None
    try:
        return (*await _post_join(settings, session=session, token=settings.join_token, body=body), False)
    except ApiError as exc:
        raise JoinFailed(node=name, error=exc) from None


async def _post_join(settings: SimSettings, *, session: aiohttp.ClientSession, token: str,
                     body: dict[str, object]) -> tuple[str, str]:
    deadline = time.monotonic() + RETRY_FOR_S
    attempt = 0
    while True:
        try:
            return await _post_join_once(settings, session=session, token=token, body=body)
        except (ServiceUnavailable, TooManyRequests) as exc:
            delay = backoff_delay(attempt, base=0.2, cap=5.0)
            if time.monotonic() + delay > deadline:
                raise
            attempt += 1
            log.info("join not answered; retrying", node=body["name"], error=exc.message, retry_in_s=round(delay, 2))
            await asyncio.sleep(delay)


async def _post_join_once(settings: SimSettings, *, session: aiohttp.ClientSession, token: str,
                          body: dict[str, object]) -> tuple[str, str]:
    client = Client(settings.join_url, token, session=session, timeout=settings.request_timeout_s)
    answer = await client.request_json("POST", "/join", data=body)
    if not isinstance(answer, dict) or not answer.get("token"):
        raise ApiError(f"the /join answer has no node credential: {str(answer)[:200]}")
    servers = answer.get("apiServers") or []
    return str(answer["token"]), str(servers[0]) if servers else settings.join_url
