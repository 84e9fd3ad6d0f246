"""An agent's life: fingerprint, choose a runtime, bind, join, then run until told to stop.

    run_agent(options, stop=event)
      fingerprint (CPU, memory, GPUs) -> runtime (docker | process | sim, and why)
      -> bind the listener -> join (or rejoin with node.json) -> save node.json
      -> one TaskGroup: listener, lease, node-status, gossip, pod sync
      -> stop: cancel them all, close the runtime. Containers keep running (like the
         kubelet), so the next start adopts them.

`orch agent` sets `stop` on SIGTERM/SIGINT; the server's embedded agent sets it when the
server shuts down. Nothing here installs signal handlers.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

import aiohttp
import structlog

from orchestrator.agent import heartbeating, listener
from orchestrator.agent.fingerprints import fingerprint_node
from orchestrator.agent.identities import NodeIdentity, load_identity, save_identity
from orchestrator.agent.joining import (JoinAnswer, JoinRefused, capacity_digest, join_cluster, join_request,
                                        node_name_from)
from orchestrator.agent.options import AgentOptions
from orchestrator.agent.runtimes import choose_runtime
from orchestrator.client import Client
from orchestrator.client.events import EventRecorder
from orchestrator.membership.gossiping import Gossiper
from orchestrator.membership.tables import Member, MemberTable
from orchestrator.membership.wire import PeerAuth
from orchestrator.runtime import ContainerRuntime

log = structlog.get_logger(__name__)
T = TypeVar("T")


async def until_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """`work`'s result (or its exception), or None, with `work` cancelled, when `stop` is set first."""
    task = asyncio.ensure_future(work)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (task, stopper):
            t.cancel()
        await asyncio.gather(task, stopper, return_exceptions=True)
    return None if task.cancelled() else task.result()


async def run_agent(options: AgentOptions, *, stop: asyncio.Event) -> None:
    options.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    identity = load_identity(options.data_dir)
    name = options.name or (identity.name if identity else node_name_from(socket.gethostname()))
    if identity is not None and identity.name != name:
        log.warning("node.json belongs to another node name; joining with the join token",
                    saved=identity.name, name=name)
        identity = None
    fp = await fingerprint_node(node_name=name, gpus=options.gpus)
    runtime, reason = await choose_runtime(options.runtime, data_dir=options.data_dir)
    sock = None
    try:
        sock = listener.bind_listener(options.listen)
        address = listener.advertise_address(advertise=options.advertise, sock=sock, join_url=options.join_url)
        async with aiohttp.ClientSession() as session:
            body = join_request(name=name, address=address, fp=fp, runtime=runtime.name, labels=options.labels,
                                runtime_reason=reason)
            answer = await until_stopped(join_cluster(session=session, join_url=options.join_url,
                                                      join_token=options.join_token, identity=identity, body=body,
                                                      timeout_s=options.request_timeout_s), stop)
            if answer is None:
                return
            agent = Agent(options=options, session=session, runtime=runtime, body=body,
                          identity=_identity(answer, old=identity, join_url=options.join_url))
            agent.table.update_me(address=address, capacity=capacity_digest(fp))
            agent.table.merge(answer.members, now=time.monotonic())
            await agent.run(sock=sock, stop=stop, message=f"orch agent is posting ready status ({runtime.name} "
                                                          "runtime)")
    finally:
        if sock is not None:
            sock.close()
        await asyncio.shield(runtime.close())
        log.info("agent stopped; containers left running", node=name)


def _identity(answer: JoinAnswer, *, old: NodeIdentity | None, join_url: str) -> NodeIdentity:
    return NodeIdentity(name=answer.node_name, credential=answer.token, api_servers=answer.api_servers or [join_url],
                        proxy_token_digest=answer.proxy_token_digest, gossip_key=old.gossip_key if old else "")


class Agent:
    """A joined node: its API client, its member table, and the loops run_agent starts."""

    def __init__(self, *, options: AgentOptions, session: aiohttp.ClientSession, runtime: ContainerRuntime,
                 body: dict[str, Any], identity: NodeIdentity) -> None:
        self.options, self.session, self.runtime, self.body = options, session, runtime, body
        self.identity = identity
        save_identity(options.data_dir, identity)
        self.client = Client(identity.api_servers[0], identity.credential, session=session,
                             timeout=options.request_timeout_s)
        nodes = options.nodes
        self.auth = PeerAuth(key=identity.gossip_key, bearer=identity.credential)
        now = time.monotonic()
        self.table = MemberTable(me=Member(name=identity.name, address=body["address"], role="agent",
                                           incarnation=0), suspect_after_s=nodes.suspect_after_s, now=now)
        self.gossiper = Gossiper(table=self.table, auth=self.auth, session=session,
                                 interval_s=nodes.gossip_interval_s, fanout=nodes.gossip_fanout,
                                 seeds=lambda: list(self.identity.api_servers), on_key=self._keep_key)

    @property
    def name(self) -> str:
        return self.identity.name

    def _keep_key(self, key: str) -> None:
        self.identity.gossip_key = key
        save_identity(self.options.data_dir, self.identity)
        log.info("gossip key received from the API server")

    async def rejoin(self) -> None:
        """Join again with the saved credential (the Node was deleted); adopt the new credential."""
        try:
            answer = await join_cluster(session=self.session, join_url=self.options.join_url,
                                        join_token=self.options.join_token, identity=self.identity,
                                        body=self.body, timeout_s=self.options.request_timeout_s)
        except JoinRefused as exc:
            log.error("cannot join again; will try at the next status report", node=self.name, reason=str(exc))
            return
        self.identity = _identity(answer, old=self.identity, join_url=self.options.join_url)
        save_identity(self.options.data_dir, self.identity)
        self.client.token = self.auth.bearer = self.identity.credential

    async def run(self, *, sock: socket.socket, stop: asyncio.Event, message: str) -> None:
        nodes = self.options.nodes
        ctx = listener.ListenerContext(gossiper=self.gossiper, auth=self.auth, session=self.session,
                                       api_servers=lambda: list(self.identity.api_servers),
                                       timeout_s=self.options.request_timeout_s)
        app = listener.build_app(ctx, runtime=self.runtime, proxy_token_digest=self.identity.proxy_token_digest)
        async with asyncio.TaskGroup() as tg:
            tasks = [
                tg.create_task(listener.serve(app, sock), name="listener"),
                tg.create_task(heartbeating.renew_lease(client=self.client, node_name=self.name,
                                                        interval_s=nodes.lease_renew_s, rejoin=self.rejoin),
                               name="lease"),
                tg.create_task(heartbeating.report_ready(client=self.client, node_name=self.name, message=message,
                                                         interval_s=nodes.lease_renew_s,
                                                         report_s=min(60.0, 6 * nodes.lease_renew_s),
                                                         rejoin=self.rejoin), name="node-status"),
                tg.create_task(self.gossiper.run(), name="gossip"),
            ]
            if (podsync := self._podsync()) is not None:
                tasks.append(tg.create_task(podsync.run(), name="podsync"))
            log.info("agent running", node=self.name, api_server=self.client.base_url, runtime=self.runtime.name,
                     pod_sync=podsync is not None)
            await stop.wait()
            log.info("agent stopping", node=self.name)
            for task in tasks:
                task.cancel()

    def _podsync(self) -> Any:
        """The pod-lifecycle loop when this build has it (agent.podsync), else None."""
        try:
            from orchestrator.agent.podsync import PodSync
        except ModuleNotFoundError as exc:
            if exc.name != "orchestrator.agent.podsync":
                raise
            log.warning("pod sync not built into this agent: pods bound here will not run")
            return None
        recorder = EventRecorder(self.client, component="orch-agent", host=self.name)
        return PodSync(api=self.client, runtime=self.runtime, node_name=self.name, data_dir=self.options.data_dir,
                       recorder=recorder, proxy_token_digest=self.identity.proxy_token_digest)
