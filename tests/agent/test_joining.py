"""Joining from the agent's side (against an in-process server): tokens, saved credentials,
refusals, retries, the /join forward of an agent's listener, node.json, names."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import aiohttp
import pytest

from orchestrator.agent import listener
from orchestrator.agent.identities import NodeIdentity, load_identity, save_identity
from orchestrator.agent.joining import JoinRefused, join_cluster, node_name_from
from orchestrator.membership.gossiping import Gossiper
from orchestrator.membership.tables import Member, MemberTable
from orchestrator.membership.wire import PeerAuth
from orchestrator.runtime.sim import SimRuntime
from tests.agent.servers import Server, server  # noqa: F401 - `server` is the fixture
from tests.conftest import free_port

BODY = {"name": "n1", "address": "127.0.0.1:1", "cpuMillis": 2000, "memoryBytes": 2**30, "runtime": "sim"}


def test_node_names_from_hostnames() -> None:
    assert node_name_from("My_Host.Example.COM") == "my-host.example.com"
    assert node_name_from("--weird--") == "weird" and node_name_from("___") == "node"


def test_node_json_is_private_and_round_trips(tmp_path: Path) -> None:
    ident = NodeIdentity(name="n1", credential="secret", api_servers=["http://s:1"], proxy_token_digest="p")
    save_identity(tmp_path / "d", ident)
    path = tmp_path / "d" / "node.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_identity(tmp_path / "d") == ident and load_identity(tmp_path / "none") is None
    assert [p.name for p in (tmp_path / "d").iterdir()] == ["node.json"]  # no temporary left behind
    path.write_text("{not json")
    with pytest.raises(ValueError, match="damaged"):
        load_identity(tmp_path / "d")


async def join(server: Server, *, token: str, identity: NodeIdentity | None = None, url: str = "") -> object:
    async with aiohttp.ClientSession() as session:
        return await join_cluster(session=session, join_url=url or server.url, join_token=token, identity=identity,
                                  body=BODY, timeout_s=5)


async def test_join_then_rejoin_with_the_saved_credential(server: Server) -> None:
    first = await join(server, token=server.join_token)
    assert first.node_name == "n1" and first.api_servers == [server.url]  # type: ignore[attr-defined]
    ident = NodeIdentity(name="n1", credential=first.token, api_servers=first.api_servers)  # type: ignore[attr-defined]
    again = await join(server, token="", identity=ident)  # no join token needed
    assert again.token != first.token  # type: ignore[attr-defined]
    # the old credential was replaced: with a join token it falls back to it (refused here only because
    # the node is live), without one it says so
    with pytest.raises(JoinRefused, match="held by a live node"):
        await join(server, token=server.join_token, identity=ident)
    with pytest.raises(JoinRefused, match="no join token to fall back on"):
        await join(server, token="", identity=ident)


async def test_refusals_are_final_and_say_why(server: Server) -> None:
    with pytest.raises(JoinRefused, match="401"):
        await join(server, token="wrong")
    with pytest.raises(JoinRefused, match="no node.json yet"):
        await join(server, token="")
    await join(server, token=server.join_token)
    with pytest.raises(JoinRefused, match="held by a live node"):
        await join(server, token=server.join_token)


async def test_an_unreachable_member_is_retried() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.5):
                await join_cluster(session=session, join_url=f"http://127.0.0.1:{free_port()}", join_token="t",
                                   identity=None, body=BODY, timeout_s=1)


async def test_an_agent_forwards_joins_to_its_api_server(server: Server) -> None:
    async with aiohttp.ClientSession() as session:
        servers = [server.url]
        table = MemberTable(me=Member(name="fwd", address="127.0.0.1:0"), suspect_after_s=5, now=0.0)
        auth = PeerAuth()
        ctx = listener.ListenerContext(gossiper=Gossiper(table=table, auth=auth, session=session, interval_s=1,
                                                         fanout=1),
                                       auth=auth, session=session, api_servers=lambda: list(servers), timeout_s=5)
        sock = listener.bind_listener("127.0.0.1:0")
        url = "http://127.0.0.1:%d" % sock.getsockname()[1]
        async with asyncio.TaskGroup() as tg:
            serving = tg.create_task(listener.serve(listener.build_app(ctx, runtime=SimRuntime(), proxy_token_digest=""),
                                                    sock))
            answer = await join(server, token=server.join_token, url=url)
            assert answer.node_name == "n1" and answer.api_servers == [server.url]  # type: ignore[attr-defined]
            with pytest.raises(JoinRefused, match="401"):
                await join(server, token="wrong", url=url)
            servers[:] = [f"http://127.0.0.1:{free_port()}"]
            async with session.post(url + "/join", json=BODY) as resp:
                assert resp.status == 503 and "could not reach an API server" in (await resp.json())["message"]
            async with session.get(url + "/healthz") as resp:
                assert resp.status == 200
            serving.cancel()


def test_advertised_addresses() -> None:
    sock = listener.bind_listener("127.0.0.1:0")
    port = sock.getsockname()[1]
    try:
        assert listener.advertise_address(advertise="", sock=sock, join_url="http://x:1") == f"127.0.0.1:{port}"
        assert listener.advertise_address(advertise="10.1.2.3", sock=sock, join_url="") == f"10.1.2.3:{port}"
        assert listener.advertise_address(advertise="10.1.2.3:99", sock=sock, join_url="") == "10.1.2.3:99"
        assert listener.advertise_address(advertise="[::1]:99", sock=sock, join_url="") == "[::1]:99"
    finally:
        sock.close()
    wild = listener.bind_listener("0.0.0.0:0")
    try:
        assert listener.advertise_address(advertise="", sock=wild, join_url="http://127.0.0.1:6443") \
            == f"127.0.0.1:{wild.getsockname()[1]}"
    finally:
        wild.close()
    with pytest.raises(OSError, match="cannot listen on"):
        listener.bind_listener("127.0.0.1:http")
