"""The object API: one handler for every kind, verb and subresource.

GET list / watch / get (/log), POST create / binding, PUT update (/status, /scale),
PATCH (merge and JSON patch), DELETE (finalizers, propagationPolicy, preconditions),
DELETE on a collection, pods/exec (a websocket GET; a POST only hears why not). Everything bad in a request becomes a typed ApiError, which the
error middleware turns into a Status answer.
"""

from __future__ import annotations

from typing import Any

import yaml
from aiohttp import web

from orchestrator.model import codec
from orchestrator.model.patching import merge_patch
from orchestrator.model.errors import BadRequest, MethodNotAllowed, NotFound, ServiceUnavailable
from orchestrator.model.pods import referenced_secrets
from orchestrator.model.policy import Eviction
from orchestrator.model.registry import REGISTRY, Kind
from orchestrator.server import exec_proxy, logs_proxy, paths, responses, tables, watching
from orchestrator.server.auth import authorize
from orchestrator.server.state import KIND, PRINCIPAL, STATE, VERB, ServerState
from orchestrator.store import evictions
from orchestrator.store.objects import APPLY_PATCH


PODS = REGISTRY.by_kind("Pod")


def _int_param(request: web.Request, name: str) -> int | None:
    value = request.query.get(name, "")
    if value == "":
        return None
    try:
        n = int(value)
    except ValueError:
        raise BadRequest(f"query parameter {name}={value!r} must be an integer") from None
    if n < 0:
        raise BadRequest(f"query parameter {name} must not be negative")
    return n


def _bool_param(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1", "yes")


def _verb(method: str, rp: paths.ResourcePath, request: web.Request) -> str:
    if rp.subresource == "exec":  # a websocket GET or a POST; Kubernetes authorizes both as create
        if method not in ("GET", "POST"):
            raise MethodNotAllowed(f"method {method} is not allowed on pods/exec; use a websocket GET")
        return "create"
    if method == "GET":
        if rp.name:
            return "get"
        return "watch" if _bool_param(request, "watch") else "list"
    verb = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method)
    if verb is None:
        raise MethodNotAllowed(f"method {method} is not allowed on this resource")
    if verb == "delete" and not rp.name:
        return "deletecollection"
    if verb in ("update", "patch") and not rp.name:
        raise MethodNotAllowed(f"{method} needs an object name: {method} {rp.kind.api_path(rp.namespace, 'NAME')}")
    return verb


async def handle(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    rp = paths.parse(request.match_info.get("group", ""), request.match_info["version"],
                     request.match_info.get("rest", ""))
    verb = _verb(request.method, rp, request)
    request[VERB], request[KIND] = verb, rp.kind.kind
    principal = request[PRINCIPAL]
    bound_node = None
    if rp.kind.kind == "Pod" and rp.name and verb not in ("get", "list", "watch"):
        current = state.store.get_entry(rp.kind.key(rp.namespace, rp.name))
        bound_node = current.obj.spec.node_name if current else None  # type: ignore[attr-defined]
    new_obj = None
    auth_name = rp.name
    if verb == "create" and not rp.subresource and principal.role != "admin":
        # A node may create only its own Lease/Node: judge by the name in the body.
        new_obj = codec.decode(await _body(request), rp.kind.type, kind=rp.kind.kind)
        auth_name = new_obj.metadata.name
    used = (principal.role == "node" and rp.kind.kind == "Secret" and verb == "get"
            and _used_by_pods_on(state, node=principal.node, namespace=rp.namespace, secret=rp.name))
    authorize(principal, verb=verb, kind=rp.kind, namespace=rp.namespace, name=auth_name,
              subresource=rp.subresource, bound_node=bound_node, used_by_my_pods=used)
    if state.shutting_down and verb not in ("get", "list", "watch"):
        raise ServiceUnavailable("the server is shutting down")
    return await _dispatch(request, state, rp, verb, new_obj)


def _used_by_pods_on(state: ServerState, *, node: str, namespace: str, secret: str) -> bool:
    """Whether a pod bound to `node` in `namespace` uses the Secret (a scan of one namespace's
    pods: Secret reads by nodes are rare, once per container start)."""
    entries, _ = state.store.list(PODS.prefix(namespace))
    return any(e.obj.spec.node_name == node and secret in referenced_secrets(e.obj)  # type: ignore[attr-defined]
               for e in entries)


async def _dispatch(request: web.Request, state: ServerState, rp: paths.ResourcePath,
                    verb: str, new_obj: Any = None) -> web.StreamResponse:
    kind, ns, name, sub = rp.kind, rp.namespace, rp.name, rp.subresource
    objects = state.objects
    if verb == "list":
        entries, rv, cont, remaining = objects.list(
            kind, ns, label_selector=request.query.get("labelSelector", ""),
            field_selector=request.query.get("fieldSelector", ""), limit=_int_param(request, "limit") or 0,
            continue_=request.query.get("continue", ""))
        if tables.wants_table(request):
            return responses.raw(tables.table(kind, [e.obj for e in entries], resource_version=rv, continue_=cont))
        return responses.object_list(kind, entries, rv, cont, remaining)
    if verb == "watch":
        return await watching.serve_watch(request, state, kind, ns)
    if sub == "scale":
        return await _scale(request, state, rp, verb)
    if sub == "log":
        return await logs_proxy.proxy_logs(request, state, namespace=ns, name=name)
    if sub == "exec":
        return await exec_proxy.serve_exec(request, state, namespace=ns, name=name)
    if verb == "get":
        entry = objects.get(kind, ns, name)
        if tables.wants_table(request):
            return responses.raw(tables.table(kind, [entry.obj], resource_version=entry.rv))
        return responses.raw(entry.raw)
    if verb == "create":
        if sub == "binding":
            return await _bind(request, state, ns, name)
        if sub == "eviction":
            return await _evict(request, state, ns, name)
        if name:
            raise MethodNotAllowed(f"POST is not allowed on a single {kind.singular}; POST to the collection")
        obj = new_obj if new_obj is not None else codec.decode(await _body(request), kind.type, kind=kind.kind)
        entry = await objects.create(kind, obj, namespace=ns)
        return responses.raw(entry.raw, 201)
    if verb == "update":
        obj = codec.decode(await _body(request), kind.type, kind=kind.kind)
        entry = await objects.update(kind, obj, namespace=ns, name=name, subresource=sub)
        return responses.raw(entry.raw)
    if verb == "patch":
        ctype = request.headers.get("Content-Type", "")
        body = await _body(request)
        code = 200
        if ctype.split(";")[0].strip().lower() == APPLY_PATCH:
            body = _yaml_as_json(body)
            code = 200 if state.store.get_entry(kind.key(ns, name)) else 201  # server-side apply may create
        entry = await objects.patch(kind, namespace=ns, name=name, body=body, content_type=ctype, subresource=sub)
        return responses.raw(entry.raw, code)
    if verb == "delete":
        opts = await _delete_options(request)
        entry, gone = await objects.delete(kind, namespace=ns, name=name, **opts)
        return responses.raw(entry.raw, 200 if gone else 202)
    if verb == "deletecollection":
        return await _delete_collection(request, state, kind, ns)
    raise MethodNotAllowed(f"{verb} is not supported here")


async def _body(request: web.Request) -> bytes:
    body = await request.read()
    if not body:
        raise BadRequest("the request body is empty; send the object as JSON")
    return body


async def _delete_options(request: web.Request) -> dict[str, Any]:
    body: dict[str, Any] = {}
    data = await request.read()
    if data:
        parsed = codec.loads(data)
        if not isinstance(parsed, dict):
            raise BadRequest("DeleteOptions must be a JSON object")
        body = parsed
    pre = body.get("preconditions") or {}
    if not isinstance(pre, dict):
        raise BadRequest("preconditions must be an object")
    grace = body.get("gracePeriodSeconds", _int_param(request, "gracePeriodSeconds"))
    if grace is not None and not isinstance(grace, int):
        raise BadRequest("gracePeriodSeconds must be an integer")
    policy = body.get("propagationPolicy") or request.query.get("propagationPolicy", "")
    if body.get("orphanDependents") is True or request.query.get("orphanDependents") == "true":
        policy = policy or "Orphan"
    if not isinstance(policy, str):
        raise BadRequest("propagationPolicy must be a string")
    return {"propagation_policy": policy, "precondition_rv": str(pre.get("resourceVersion") or ""),
            "precondition_uid": str(pre.get("uid") or ""), "grace_period_seconds": grace}


async def _delete_collection(request: web.Request, state: ServerState, kind: Kind, ns: str) -> web.Response:
    entries, _, _, _ = state.objects.list(kind, ns, label_selector=request.query.get("labelSelector", ""),
                                          field_selector=request.query.get("fieldSelector", ""))
    opts = await _delete_options(request)
    deleted = []
    for e in entries:
        try:
            entry, _ = await state.objects.delete(kind, namespace=e.obj.metadata.namespace,
                                                  name=e.obj.metadata.name, **opts)
            deleted.append(entry)
        except NotFound:
            continue
    return responses.object_list(kind, deleted, state.store.revision)


async def _bind(request: web.Request, state: ServerState, ns: str, name: str) -> web.Response:
    body = codec.loads(await _body(request))
    target = body.get("target") if isinstance(body, dict) else None
    if not isinstance(target, dict) or not isinstance(target.get("name"), str):
        raise BadRequest("a Binding needs target.name (the node)")
    meta = body.get("metadata") or {}
    if isinstance(meta, dict) and meta.get("name") and meta["name"] != name:
        raise BadRequest(f"the Binding's metadata.name ({meta['name']}) does not match the pod ({name})")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    expected = str(meta.get("resourceVersion") or "") if isinstance(meta, dict) else ""
    entry = await state.objects.bind(namespace=ns, name=name, node_name=target["name"], expected_rv=expected,
                                     annotations=annotations if isinstance(annotations, dict) else None)
    return responses.status_ok(f'pod "{name}" bound to node "{target["name"]}"',
                               {"name": name, "kind": "pods", "resourceVersion": entry.obj.metadata.resource_version},
                               code=201)  # Kubernetes answers a Binding with 201 Created


async def _evict(request: web.Request, state: ServerState, ns: str, name: str) -> web.Response:
    data = await _body(request)
    eviction = codec.decode(data, Eviction, kind="Eviction") if data.strip() else Eviction()
    if eviction.metadata.name and eviction.metadata.name != name:
        raise BadRequest(f"the Eviction's metadata.name ({eviction.metadata.name}) does not match the pod ({name})")
    grace = eviction.delete_options.grace_period_seconds if eviction.delete_options is not None else None
    await evictions.evict(state.objects, namespace=ns, name=name, grace_period_seconds=grace)
    return responses.status_ok(f'pod "{name}" evicted', {"name": name, "kind": "pods"}, code=201)


def _scale_body(kind: Kind, obj: Any) -> dict[str, Any]:
    m = obj.metadata
    spec, status = obj.spec, getattr(obj, "status", None)
    selector = ""
    sel = getattr(spec, "selector", None)
    if sel is not None and getattr(sel, "match_labels", None):
        selector = ",".join(f"{k}={v}" for k, v in sel.match_labels.items())
    return {"apiVersion": "autoscaling/v1", "kind": "Scale",
            "metadata": {"name": m.name, "namespace": m.namespace, "uid": m.uid,
                         "resourceVersion": m.resource_version, "creationTimestamp": m.creation_timestamp},
            "spec": {"replicas": spec.replicas or 0},
            "status": {"replicas": getattr(status, "replicas", 0) or 0, "selector": selector}}


async def _scale(request: web.Request, state: ServerState, rp: paths.ResourcePath, verb: str) -> web.Response:
    kind, ns, name = rp.kind, rp.namespace, rp.name
    current = state.objects.get(kind, ns, name)
    if verb == "get":
        return responses.raw(codec.encode(_scale_body(kind, current.obj)))
    body = codec.loads(await _body(request))
    if verb == "patch":
        body = merge_patch(_scale_body(kind, current.obj), body)
    replicas = body.get("spec", {}).get("replicas") if isinstance(body, dict) and isinstance(body.get("spec"), dict) else None
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise BadRequest("Scale is invalid: spec.replicas must be a non-negative integer")
    rv = body.get("metadata", {}).get("resourceVersion", "") if isinstance(body.get("metadata"), dict) else ""
    patch = codec.encode({"metadata": {"resourceVersion": rv} if rv else {}, "spec": {"replicas": replicas}})
    entry = await state.objects.patch(kind, namespace=ns, name=name, body=patch,
                                      content_type="application/merge-patch+json")
    return responses.raw(codec.encode(_scale_body(kind, entry.obj)))


def _yaml_as_json(body: bytes) -> bytes:
    """A server-side apply body is YAML (JSON is YAML too): one document, as JSON."""
    if body.lstrip()[:1] in (b"{", b"["):
        return body
    try:
        doc = yaml.safe_load(body)
    except yaml.YAMLError as exc:
        raise BadRequest(f"the apply body is not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise BadRequest("the apply body must be one YAML object (a mapping)")
    return codec.encode(doc)
