"""GET /api/v1/namespaces/NS/pods/NAME/log: the server proxies to the pod's agent.

    client --(its own token)--> server: pod -> node -> InternalIP + kubeletEndpoint port
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
from typing import Any
from urllib.parse import quote

import aiohttp
import structlog
from aiohttp import web

from orchestrator.model.errors import ApiError, BadRequest, NotFound, ServiceUnavailable
from orchestrator.model.log_options import since_options
from orchestrator.model.registry import REGISTRY
from orchestrator.server.state import ServerState

log = structlog.get_logger(__name__)

PODS, NODES = REGISTRY.by_kind("Pod"), REGISTRY.by_kind("Node")
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 60.0  # a whole log without follow


def agent_address(node: Any) -> tuple[str, int] | None:
    """(InternalIP, kubelet port) of a Node, or None when it does not say."""
    st = node.status
    ip = next((a.address for a in st.addresses if a.type == "InternalIP"), "")
    endpoint = (st.daemon_endpoints or {}).get("kubeletEndpoint") or {}
    port = endpoint.get("Port") or endpoint.get("port")
    if not ip or not isinstance(port, int) or port <= 0:
        return None
    return ip, port


def _container(pod: Any, request: web.Request, name: str) -> str:
    wanted = request.query.get("container", "")
    names = [c.name for c in (*pod.spec.containers, *pod.spec.init_containers)]
    if not wanted:
        if not pod.spec.containers:
            raise BadRequest(f'pod "{name}" has no containers')
        return str(pod.spec.containers[0].name)
    if wanted not in names:
        raise BadRequest(f'container {wanted} is not valid for pod {name}; choose one of: [{" ".join(names)}]')
    return wanted


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
    container = _container(pod, request, name)
    node_name = pod.spec.node_name  # type: ignore[attr-defined]
    if not node_name:
        raise BadRequest(f'pod "{name}" does not have a host assigned; it has no logs yet')
    try:
        node = state.objects.get(NODES, "", node_name).obj
    except NotFound:
        raise ServiceUnavailable(f'the node "{node_name}" of pod "{name}" is gone; its logs cannot be read') from None
    address = agent_address(node)
    if address is None:
        raise ServiceUnavailable(f'node "{node_name}" does not report an agent address (InternalIP and '
                                 "daemonEndpoints.kubeletEndpoint.Port); its logs cannot be read")
    host, port = address
    host = f"[{host}]" if ":" in host else host
    path = "/containerLogs/" + "/".join(quote(p, safe="") for p in (namespace, name, container))
    url = f"http://{host}:{port}{path}"
    follow = "follow" in params
    timeout = aiohttp.ClientTimeout(total=None if follow else READ_TIMEOUT_S, sock_connect=CONNECT_TIMEOUT_S)
    headers = {"Authorization": f"Bearer {state.proxy_token}"}
    response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async with session.get(url, params=params, headers=headers) as upstream:
                if upstream.status != 200:
                    raise await _agent_error(upstream, node=node_name, url=url)
                await response.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await response.write(chunk)
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        if not response.prepared:
            raise ServiceUnavailable(f'cannot reach the agent of node "{node_name}" at {url}: '
                                     f"{exc or type(exc).__name__}") from None
        log.info("log stream from the agent ended early", pod=f"{namespace}/{name}", error=str(exc))
    except asyncio.CancelledError:
        raise  # the client went away: the session closes on the way out
    await response.write_eof()
    return response


async def _agent_error(upstream: aiohttp.ClientResponse, *, node: str, url: str) -> ApiError:
    try:
        body = await upstream.json(content_type=None)
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
    except (ValueError, aiohttp.ClientError):
        message = ""
    message = message or f"HTTP {upstream.status}"
    if upstream.status == 404:
        return NotFound(message)
    if upstream.status == 400:
        return BadRequest(message)
    if upstream.status == 401:
        return ServiceUnavailable(f'the agent of node "{node}" refused the server\'s proxy token ({message}); '
                                  "it may have joined another server")
    return ServiceUnavailable(f'the agent of node "{node}" at {url} answered {upstream.status}: {message}')
