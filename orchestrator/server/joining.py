"""POST /join: an agent (or `orch sim`) becomes a Node.

The caller presents a join token (or, rejoining after a restart, its own node
credential). The server creates or refreshes the Node (labels, GPU taint, capacity,
devices, Ready), renews its Lease, and answers with a fresh node credential, the API
servers' URLs and the members it knows. A name held by a live node (fresh Lease) is
refused with 409, unless the caller is that node.
"""

from __future__ import annotations

import platform
from datetime import datetime, timezone
from typing import Any

import msgspec
from aiohttp import web

from orchestrator.model import codec, gpus, names
from orchestrator.model.base import Condition, Spec, clone
from orchestrator.model.cluster import Lease
from orchestrator.model.errors import Conflict, Forbidden, Invalid, StatusCause
from orchestrator.model.nodes import RUNTIME_REASON_ANNOTATION, GpuDevice, Node, NodeAddress, Taint
from orchestrator.model.registry import REGISTRY
from orchestrator.server import credentials, responses
from orchestrator.server.auth import digest
from orchestrator.server.state import PRINCIPAL, STATE, ServerState

NODES, LEASES = REGISTRY.by_kind("Node"), REGISTRY.by_kind("Lease")
LEASE_NAMESPACE = "kube-node-lease"


class JoinRequest(Spec):
    name: str
    address: str = ""                 # host:port of the agent's own listener (logs, gossip)
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    cpu_millis: int = 0
    memory_bytes: int = 0
    max_pods: int = 110
    gpus: list[GpuDevice] = msgspec.field(default_factory=list)
    runtime: str = ""
    runtime_reason: str = ""          # a sentence: why this runtime (see RUNTIME_REASON_ANNOTATION)
    agent_version: str = ""
    os: str = "linux"
    arch: str = ""
    kernel: str = ""
    os_image: str = ""
    role: str = "agent"               # agent | sim


class JoinResponse(Spec):
    node_name: str
    token: str                        # the node's own credential (keep it; rejoin with it)
    api_servers: list[str]
    proxy_token_digest: str = ""      # SHA-256 of the token the server presents when it calls agents
    members: list[dict[str, Any]] = msgspec.field(default_factory=list)


def now_micro() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_age_s(lease: Any) -> float | None:
    renew = getattr(lease.spec, "renew_time", None)
    if not renew:
        return None
    try:
        then = datetime.fromisoformat(renew.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (datetime.now(timezone.utc) - then).total_seconds()


def build_node(req: JoinRequest, *, existing: Node | None) -> Node:
    """The Node a join describes, keeping what others own on an existing one (spec, taints)."""
    node = clone(existing) if existing is not None else Node()
    meta = node.metadata
    meta.name = req.name
    arch = req.arch or platform.machine()
    meta.labels.update({"kubernetes.io/hostname": req.name, "kubernetes.io/os": req.os or "linux",
                        "kubernetes.io/arch": {"x86_64": "amd64", "aarch64": "arm64"}.get(arch, arch),
                        "orch.io/runtime": req.runtime or "unknown", **req.labels})
    if req.runtime_reason:
        meta.annotations[RUNTIME_REASON_ANNOTATION] = req.runtime_reason
    if req.role == "sim":
        meta.labels["orch.io/simulated"] = "true"
    for key in (gpus.GPU_PRODUCT_LABEL, gpus.GPU_MEMORY_LABEL, gpus.GPU_COUNT_LABEL):
        meta.labels.pop(key, None)
    if req.gpus:
        meta.labels.update(gpus.gpu_node_labels(req.gpus))
        if not any(t.key == gpus.GPU_TAINT_KEY for t in node.spec.taints):
            node.spec.taints.append(Taint(key=gpus.GPU_TAINT_KEY, value="present", effect=gpus.GPU_TAINT_EFFECT))
    capacity = {"cpu": f"{req.cpu_millis}m" if req.cpu_millis % 1000 else str(req.cpu_millis // 1000),
                "memory": f"{req.memory_bytes // 1024}Ki", "pods": str(req.max_pods)}
    if req.gpus:
        capacity[gpus.GPU_RESOURCE] = str(len(req.gpus))
    st = node.status
    st.capacity, st.allocatable = dict(capacity), dict(capacity)
    st.gpus = list(req.gpus)
    host = req.address.rsplit(":", 1)[0] if req.address else "127.0.0.1"
    st.addresses = [NodeAddress(type="InternalIP", address=host), NodeAddress(type="Hostname", address=req.name)]
    info = st.node_info
    info.kubelet_version = f"orch-{req.agent_version}" if req.agent_version else "orch"
    info.container_runtime_version = req.runtime
    info.operating_system, info.architecture = req.os or "linux", arch
    info.kernel_version, info.os_image = req.kernel, req.os_image
    if req.address:
        st.daemon_endpoints = {"kubeletEndpoint": {"Port": int(req.address.rsplit(":", 1)[1])}} \
            if req.address.rsplit(":", 1)[-1].isdigit() else None
    now = now_micro()
    ready = Condition(type="Ready", status="True", reason="AgentReady", message=f"orch agent is posting ready status "
                      f"({req.runtime or 'unknown'} runtime)", last_heartbeat_time=now, last_transition_time=now)
    st.conditions = [c for c in st.conditions if c.type != "Ready"] + [ready]
    return node


async def _ensure_lease(state: ServerState, name: str) -> None:
    key = LEASES.key(LEASE_NAMESPACE, name)
    now = now_micro()
    if state.store.get_entry(key) is None:
        lease = Lease()
        lease.metadata.name, lease.metadata.namespace = name, LEASE_NAMESPACE
        lease.spec.holder_identity = name
        lease.spec.lease_duration_seconds = int(state.settings.nodes.grace_s)
        lease.spec.renew_time = lease.spec.acquire_time = now
        await state.objects.create(LEASES, lease, namespace=LEASE_NAMESPACE)
    else:
        await state.api.patch(LEASES, name, {"spec": {"renewTime": now, "holderIdentity": name}},
                              namespace=LEASE_NAMESPACE)


async def join(request: web.Request) -> web.Response:
    state = request.app[STATE]
    principal = request[PRINCIPAL]
    req = codec.decode(await request.read() or b"{}", JoinRequest, kind="JoinRequest")
    if principal.role == "node" and principal.node != req.name:
        raise Forbidden(f'node "{principal.node}" cannot join as "{req.name}"')
    if principal.role not in ("join", "node", "admin"):
        raise Forbidden("joining needs a join token")
    errors = names.dns1123_subdomain_errors(req.name)
    if errors:
        raise Invalid(f'node name "{req.name}" is invalid: {"; ".join(errors)}',
                      causes=[StatusCause(field="name", message=e) for e in errors])
    existing = state.store.get_entry(NODES.key("", req.name))
    lease = state.store.get_entry(LEASES.key(LEASE_NAMESPACE, req.name))
    if existing is not None and principal.role != "node" and lease is not None:
        age = lease_age_s(lease.obj)
        if age is not None and age < state.settings.nodes.grace_s:
            raise Conflict(f'node name "{req.name}" is held by a live node (lease renewed {age:.0f}s ago); '
                           "choose another --name, or stop that agent first")
    node = build_node(req, existing=existing.obj if existing else None)
    if existing is None:
        await state.objects.create(NODES, node)
    else:
        node.metadata.resource_version = ""
        # Each update gets its own copy: an update keeps the stored status in the object it is
        # given, which would send the old status (say, the agent's old port) to the second one.
        await state.objects.update(NODES, clone(node), namespace="", name=req.name)
        await state.objects.update(NODES, clone(node), namespace="", name=req.name, subresource="status")
    await _ensure_lease(state, req.name)
    token = await credentials.issue_node_credential(state.objects, state.tokens, node=req.name)
    members = request.app.get(MEMBERS_KEY, lambda: [])()
    body = JoinResponse(node_name=req.name, token=token, members=members, proxy_token_digest=digest(state.proxy_token),
                        api_servers=[state.settings.api.advertise_url or _self_url(request)])
    return responses.raw(codec.encode(body), 201 if existing is None else 200)


def _self_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


MEMBERS_KEY = web.AppKey("members", Any)  # a callable -> list of member dicts (set by the membership routes)


def register(app: web.Application) -> None:
    app.router.add_post("/join", join)

