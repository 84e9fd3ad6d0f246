"""Discovery in Kubernetes' own formats (so kubectl finds the kinds), health, version, metrics."""

from __future__ import annotations

import platform
from functools import cache
from typing import Any

from aiohttp import web

import orchestrator
from orchestrator.model import codec
from orchestrator.model.registry import REGISTRY, VERBS, Kind
from orchestrator.server import responses
from orchestrator.server.state import STATE


def _resource(kind: Kind) -> list[dict[str, Any]]:
    out = [{"name": kind.plural, "singularName": kind.singular, "namespaced": kind.namespaced, "kind": kind.kind,
            "verbs": list(VERBS), **({"shortNames": list(kind.short_names)} if kind.short_names else {}),
            **({"categories": list(kind.categories)} if kind.categories else {})}]
    for sub in kind.subresources:
        verbs = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"],
                 "binding": ["create"], "log": ["get"], "exec": ["create", "get"], "eviction": ["create"]}[sub]
        sub_kind = {"scale": "Scale", "binding": "Binding", "log": "Pod",
                    "exec": "PodExecOptions", "eviction": "Eviction"}.get(sub, kind.kind)
        entry = {"name": f"{kind.plural}/{sub}", "singularName": "", "namespaced": kind.namespaced,
                 "kind": sub_kind, "verbs": verbs}
        if sub == "eviction":  # kubectl drain looks for this to evict rather than delete
            entry.update(group="policy", version="v1")
        out.append(entry)
    return out


@cache
def resource_list(group: str) -> bytes:
    kinds = REGISTRY.groups().get(group)
    if kinds is None:
        return b""
    gv = f"{group}/v1" if group else "v1"
    return codec.encode({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
                         "resources": [r for k in kinds for r in _resource(k)]})


@cache
def group_list() -> bytes:
    groups = [{"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
               "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}}
              for g in REGISTRY.groups() if g]
    return codec.encode({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})


async def api_versions(request: web.Request) -> web.Response:
    host = request.host
    return responses.raw(codec.encode({"kind": "APIVersions", "versions": ["v1"],
                                       "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]}))


async def api_groups(request: web.Request) -> web.Response:
    return responses.raw(group_list())


async def api_group(request: web.Request) -> web.Response:
    group = request.match_info["group"]
    if not resource_list(group) or not group:
        return responses.raw(codec.encode({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                           "message": f'the server could not find the requested resource ("{group}")',
                                           "reason": "NotFound", "code": 404}), 404)
    gv = {"groupVersion": f"{group}/v1", "version": "v1"}
    return responses.raw(codec.encode({"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": [gv],
                                       "preferredVersion": gv}))


async def core_resources(request: web.Request) -> web.Response:
    return responses.raw(resource_list(""))


async def group_resources(request: web.Request) -> web.Response:
    group, version = request.match_info["group"], request.match_info["version"]
    body = resource_list(group) if version == "v1" and group else b""
    if not body:
        return responses.raw(codec.encode({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                           "message": f'the server could not find the requested resource ("{group}/{version}")',
                                           "reason": "NotFound", "code": 404}), 404)
    return responses.raw(body)


def version_info() -> dict[str, str]:
    major, minor, _ = (orchestrator.__version__.split(".") + ["0", "0"])[:3]
    return {"major": "1", "minor": "30", "gitVersion": f"v1.30.0-orch.{orchestrator.__version__}",
            "orchVersion": orchestrator.__version__, "goVersion": f"python{platform.python_version()}",
            "platform": f"{platform.system().lower()}/{platform.machine()}", "compiler": "cpython"}


async def version(request: web.Request) -> web.Response:
    return responses.raw(codec.encode(version_info()))


async def healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def readyz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if state.shutting_down or not state.store.ready.is_set():
        return web.Response(text="not ready", status=503)
    return web.Response(text="ok")


async def metrics(request: web.Request) -> web.Response:
    return web.Response(text=request.app[STATE].metrics.render(), content_type="text/plain")
