"""Answer helpers: JSON bodies from already-encoded bytes, Status error bodies, lists."""

from __future__ import annotations

from aiohttp import web

from orchestrator.model import codec
from orchestrator.model.errors import ApiError
from orchestrator.model.registry import Kind
from orchestrator.store.store import Entry

JSON = "application/json"


def raw(body: bytes, status: int = 200) -> web.Response:
    return web.Response(body=body, status=status, content_type=JSON)


def error(err: ApiError) -> web.Response:
    return web.Response(body=codec.encode(err.to_status()), status=err.code, content_type=JSON)


def object_list(kind: Kind, entries: list[Entry], rv: int, continue_: str = "",
                remaining: int | None = None) -> web.Response:
    meta = b'{"resourceVersion":"' + str(rv).encode() + b'"'
    if continue_:
        meta += b',"continue":"' + continue_.encode() + b'"'
    if remaining is not None:
        meta += b',"remainingItemCount":' + str(remaining).encode()
    meta += b"}"
    head = b'{"apiVersion":"' + kind.api_version.encode() + b'","kind":"' + kind.list_kind.encode() + b'","metadata":'
    body = head + meta + b',"items":[' + b",".join(e.raw for e in entries) + b"]}"
    return raw(body)


def status_ok(message: str = "", details: dict[str, object] | None = None, code: int = 200) -> web.Response:
    body = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Success", "message": message,
            "code": code}
    if details:
        body["details"] = details
    return raw(codec.encode(body), code)
