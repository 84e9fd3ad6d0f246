"""The sim's control listener (`--control HOST:PORT`, loopback only, no auth): what tests
and benchmarks use to fail one node on purpose and to read the sim's counters.

    POST /nodes/NAME/stop-lease    stop renewing that node's Lease (it goes stale; the node
                                   lifecycle controller then marks the node unreachable)
    POST /nodes/NAME/start-lease   renew it again at once (and post Ready=True again)
    GET  /nodes                    [{name, leaseRenewing, gone}]
    GET  /stats                    counters: pods started/succeeded/failed/deleted, writes, ...
    GET  /healthz                  ok

Only lease renewal stops: the node goes on moving and deleting its pods, so evictions
of its pods complete (a partitioned heartbeat rather than a powered-off machine).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from typing import Any, NoReturn

from aiohttp import web

from orchestrator.agent.sim.heartbeating import LeaseKeeper
from orchestrator.agent.sim.nodes import SimNode


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def make_app(*, nodes: dict[str, SimNode], leases: LeaseKeeper, restarted: Callable[[SimNode], None],
             stats: Callable[[], dict[str, Any]]) -> web.Application:
    def node_of(request: web.Request) -> SimNode:
        node = nodes.get(request.match_info["name"])
        if node is None:
            raise web.HTTPNotFound(text=f"no simulated node {request.match_info['name']!r}\n")
        return node

    def describe(node: SimNode) -> dict[str, Any]:
        return {"name": node.name, "leaseRenewing": node.lease_enabled, "gone": node.gone}

    async def stop_lease(request: web.Request) -> web.Response:
        node = node_of(request)
        leases.stop(node)
        return web.json_response(describe(node))

    async def start_lease(request: web.Request) -> web.Response:
        node = node_of(request)
        leases.start(node)
        restarted(node)
        return web.json_response(describe(node))

    async def list_nodes(request: web.Request) -> web.Response:
        return web.json_response([describe(n) for n in nodes.values()])

    async def get_stats(request: web.Request) -> web.Response:
        return web.json_response(stats())

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    app = web.Application()
    app.router.add_post("/nodes/{name}/stop-lease", stop_lease)
    app.router.add_post("/nodes/{name}/start-lease", start_lease)
    app.router.add_get("/nodes", list_nodes)
    app.router.add_get("/stats", get_stats)
    app.router.add_get("/healthz", healthz)
    return app


async def serve(app: web.Application, *, host: str, port: int, ready: Callable[[str], None]) -> NoReturn:
    """Listen until cancelled; `ready(url)` once bound (port 0 picks a free one)."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        shown = f"[{bound[0]}]" if ":" in str(bound[0]) else bound[0]
        ready(f"http://{shown}:{bound[1]}")
        await asyncio.Event().wait()
        raise AssertionError("unreachable")
    finally:
        await asyncio.shield(runner.cleanup())
