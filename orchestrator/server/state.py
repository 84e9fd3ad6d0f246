"""Typed application state (aiohttp AppKeys): what every handler may reach."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from orchestrator.aio.metrics import Metrics
from orchestrator.server.auth import Principal, TokenTable
from orchestrator.settings import Settings
from orchestrator.store.local_api import LocalAPI
from orchestrator.store.objects import Objects
from orchestrator.store.store import Store


@dataclass(slots=True)
class ServerState:
    settings: Settings
    store: Store
    objects: Objects
    tokens: TokenTable
    metrics: Metrics
    api: LocalAPI
    proxy_token: str = ""  # presented to agents when the server calls them (log proxy)
    shutting_down: bool = False


STATE = web.AppKey("state", ServerState)
PRINCIPAL = web.RequestKey("principal", Principal)
VERB = web.RequestKey("verb", str)
KIND = web.RequestKey("kind", str)
