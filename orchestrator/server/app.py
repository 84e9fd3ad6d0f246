"""The aiohttp application: routes and middleware, built around a ServerState."""

from __future__ import annotations

from aiohttp import web

from orchestrator.server import discovery, joining, membership_routes, object_routes, openapi
from orchestrator.server.middleware import api_middleware
from orchestrator.server.state import STATE, ServerState


def build_app(state: ServerState) -> web.Application:
    limit = state.settings.api.max_body_bytes
    app = web.Application(middlewares=[api_middleware(state.metrics, body_limit=limit)], client_max_size=limit)
    app[STATE] = state
    r = app.router
    for path, handler in (("/healthz", discovery.healthz), ("/livez", discovery.healthz),
                          ("/readyz", discovery.readyz), ("/version", discovery.version),
                          ("/metrics", discovery.metrics), ("/api", discovery.api_versions),
                          ("/apis", discovery.api_groups), ("/api/{version}", discovery.core_resources),
                          ("/apis/{group}", discovery.api_group),
                          ("/apis/{group}/{version}", discovery.group_resources)):
        r.add_get(path, handler)
    r.add_get("/openapi/v3", openapi.openapi_root)
    r.add_get("/openapi/v3/{path:.+}", openapi.openapi_group_version)
    joining.register(app)
    membership_routes.register(app)
    r.add_route("*", "/api/{version}/{rest:.+}", object_routes.handle)
    r.add_route("*", "/apis/{group}/{version}/{rest:.+}", object_routes.handle)
    return app
