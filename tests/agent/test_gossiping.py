"""Gossip between real agent listeners on loopback (no API server): spreading, signatures,
death, refutation and indirect probes, with short intervals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web

from orchestrator.agent import listener
from orchestrator.membership.gossiping import Gossiper
from orchestrator.membership.tables import ALIVE, DEAD, SUSPECT, Member, MemberTable
from orchestrator.membership.wire import PeerAuth, encode, sign, Message
from orchestrator.runtime.sim import SimRuntime

KEY = "cluster-key"
INTERVAL = 0.05
SUSPECT_AFTER = 0.4


@dataclass
class Node:
    name: str
    gossiper: Gossiper
    runner: web.AppRunner
    address: str

    @property
    def table(self) -> MemberTable:
        return self.gossiper.table

    def status_of(self, name: str) -> str | None:
        m = self.table.get(name)
        return m.status if m else None


@asynccontextmanager
async def cluster(names: list[str], *, keys: dict[str, str] | None = None) -> AsyncIterator[list[Node]]:
    """Agents on loopback, each knowing the first (a seed entry), gossiping every INTERVAL."""
    nodes: list[Node] = []
    async with aiohttp.ClientSession() as session, asyncio.TaskGroup() as tg:
        for name in names:
            sock = listener.bind_listener("127.0.0.1:0")
            address = "127.0.0.1:%d" % sock.getsockname()[1]
            auth = PeerAuth(key=(keys or {}).get(name, KEY))
            table = MemberTable(me=Member(name=name, address=address), suspect_after_s=SUSPECT_AFTER,
                                now=time.monotonic())
            gossiper = Gossiper(table=table, auth=auth, session=session, interval_s=INTERVAL, fanout=2)
            ctx = listener.ListenerContext(gossiper=gossiper, auth=auth, session=session, api_servers=list,
                                           timeout_s=1.0)
            app = listener.build_app(ctx, runtime=SimRuntime(), proxy_token_digest="")
            runner = web.AppRunner(app)
            await runner.setup()
            await web.SockSite(runner, sock).start()
            nodes.append(Node(name, gossiper, runner, address))
        for node in nodes[1:]:
            node.table.merge([Member(name=nodes[0].name, address=nodes[0].address)], now=time.monotonic())
        tasks = [tg.create_task(n.gossiper.run(), name=f"gossip-{n.name}") for n in nodes]
        try:
            yield nodes
        finally:
            for t in tasks:
                t.cancel()
            for n in nodes:
                await n.runner.cleanup()


async def wait_for(check, *, timeout: float = 5.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_members_spread_and_heartbeats_rise() -> None:
    async with cluster(["a", "b", "c", "d"]) as nodes:
        await wait_for(lambda: all(n.status_of(m.name) == ALIVE for n in nodes for m in nodes), what="all know all")
        before = nodes[0].table.get("d").heartbeat  # type: ignore[union-attr]
        await asyncio.sleep(10 * INTERVAL)
        assert nodes[0].table.get("d").heartbeat > before  # type: ignore[union-attr]
        assert all(nodes[0].table.fresh(m.name, now=time.monotonic()) for m in nodes)


async def test_a_stopped_member_becomes_suspect_then_dead() -> None:
    async with cluster(["a", "b", "c"]) as nodes:
        await wait_for(lambda: all(n.status_of(m.name) == ALIVE for n in nodes for m in nodes), what="all know all")
        c = nodes[2]
        stopped = time.monotonic()
        c.gossiper.auth.key = "not-the-key"  # c's answers are no longer trusted, its pushes refused: it is gone
        await c.runner.cleanup()
        await wait_for(lambda: nodes[0].status_of("c") in (SUSPECT, DEAD), what="c suspect")
        await wait_for(lambda: nodes[0].status_of("c") == DEAD and nodes[1].status_of("c") == DEAD, what="c dead")
        took = time.monotonic() - stopped
        assert SUSPECT_AFTER * 2 - 4 * INTERVAL <= took <= SUSPECT_AFTER * 2 + 3.0, took
        assert nodes[0].status_of("b") == ALIVE


async def test_wrong_key_is_refused_and_nothing_merges() -> None:
    async with cluster(["a", "x"], keys={"x": "another-cluster"}) as nodes:
        await asyncio.sleep(10 * INTERVAL)
        assert nodes[0].table.get("x") is None  # x's pushes were refused
        assert nodes[1].status_of("a") in (SUSPECT, DEAD)  # x never got a word it could trust back
        async with aiohttp.ClientSession() as s:
            body = encode(Message(sender="x", members=[]))
            headers = {"X-Orch-Gossip-Signature": sign("another-cluster", method="POST", path="/gossip", body=body,
                                                        now=time.time())}
            async with s.post(f"http://{nodes[0].address}/gossip", data=body, headers=headers) as resp:
                assert resp.status == 401 and "bad signature" in (await resp.json())["message"]
            async with s.post(f"http://{nodes[0].address}/gossip", data=body) as resp:
                assert resp.status == 401


async def test_a_live_member_refutes_suspicion() -> None:
    async with cluster(["a", "b"]) as nodes:
        a, b = nodes
        await wait_for(lambda: b.status_of("a") == ALIVE and a.status_of("b") == ALIVE, what="both alive")
        b.table.suspect("a", now=time.monotonic())
        incarnation = a.table.me.incarnation
        await wait_for(lambda: b.status_of("a") == ALIVE, what="a refuted")
        assert b.table.get("a").incarnation == a.table.me.incarnation == incarnation + 1  # type: ignore[union-attr]


async def test_indirect_probe_saves_a_member_only_one_peer_cannot_reach() -> None:
    async with cluster(["b", "c"]) as nodes, aiohttp.ClientSession() as session:
        b, c = nodes
        await wait_for(lambda: b.status_of("c") == ALIVE and c.status_of("b") == ALIVE, what="b and c alive")
        now = time.monotonic()
        a = Gossiper(table=MemberTable(me=Member(name="a", address="127.0.0.1:9"), suspect_after_s=SUSPECT_AFTER,
                                       now=now), auth=PeerAuth(key=KEY), session=session, interval_s=INTERVAL, fanout=2)
        a.table.merge([b.table.me.copy()], now=now)  # b: just heard of
        wrong = c.table.me.copy()
        wrong.address, wrong.heartbeat = "127.0.0.1:9", 0  # a's view of c is old and wrong: direct probes fail
        a.table.merge([wrong], now=now - 10 * SUSPECT_AFTER)  # ...and a has not heard of c for long
        assert a.table.silent(now=now) == ["c"]
        await a._probe("c")
        assert a.table.get("c").status == ALIVE and a.table.get("c").address == c.address  # type: ignore[union-attr]
        assert a.table.silent(now=time.monotonic()) == []
        # with no helper that can reach it either, c is suspect
        a.table.merge([wrong], now=0.0)
        a.table._entries["c"].member.address, a.table._entries["c"].heard_at = "127.0.0.1:9", 0.0
        a.table._entries["b"].member.address = "127.0.0.1:9"
        await a._probe("c")
        assert a.table.get("c").status == SUSPECT  # type: ignore[union-attr]
