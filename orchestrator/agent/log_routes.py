"""Container logs on the agent's listener, at the kubelet's path.

    GET /containerLogs/{namespace}/{pod}/{container}?follow=&tailLines=&previous=&timestamps=
        &sinceSeconds=&sinceTime=

Only the server may call it: it presents the proxy token it gave this agent when it
joined (``Authorization: Bearer <token>``), compared in constant time; anything else
is 401.  The container is found by its labels (namespace, pod name, container name);
when pods of one name succeeded each other, the newest one's.  ``previous`` reads
the attempt before the newest (what ``lastState`` describes).  The body is the raw
output, streamed as it comes (with ``follow``, until the container stops or the
caller goes away).  ``timestamps`` prefixes each line with its RFC 3339 time;
``sinceSeconds`` (counted back on this agent's clock, as the kubelet does) or
``sinceTime`` keeps only the lines written since; bad values are 400.  A runtime that
keeps no per-line times (``process``) refuses both with 400, saying why.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

import structlog
from aiohttp import web

from orchestrator.model.log_options import since_options
from orchestrator.runtime import ContainerNotFound, ContainerRuntime, RuntimeError_, Unsupported
from orchestrator.runtime.base import ContainerInfo

log = structlog.get_logger(__name__)

RUNTIME = web.AppKey("log_runtime", ContainerRuntime)
TOKEN = web.AppKey("log_proxy_token_digest", str)
LIST_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0  # a log read without follow is cut off after this long


def register(app: web.Application, *, runtime: ContainerRuntime, proxy_token_digest: str) -> None:
    app[RUNTIME] = runtime
    app[TOKEN] = proxy_token_digest
    app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", container_logs)


def status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}  # fmt: skip
    return web.Response(status=code, text=json.dumps(body), content_type="application/json")


def authorized(request: web.Request) -> bool:
    # Agents hold only the digest of the server's proxy token: an agent cannot pose as the server.
    expected = request.app[TOKEN]
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    seen = hashlib.sha256(given.strip().encode()).hexdigest()
    return bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(seen, expected)


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1", "yes")


def pick(infos: list[ContainerInfo], *, namespace: str, pod: str, container: str,
         previous: bool) -> ContainerInfo | None:
    """The attempt to read: the newest pod's newest attempt (or the one before it)."""
    mine = [i for i in infos if (i.namespace, i.pod_name, i.container_name) == (namespace, pod, container)]
    if not mine:
        return None
    newest_uid = max(mine, key=lambda i: i.created_at or "").pod_uid
    attempts = sorted((i for i in mine if i.pod_uid == newest_uid), key=lambda i: (i.restart_count, i.created_at or ""))
    if previous:
        return attempts[-2] if len(attempts) > 1 else None
    return attempts[-1]


async def container_logs(request: web.Request) -> web.StreamResponse:
    if not authorized(request):
        return status(401, "Unauthorized", "Unauthorized: this endpoint takes the server's proxy token")
    ns, pod, name = (request.match_info[k] for k in ("namespace", "pod", "container"))
    tail_text = request.query.get("tailLines", "")
    if tail_text and not tail_text.lstrip("-").isdigit():
        return status(400, "BadRequest", f"tailLines={tail_text!r} must be an integer")
    tail = int(tail_text) if tail_text else None
    if tail is not None and tail < 0:
        tail = None
    try:
        since_seconds, since = since_options(request.query)
    except ValueError as exc:
        return status(400, "BadRequest", str(exc))
    if since_seconds is not None:
        since = time.time() - since_seconds
    follow, previous = _flag(request, "follow"), _flag(request, "previous")
    runtime = request.app[RUNTIME]
    try:
        async with asyncio.timeout(LIST_TIMEOUT_S):
            infos = await runtime.list()
    except (RuntimeError_, TimeoutError) as exc:
        return status(503, "ServiceUnavailable", f"the container runtime did not answer: {exc}")
    info = pick(infos, namespace=ns, pod=pod, container=name, previous=previous)
    if info is None:
        what = "previous terminated container" if previous else "container"
        return status(404 if not previous else 400, "NotFound" if not previous else "BadRequest",
                      f'{what} "{name}" in pod "{pod}" not found')
    try:
        chunks = runtime.logs(info.id, follow=follow, tail=tail, timestamps=_flag(request, "timestamps"),
                              since=since)
    except Unsupported as exc:  # the driver cannot do it at all: the caller's request, not a fault
        return status(400, "BadRequest", exc.message)
    response = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8",
                                           "X-Content-Type-Options": "nosniff"})  # fmt: skip
    if follow:  # headers now: the first line may be a long time coming
        await response.prepare(request)
    try:
        async with asyncio.timeout(None if follow else READ_TIMEOUT_S):
            async for chunk in chunks:
                if not response.prepared:
                    await response.prepare(request)
                await response.write(chunk)
    except ContainerNotFound:
        pass  # removed while we read: the log ends here
    except Unsupported as exc:
        if not response.prepared:
            return status(400, "BadRequest", exc.message)
        log.info("log stream refused", pod=f"{ns}/{pod}", container=name, error=exc.message)
    except (RuntimeError_, TimeoutError) as exc:
        if not response.prepared:
            return status(503, "ServiceUnavailable", f"reading the log failed: {exc}")
        log.info("log stream ended early", pod=f"{ns}/{pod}", container=name, error=str(exc))
    if not response.prepared:
        await response.prepare(request)
    await response.write_eof()
    return response
