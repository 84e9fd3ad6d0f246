"""Request middleware: authentication, the one domain-error -> Status mapping, metrics, logs."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import msgspec
import structlog
from aiohttp import web

from orchestrator.aio.metrics import Metrics
from orchestrator.model.errors import ApiError, BadRequest, InternalError, MethodNotAllowed, NotFound, RequestEntityTooLarge
from orchestrator.server import responses
from orchestrator.server.state import KIND, PRINCIPAL, STATE, VERB

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
PUBLIC = frozenset({"/healthz", "/readyz", "/livez", "/version"})


def _translate(exc: BaseException, *, body_limit: int) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return RequestEntityTooLarge(f"the request body is larger than the limit of {body_limit} bytes")
    if isinstance(exc, web.HTTPNotFound):
        return NotFound("the server could not find the requested resource")
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return MethodNotAllowed(f"method {exc.method} is not allowed here")
    if isinstance(exc, web.HTTPException):
        err = ApiError(exc.text or exc.reason)
        err.code, err.reason = exc.status, exc.reason.replace(" ", "")
        return err
    if isinstance(exc, (UnicodeDecodeError, msgspec.DecodeError, ValueError)):
        return BadRequest(f"the request could not be read: {exc}")
    return InternalError("an internal error occurred; the server log has the details")


def api_middleware(metrics: Metrics, *, body_limit: int) -> Middleware:
    """The middleware, with its metric series looked up once (not on every request)."""
    latency = metrics.histogram("orch_api_request_seconds", "API request latency by verb and kind")
    requests = metrics.counter("orch_api_requests_total", "API requests by verb, kind and code")

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        response: web.StreamResponse
        try:
            if request.path not in PUBLIC:
                request[PRINCIPAL] = request.app[STATE].tokens.authenticate(request.headers.get("Authorization"))
            response = await handler(request)
            log.debug("request", method=request.method, path=request.path, status=response.status)
        except Exception as exc:  # the one place errors become Status answers
            err = _translate(exc, body_limit=body_limit)
            if isinstance(err, InternalError):
                log.exception("request failed", method=request.method, path=request.path)
            response = responses.error(err)
        verb, kind = request.get(VERB, request.method.lower()), request.get(KIND, "")
        if verb != "watch":
            latency.observe(time.perf_counter() - started, verb=verb, kind=kind)
            requests.inc(verb=verb, kind=kind, code=str(response.status))
        return response

    return middleware
