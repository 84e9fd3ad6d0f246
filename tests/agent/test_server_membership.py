"""The API server as a gossip member, in process on a real socket and store: /gossip auth,
the gossip key, members in the join answer, and Leases kept fresh for members gossip says
are alive (and only those)."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from tests.agent.servers import LEASE_PATH, Server, server  # noqa: F401 - `server` is the fixture


def push(sender: str, heartbeat: int = 1, **extra: Any) -> dict[str, Any]:
    me = {"name": sender, "address": "127.0.0.1:1", "role": "agent", "incarnation": 0, "heartbeat": heartbeat,
          "status": "alive", **extra}
    return {"sender": sender, "members": [me]}


async def test_gossip_needs_a_node_speaking_for_itself_and_hands_it_the_key(server: Server) -> None:
    cred = await server.join("n1")
    status, answer = await server.call("POST", "/gossip", token=cred, json=push("n1"))
    assert status == 200, answer
    assert answer["key"] == server.membership.key and len(answer["key"]) > 20
    names = {m["name"]: m for m in answer["members"]}
    assert names["n1"]["status"] == "alive" and any(m["role"] == "server" for m in answer["members"])
    status, body = await server.call("POST", "/gossip", token=cred, json=push("n2"))
    assert status == 403 and "cannot gossip as" in body["message"]
    status, body = await server.call("POST", "/gossip", token=server.join_token, json=push("n1"))
    assert status == 403
    status, body = await server.call("POST", "/gossip", token="nonsense", json=push("n1"))
    assert status == 401
    status, body = await server.call("POST", "/gossip", token=cred, json={"sender": "n1", "members": [{"x": 1}]})
    assert status == 400
    status, table = await server.call("GET", "/gossip", token=server.admin)
    assert status == 200 and "key" not in table and {m["name"] for m in table["members"]} >= {"n1"}


async def test_join_answers_carry_the_members(server: Server) -> None:
    cred = await server.join("n1")
    await server.call("POST", "/gossip", token=cred, json=push("n1"))
    status, body = await server.call("POST", "/join", token=server.join_token, json={"name": "n2"})
    assert status == 201
    members = {m["name"]: m for m in body["members"]}
    assert members["n1"]["address"] == "127.0.0.1:1" and any(m["role"] == "server" for m in body["members"])


async def set_renew_time(server: Server, name: str, stamp: str) -> None:
    async with server.http.patch(server.url + LEASE_PATH + name, json={"spec": {"renewTime": stamp}},
                                 headers={"Authorization": f"Bearer {server.admin}",
                                          "Content-Type": "application/merge-patch+json"}) as resp:
        assert resp.status == 200, await resp.text()


def age_s(stamp: str) -> float:
    return (datetime.now(timezone.utc) - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds()


async def test_leases_renewed_for_members_alive_by_gossip_only(server: Server) -> None:
    cred = await server.join("n1")
    await server.join("quiet")  # joined, but never gossips: the server does not vouch for it
    old = "2020-01-01T00:00:00.000000Z"
    for name in ("n1", "quiet"):
        await set_renew_time(server, name, old)  # their own renewals stopped reaching the API
    await server.call("POST", "/gossip", token=cred, json=push("n1", heartbeat=5))
    now = time.monotonic()
    assert await server.membership.renew_leases_once(now=now) == ["n1"]
    _, lease = await server.call("GET", LEASE_PATH + "n1", token=server.admin)
    assert age_s(lease["spec"]["renewTime"]) < 5
    _, quiet = await server.call("GET", LEASE_PATH + "quiet", token=server.admin)
    assert quiet["spec"]["renewTime"] == old
    assert await server.membership.renew_leases_once(now=now) == []  # fresh enough now: nothing to do
    # once gossip has not heard of n1 for suspect_after_s, nobody renews its Lease
    await set_renew_time(server, "n1", old)
    later = now + server.membership.table.suspect_after_s + 0.1
    assert await server.membership.renew_leases_once(now=later) == []
