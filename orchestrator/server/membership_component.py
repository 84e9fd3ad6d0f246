"""The API server as a gossip member: its table, its gossip loop, and Leases kept fresh
for members gossip says are alive.

- The server is a member like the agents (role "server", address = its URL). It makes
  the cluster's gossip key (`<data-dir>/gossip-key`, 0600) and gives it to members that
  present a node credential (in its /gossip answers); agents sign to each other with it.
- Leases: a joined node renews its own Lease; when its renewals stop reaching the API
  but gossip still hears its heartbeat (heard within suspect_after_s), the server renews
  it in its place, so a node reachable only through gossip stays Ready. When gossip
  stops hearing it, nobody renews it and the node-lifecycle controller takes over once
  it is older than grace_s.
- `members_for_join()` feeds the join answer (joining.MEMBERS_KEY).

Not a `Component`: the /gossip routes and this loop share one table, and components
receive only the ServerState; the loop lives in the app's cleanup context instead (started
with the listener, cancelled and awaited when it closes), restarted with a log line if it
ever fails.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any, NoReturn
from urllib.parse import urlsplit

import aiohttp
import msgspec
import structlog
from aiohttp import web

from orchestrator.membership.gossiping import Gossiper
from orchestrator.membership.tables import DEAD, Member, MemberTable
from orchestrator.membership.wire import PeerAuth
from orchestrator.model.errors import ApiError
from orchestrator.server import bootstrap, joining
from orchestrator.server.state import STATE, ServerState

log = structlog.get_logger(__name__)

GOSSIP_KEY_FILE = "gossip-key"
RESTART_DELAY_S = 1.0


def own_url(state: ServerState) -> str:
    from orchestrator.server.main import server_url  # main imports app, which imports this module

    return server_url(state.settings)


class ServerMembership:
    def __init__(self, *, state: ServerState) -> None:
        self.state = state
        nodes = state.settings.nodes
        url = own_url(state)
        self.key = bootstrap.read_or_create_token(state.settings.data_dir / GOSSIP_KEY_FILE)
        self.table = MemberTable(me=Member(name=f"server@{urlsplit(url).netloc}", address=url, role="server"),
                                 suspect_after_s=nodes.suspect_after_s, now=time.monotonic())
        self.auth = PeerAuth(key=self.key)
        self.gossiper: Gossiper | None = None  # made when the app starts (it needs a client session)

    def members_for_join(self) -> list[dict[str, Any]]:
        return [msgspec.to_builtins(m) for m in self.table.members() if m.status != DEAD]

    async def lifecycle(self, _app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: the loop runs while the app does."""
        nodes = self.state.settings.nodes
        async with aiohttp.ClientSession() as session:
            self.gossiper = Gossiper(table=self.table, auth=self.auth, session=session,
                                     interval_s=nodes.gossip_interval_s, fanout=nodes.gossip_fanout)
            task = asyncio.create_task(self._supervise(), name="membership")
            try:
                yield
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

    async def _supervise(self) -> NoReturn:
        while True:
            try:
                async with asyncio.TaskGroup() as tg:
                    assert self.gossiper is not None
                    tg.create_task(self.gossiper.run(), name="server-gossip")
                    tg.create_task(self.renew_leases(), name="gossip-leases")
            except Exception:
                log.exception("membership loop failed; restarting it", delay_s=RESTART_DELAY_S)
                await asyncio.sleep(RESTART_DELAY_S)

    def _stale_after_s(self) -> float:
        """A Lease this old missed its node's own renewals (well before the grace period ends)."""
        nodes = self.state.settings.nodes
        return min(1.5 * nodes.lease_renew_s, nodes.grace_s / 2)

    async def renew_leases(self) -> NoReturn:
        while True:
            await asyncio.sleep(self._stale_after_s() / 3 * random.uniform(0.8, 1.0))
            await self.renew_leases_once(now=time.monotonic())

    async def renew_leases_once(self, *, now: float) -> list[str]:
        """Renew the Leases of members alive by gossip whose own renewals stopped arriving."""
        state, stale_after_s = self.state, self._stale_after_s()
        renewed: list[str] = []
        for m in self.table.members():
            if m.role != "agent" or not self.table.fresh(m.name, now=now):
                continue
            entry = state.store.get_entry(joining.LEASES.key(joining.LEASE_NAMESPACE, m.name))
            if entry is None:
                continue
            age = joining.lease_age_s(entry.obj)
            if age is not None and age < stale_after_s:
                continue
            try:
                await state.api.patch(joining.LEASES, m.name, {"spec": {"renewTime": joining.now_micro()}},
                                      namespace=joining.LEASE_NAMESPACE)
            except ApiError as exc:
                log.warning("lease renewal by gossip failed", node=m.name, error=exc.message)
                continue
            renewed.append(m.name)
            log.info("lease renewed for a member alive by gossip", node=m.name,
                     lease_age_s=None if age is None else round(age, 1))
        return renewed


MEMBERSHIP = web.AppKey("membership", ServerMembership)


def attach(app: web.Application) -> ServerMembership:
    """Make the server's membership for this app: the join answer's members and the loop."""
    membership = ServerMembership(state=app[STATE])
    app[MEMBERSHIP] = membership
    app[joining.MEMBERS_KEY] = membership.members_for_join
    app.cleanup_ctx.append(membership.lifecycle)
    return membership
