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
The listener binds before the nodes join (a taken port fails fast, with nothing joined)
and answers 503 until `attach()` gives it the running sim.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from aiohttp import web

from orchestrator.agent.sim.heartbeating import LeaseKeeper
from orchestrator.agent.sim.nodes import SimNode


class ControlError(Exception):
    """The control listener could not be opened (the message says why)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(slots=True, kw_only=True)
class Controls:
    nodes: dict[str, SimNode]
    leases: LeaseKeeper
    restarted: Callable[[SimNode], None]  # after start-lease: post Ready again when due
    stats: Callable[[], dict[str, Any]]


def describe(node: SimNode) -> dict[str, Any]:
    return {"name": node.name, "leaseRenewing": node.lease_enabled, "gone": node.gone}


class ControlListener:
    def __init__(self, *, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.controls: Controls | None = None
        self._runner: web.AppRunner | None = None

    def attach(self, controls: Controls) -> None:
        self.controls = controls

    async def open(self) -> str:
        """Bind; the URL it listens on (port 0 picks a free one)."""
        app = web.Application()
        app.router.add_post("/nodes/{name}/stop-lease", self._stop_lease)
        app.router.add_post("/nodes/{name}/start-lease", self._start_lease)
        app.router.add_get("/nodes", self._list_nodes)
        app.router.add_get("/stats", self._stats)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, self.host, self.port).start()
        except OSError as exc:
            await self.close()
            raise ControlError(f"--control {self.host}:{self.port}: {exc.strerror or exc}") from None
        bound = self._runner.addresses[0]
        shown = f"[{bound[0]}]" if ":" in str(bound[0]) else bound[0]
        return f"http://{shown}:{bound[1]}"

    async def serve(self) -> NoReturn:
        """Keep serving until cancelled, then close."""
        try:
            await asyncio.Event().wait()
            raise AssertionError("unreachable")
        finally:
            await asyncio.shield(self.close())

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def _controls(self) -> Controls:
        if self.controls is None:
            raise web.HTTPServiceUnavailable(text="the sim is still joining its nodes\n")
        return self.controls

    def _node(self, request: web.Request) -> tuple[Controls, SimNode]:
        controls = self._controls()
        node = controls.nodes.get(request.match_info["name"])
        if node is None:
            raise web.HTTPNotFound(text=f"no simulated node {request.match_info['name']!r}\n")
        return controls, node

    async def _stop_lease(self, request: web.Request) -> web.Response:
        controls, node = self._node(request)
        controls.leases.stop(node)
        return web.json_response(describe(node))

    async def _start_lease(self, request: web.Request) -> web.Response:
        controls, node = self._node(request)
        controls.leases.start(node)
        controls.restarted(node)
        return web.json_response(describe(node))

    async def _list_nodes(self, request: web.Request) -> web.Response:
        return web.json_response([describe(n) for n in self._controls().nodes.values()])

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(self._controls().stats())

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")
