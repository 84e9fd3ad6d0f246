"""A minimal OpenAPI v3 document per group-version, so `kubectl apply` can validate.

kubectl downloads /openapi/v3 before it writes and refuses to go on without it. orch
validates strictly on the server (unknown fields are rejected with their path), so the
schemas here are deliberately open objects tagged with their group/version/kind: kubectl
finds every kind, and the server's answer stays the one authority on what is valid.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web

from orchestrator.model import codec
from orchestrator.model.registry import REGISTRY, Kind
from orchestrator.server import responses


def _path(group: str) -> str:
    return f"apis/{group}/v1" if group else "api/v1"


@cache
def root() -> bytes:
    paths = {_path(g): {"serverRelativeURL": f"/openapi/v3/{_path(g)}"} for g in REGISTRY.groups()}
    return codec.encode({"paths": paths})


# kubectl looks for a PATCH/POST operation of the kind that takes `fieldValidation`: finding
# one, it leaves validation to the server (orch is always strict) instead of doing it itself.
_FIELD_VALIDATION = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}}]


def _operations(kind: Kind) -> dict[str, Any]:
    gvk = {"group": kind.group, "version": "v1", "kind": kind.kind}
    ns = "{namespace}" if kind.namespaced else ""
    op = {"x-kubernetes-group-version-kind": gvk, "parameters": _FIELD_VALIDATION, "responses": {}}
    return {kind.api_path(ns): {"post": {**op, "x-kubernetes-action": "post"}},
            kind.api_path(ns, "{name}"): {"put": {**op, "x-kubernetes-action": "put"},
                                          "patch": {**op, "x-kubernetes-action": "patch"}}}


@cache
def group_version(path: str) -> bytes:
    for group, kinds in REGISTRY.groups().items():
        if _path(group) == path:
            schemas = {f"orch.{group or 'core'}.v1.{k.kind}": {
                "type": "object", "x-kubernetes-preserve-unknown-fields": True,
                "description": f"{k.kind}: validated strictly by the orch server",
                "x-kubernetes-group-version-kind": [{"group": group, "version": "v1", "kind": k.kind}]}
                for k in kinds}
            paths: dict[str, Any] = {}
            for k in kinds:
                paths.update(_operations(k))
            return codec.encode({"openapi": "3.0.0", "info": {"title": "orch", "version": "v1"}, "paths": paths,
                                 "components": {"schemas": schemas}})
    return b""


async def openapi_root(request: web.Request) -> web.Response:
    return responses.raw(root())


async def openapi_group_version(request: web.Request) -> web.Response:
    body = group_version(request.match_info["path"].strip("/"))
    if not body:
        raise web.HTTPNotFound()
    return responses.raw(body)
