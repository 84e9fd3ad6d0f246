"""`orch server`: store, API, (later) controllers, scheduler and the embedded agent.

One root TaskGroup owns every long-lived task; SIGTERM/SIGINT set a stop event, the
listener closes, in-flight writes finish, then the store closes. Nothing is
fire-and-forget.
"""

from __future__ import annotations

import asyncio
import signal

import structlog
from aiohttp import web

from orchestrator.aio.metrics import Metrics
from orchestrator.server import bootstrap, components, credentials, tls
from orchestrator.server.app import build_app
from orchestrator.server.auth import Principal, TokenTable
from orchestrator.server.state import ServerState
from orchestrator.settings import Settings
from orchestrator.store.bus import Bus
from orchestrator.store.local_api import LocalAPI
from orchestrator.store.objects import Objects
from orchestrator.store.store import Store

log = structlog.get_logger(__name__)


def server_url(settings: Settings) -> str:
    if settings.api.advertise_url:
        return settings.api.advertise_url
    host = settings.api.listen_host
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return f"http://{host}:{settings.api.listen_port}"


async def build_state(settings: Settings) -> ServerState:
    """Open the store and load credentials: everything a server needs before it listens."""
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    if settings.store.path == Settings().store.path:
        settings.store.path = data_dir / "state.db"
    metrics = Metrics()
    bus = Bus(queue_size=settings.api.watch_queue_size)
    store = Store(settings.store, bus=bus, metrics=metrics)
    await store.open()
    tokens = TokenTable()
    admin = bootstrap.read_or_create_token(data_dir / "admin-token")
    tokens.add(admin, Principal(name="admin", role="admin"))
    bootstrap.read_or_create_token(data_dir / "join-token")  # registered as a Secret once writes run
    bootstrap.write_client_config(data_dir, server_url=server_url(settings), admin_token=admin)
    metrics.gauge("orch_watchers", "Open watch subscriptions", lambda: bus.subscribers)
    metrics.gauge("orch_watch_events_published_total", "Events published to watchers", lambda: bus.published)
    metrics.gauge("orch_watch_dropped_total", "Watchers cut off for falling behind", lambda: bus.dropped)
    objects = Objects(store)
    credentials.load_tokens(objects, tokens)
    return ServerState(settings=settings, store=store, objects=objects, tokens=tokens, metrics=metrics,
                       api=LocalAPI(objects), proxy_token=bootstrap.read_or_create_token(data_dir / "proxy-token"))


async def _start_kube_listener(runner: web.AppRunner, state: ServerState) -> None:
    """The HTTPS listener for Kubernetes tools, and the kubeconfig that points at it.

    Best effort: if the port is taken, orch runs on without it and says so."""
    settings = state.settings
    admin = (settings.data_dir / "admin-token").read_text().strip()
    port = settings.api.kube_port if settings.api.kube_port is not None else settings.api.listen_port + 1
    host = settings.api.listen_host
    if port:
        try:
            ca, cert, key = tls.ensure_certificates(settings.data_dir, hosts=[host])
            await web.TCPSite(runner, host, port, ssl_context=tls.server_context(cert, key)).start()
            url_host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
            url = f"https://{url_host}:{port}"
            bootstrap.write_kubeconfig(settings.data_dir, server_url=url, admin_token=admin, ca_pem=ca.read_bytes())
            log.info("HTTPS listener for Kubernetes tools", url=url, kubeconfig=str(settings.data_dir / "kubeconfig"))
            return
        except OSError as exc:
            log.warning("HTTPS listener for Kubernetes tools not started", port=port, error=str(exc))
    bootstrap.write_kubeconfig(settings.data_dir, server_url=server_url(settings), admin_token=admin, ca_pem=None)


async def prepare(state: ServerState) -> None:
    """First writes, once the store writer runs: default namespaces, the data dir's join token."""
    await bootstrap.ensure_namespaces(state.objects)
    await credentials.register_join_token(state.objects, state.tokens, name="join-token-default",
                                          token=(state.settings.data_dir / "join-token").read_text().strip())


async def serve(settings: Settings, *, started: asyncio.Event | None = None) -> None:
    state = await build_state(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(build_app(state), handler_cancellation=True, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    try:
        async with asyncio.TaskGroup() as tg:
            writer = tg.create_task(state.store.run(), name="store-writer")
            await prepare(state)
            parts = [tg.create_task(component.run(state), name=component.name)
                     for component in components.COMPONENTS]
            site = web.TCPSite(runner, settings.api.listen_host, settings.api.listen_port, backlog=1024)
            await site.start()
            log.info("orch server listening", url=server_url(settings), data_dir=str(settings.data_dir))
            await _start_kube_listener(runner, state)
            if started is not None:
                started.set()
            await stop.wait()
            log.info("orch server stopping")
            state.shutting_down = True
            for part in parts:  # controllers, scheduler, agent stop writing first
                part.cancel()
            state.store.bus.close_all("the server is shutting down; reconnect to another server or retry")
            await runner.shutdown()
            await runner.cleanup()
            await state.store.stop_writer()
            await writer
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await state.store.close()
        log.info("orch server stopped")
