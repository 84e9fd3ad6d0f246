"""The gossip loop: each round, beat, push-pull with a few random peers, probe the silent.

A round (every `interval_s`, jittered):
  1. my heartbeat counter + 1;
  2. POST my table to `fanout` random peers (alive or suspect), merge their answers;
     with no API server in the table yet, the seeds (the API URLs from the join) stand in;
  3. each member silent for suspect_after_s: exchange with it directly; failing that,
     ask up to `fanout` fresh members to reach it (POST /gossip/probe); if still
     nobody heard it, it becomes suspect;
  4. suspects past their time die, long-dead entries are forgotten.
Every call is under a timeout; an unreachable peer is a fact, not an error.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import NoReturn

import aiohttp
import msgspec
import structlog

from orchestrator.membership.tables import Change, Member, MemberTable
from orchestrator.membership.wire import (GOSSIP_PATH, PROBE_PATH, SIGNATURE_HEADER, Message, PeerAuth,
                                          ProbeAnswer, ProbeRequest, encode, message_decoder,
                                          probe_answer_decoder, peer_url)

log = structlog.get_logger(__name__)


class Gossiper:
    def __init__(self, *, table: MemberTable, auth: PeerAuth, session: aiohttp.ClientSession,
                 interval_s: float, fanout: int, seeds: Callable[[], list[str]] = list,
                 on_key: Callable[[str], None] | None = None, timeout_s: float | None = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.table = table
        self.auth = auth
        self.session = session
        self.interval_s = interval_s
        self.fanout = max(1, fanout)
        self.seeds = seeds
        self.on_key = on_key
        self.timeout_s = timeout_s if timeout_s is not None else max(1.0, 2 * interval_s)
        self.clock = clock
        self.wall = wall
        self._complaints: set[str] = set()  # peers whose refusal was already logged (until they answer)

    async def run(self) -> NoReturn:
        while True:
            await asyncio.sleep(self.interval_s * random.uniform(0.8, 1.2))
            await self.round()

    async def round(self) -> None:
        self.table.beat()
        async with asyncio.TaskGroup() as tg:
            for peer in self._choose():
                tg.create_task(self.exchange(peer), name=f"gossip-{peer.name or peer.address}")
        silent = self.table.silent(now=self.clock())
        if silent:
            async with asyncio.TaskGroup() as tg:
                for name in silent:
                    tg.create_task(self._probe(name), name=f"probe-{name}")
        self._log(self.table.expire(now=self.clock()))

    def _choose(self) -> list[Member]:
        peers = self.table.peers()
        chosen = random.sample(peers, min(self.fanout, len(peers)))
        if not any(p.role == "server" for p in peers):
            chosen += [Member(name="", address=url, role="server") for url in self.seeds()]
        return chosen

    # --- talking ----------------------------------------------------------------------------

    async def exchange(self, peer: Member) -> Message | None:
        """Push my table to `peer`, merge its answer; None when it could not be reached."""
        body = encode(Message(sender=self.table.me.name, members=self.table.members()))
        raw = await self._post(peer, GOSSIP_PATH, body)
        if raw is None:
            return None
        try:
            answer = message_decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("gossip answer unreadable", peer=peer.name or peer.address, error=str(exc))
            return None
        if answer.key and peer.role == "server" and answer.key != self.auth.key:
            self.auth.key = answer.key
            if self.on_key is not None:
                self.on_key(answer.key)
        self._log(self.table.merge(answer.members, now=self.clock()))
        return answer

    def receive(self, message: Message) -> Message:
        """A peer's push (route handlers call this): merge it, answer with my table."""
        self._log(self.table.merge(message.members, now=self.clock()))
        return Message(sender=self.table.me.name, members=self.table.members())

    async def probe_for(self, target: str) -> ProbeAnswer:
        """Another member could not reach `target`: try from here (an indirect probe)."""
        peer = self.table.get(target)
        if peer is None or peer.name == self.table.me.name:
            return ProbeAnswer(reachable=peer is not None, members=[self.table.me.copy()] if peer else [])
        reached = await self.exchange(peer) is not None
        found = self.table.get(target)
        return ProbeAnswer(reachable=reached, members=[found] if found else [])

    async def _probe(self, name: str) -> None:
        peer = self.table.get(name)
        if peer is None:
            return
        if await self.exchange(peer) is not None and name not in self.table.silent(now=self.clock()):
            return
        now = self.clock()
        helpers = [p for p in self.table.peers() if p.name != name and self.table.fresh(p.name, now=now)]
        helpers = random.sample(helpers, min(self.fanout, len(helpers)))
        async with asyncio.TaskGroup() as tg:
            asks = [tg.create_task(self._ask(helper, name)) for helper in helpers]
        answers = [ask.result() for ask in asks]
        for answer in answers:
            if answer is not None:
                self._log(self.table.merge(answer.members, now=self.clock()))
        if name in self.table.silent(now=self.clock()):
            change = self.table.suspect(name, now=self.clock())
            if change is not None:
                log.info("member suspect", member=name, helpers=len(helpers), incarnation=change.incarnation,
                         reached_by_helpers=sum(1 for a in answers if a is not None and a.reachable))

    async def _ask(self, helper: Member, target: str) -> ProbeAnswer | None:
        raw = await self._post(helper, PROBE_PATH, encode(ProbeRequest(target=target)))
        if raw is None:
            return None
        try:
            return probe_answer_decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None

    async def _post(self, peer: Member, path: str, body: bytes) -> bytes | None:
        headers = self.auth.request_headers(peer, method="POST", path=path, body=body, now=self.wall())
        if headers is None:
            return None
        url = peer_url(peer) + path
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self.session.post(url, data=body, headers=headers) as resp:
                    raw = await resp.read()
                    signature = resp.headers.get(SIGNATURE_HEADER)
                    status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.debug("gossip peer unreachable", peer=peer.name or url, error=str(exc) or type(exc).__name__)
            return None
        problem = f"HTTP {status}: {raw[:300].decode(errors='replace')}" if status != 200 else \
            self.auth.answer_problem(peer, path=path, body=raw, signature=signature, now=self.wall())
        if problem is not None:
            if url not in self._complaints:  # once per peer until it answers properly again
                self._complaints.add(url)
                log.warning("gossip with a peer refused or not trusted", peer=peer.name or url, problem=problem)
            return None
        self._complaints.discard(url)
        return raw

    def _log(self, changes: list[Change]) -> None:
        for c in changes:
            if c.old is None:
                log.info("member learnt", member=c.name, status=c.new, incarnation=c.incarnation)
            elif c.new is None:
                log.info("member forgotten", member=c.name)
            elif c.name == self.table.me.name:
                log.info("refuted suspicion", was=c.old, incarnation=c.incarnation)
            else:
                log.info("member status", member=c.name, old=c.old, new=c.new, incarnation=c.incarnation)
