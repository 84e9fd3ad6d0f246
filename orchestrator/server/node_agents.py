"""Reaching the agent of a pod's node, for the calls the server proxies (log, exec).

    pod -> spec.nodeName -> Node -> InternalIP + daemonEndpoints.kubeletEndpoint.Port
        -> http://IP:PORT, called with the proxy token (only the server has it)

Every failure is a typed ApiError for the one mapping in the middleware: a container the
pod does not have and an unbound pod are 400; a gone node or one with no address is 503;
an agent's own Status comes back as the same class (``agent_error``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from orchestrator.model.errors import ApiError, BadRequest, Conflict, NotFound, ServiceUnavailable
from orchestrator.model.registry import REGISTRY
from orchestrator.server.state import ServerState

NODES = REGISTRY.by_kind("Node")
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class AgentTarget:
    node: str
    base_url: str  # http://host:port of the node's agent listener

    def url(self, route: str, *parts: str) -> str:
        """`route` followed by each part, percent-encoded: /containerLogs/NS/POD/CONTAINER."""
        return self.base_url + route + "".join("/" + quote(p, safe="") for p in parts)


def agent_address(node: Any) -> tuple[str, int] | None:
    """(InternalIP, kubelet port) of a Node, or None when it does not say."""
    st = node.status
    ip = next((a.address for a in st.addresses if a.type == "InternalIP"), "")
    endpoint = (st.daemon_endpoints or {}).get("kubeletEndpoint") or {}
    port = endpoint.get("Port") or endpoint.get("port")
    if not ip or not isinstance(port, int) or port <= 0:
        return None
    return ip, port


def pod_container(pod: Any, wanted: str, *, name: str) -> str:
    """The container named `wanted` (any kind), or the pod's first one when `wanted` is empty."""
    names = [c.name for c in (*pod.spec.containers, *pod.spec.init_containers)]
    if not wanted:
        if not pod.spec.containers:
            raise BadRequest(f'pod "{name}" has no containers')
        return str(pod.spec.containers[0].name)
    if wanted not in names:
        raise BadRequest(f'container {wanted} is not valid for pod {name}; choose one of: [{" ".join(names)}]')
    return wanted


def agent_of(state: ServerState, pod: Any, *, name: str, unbound: str, unreachable: str) -> AgentTarget:
    """The agent of the pod's node. `unbound` ends the message for a pod with no node yet,
    `unreachable` the one for a node that cannot be reached ("its logs cannot be read")."""
    node_name = pod.spec.node_name
    if not node_name:
        raise BadRequest(f'pod "{name}" does not have a host assigned; {unbound}')
    try:
        node = state.objects.get(NODES, "", node_name).obj
    except NotFound:
        raise ServiceUnavailable(f'the node "{node_name}" of pod "{name}" is gone; {unreachable}') from None
    address = agent_address(node)
    if address is None:
        raise ServiceUnavailable(f'node "{node_name}" does not report an agent address (InternalIP and '
                                 f"daemonEndpoints.kubeletEndpoint.Port); {unreachable}")
    host, port = address
    host = f"[{host}]" if ":" in host else host
    return AgentTarget(node=node_name, base_url=f"http://{host}:{port}")


def proxy_headers(state: ServerState) -> dict[str, str]:
    return {"Authorization": f"Bearer {state.proxy_token}"}


async def agent_error(upstream: aiohttp.ClientResponse, *, node: str, url: str) -> ApiError:
    """The ApiError for an agent's non-2xx answer (its Status message, when it sent one)."""
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
    if upstream.status == 409:
        return Conflict(message)
    if upstream.status == 504:
        err = ApiError(message)
        err.code, err.reason = 504, "Timeout"  # Kubernetes' StatusReasonTimeout
        return err
    if upstream.status == 401:
        return ServiceUnavailable(f'the agent of node "{node}" refused the server\'s proxy token ({message}); '
                                  "it may have joined another server")
    return ServiceUnavailable(f'the agent of node "{node}" at {url} answered {upstream.status}: {message}')
