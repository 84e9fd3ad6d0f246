"""GET /api/v1/namespaces/NS/pods/NAME/log: the server proxies to the pod's agent.

    client --(its own token)--> server: pod -> its node's agent (`node_agents.agent_of`)
        --(proxy token, only the server has it)--> agent GET /containerLogs/NS/POD/CONTAINER
        <-- raw bytes, streamed through as they come (with follow, until either side stops)

Query: ``container`` (default: the pod's first container), ``follow``, ``tailLines``,
``previous``, ``timestamps``, ``sinceSeconds`` or ``sinceTime`` (checked here, passed
on as given: the agent counts sinceSeconds back on its own clock).  Errors are typed
ApiErrors for the one mapping in the middleware: an unknown container or an unbound
pod is 400, an agent that cannot be reached is 503 with the address tried.
"""

from __future__ import annotations

import asyncio

import aiohttp
import structlog
from aiohttp import web

from orchestrator.model.errors import BadRequest, ServiceUnavailable
from orchestrator.model.log_options import since_options
from orchestrator.model.registry import REGISTRY
from orchestrator.server.node_agents import CONNECT_TIMEOUT_S, agent_error, agent_of, pod_container, proxy_headers
from orchestrator.server.state import ServerState

log = structlog.get_logger(__name__)

PODS = REGISTRY.by_kind("Pod")
READ_TIMEOUT_S = 60.0  # a whole log without follow


def _params(request: web.Request) -> dict[str, str]:
    out = {}
    for flag in ("follow", "previous", "timestamps"):
        if request.query.get(flag, "").lower() in ("true", "1", "yes"):
            out[flag] = "true"
    tail = request.query.get("tailLines", "")
    if tail:
        if not tail.isdigit():
            raise BadRequest(f"query parameter tailLines={tail!r} must be a non-negative integer")
        out["tailLines"] = tail
    try:
        since_options(request.query)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    for name in ("sinceSeconds", "sinceTime"):
        if value := request.query.get(name, ""):
            out[name] = value
    return out


async def proxy_logs(request: web.Request, state: ServerState, *, namespace: str, name: str) -> web.StreamResponse:
    params = _params(request)  # bad options are 400 before any lookup, as Kubernetes checks them first
    pod = state.objects.get(PODS, namespace, name).obj
    container = pod_container(pod, request.query.get("container", ""), name=name)
    agent = agent_of(state, pod, name=name, unbound="it has no logs yet", unreachable="its logs cannot be read")
    url = agent.url("/containerLogs", namespace, name, container)
    follow = "follow" in params
    timeout = aiohttp.ClientTimeout(total=None if follow else READ_TIMEOUT_S, sock_connect=CONNECT_TIMEOUT_S)
    response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(url, params=params, headers=proxy_headers(state)) as upstream:
                if upstream.status != 200:
                    raise await agent_error(upstream, node=agent.node, url=url)
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        if not response.prepared:
            raise ServiceUnavailable(f'cannot reach the agent of node "{agent.node}" at {url}: '
                                     f"{exc or type(exc).__name__}") from None
        log.info("log stream from the agent ended early", pod=f"{namespace}/{name}", error=str(exc))
    except asyncio.CancelledError:
        raise  # the client went away: the session closes on the way out
    await response.write_eof()
    return response
