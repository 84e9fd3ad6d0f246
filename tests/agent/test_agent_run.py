"""A whole agent in process (sim runtime) against an in-process server: it joins, keeps its
Lease and Ready condition, takes Ready back after the node-lifecycle controller's Unknown,
recreates a deleted Lease, rejoins when its Node is deleted, gossips, and stops cleanly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from orchestrator.agent.main import run_agent
from orchestrator.agent.options import AgentOptions
from orchestrator.settings import NodeSettings
from tests.agent.servers import LEASE_PATH, Server, server  # noqa: F401 - `server` is the fixture

FAST = NodeSettings(grace_s=10, lease_renew_s=0.2, gossip_interval_s=0.1, gossip_fanout=2, suspect_after_s=1)


async def eventually(check: Callable[[], Awaitable[Any]], *, timeout: float = 5.0, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_agent_lifecycle_in_process(server: Server, tmp_path: Path) -> None:
    options = AgentOptions(join_url=server.url, join_token=server.join_token, name="inproc", listen="127.0.0.1:0",
                           data_dir=tmp_path / "agent", runtime="sim", gpus="1xA100-40GB", labels={"zone": "z1"},
                           nodes=FAST)
    stop = asyncio.Event()

    async def get(path: str) -> Any:
        status, body = await server.call("GET", path, token=server.admin)
        return body if status == 200 else None

    async def ready() -> str | None:
        node = await get("/api/v1/nodes/inproc")
        conds = (node or {}).get("status", {}).get("conditions", [])
        return next((c["status"] for c in conds if c["type"] == "Ready"), None)

    async with asyncio.TaskGroup() as tg:
        agent = tg.create_task(run_agent(options, stop=stop), name="agent-under-test")
        node = await eventually(lambda: get("/api/v1/nodes/inproc"), what="the Node")
        assert node["metadata"]["labels"]["zone"] == "z1" and node["status"]["capacity"]["nvidia.com/gpu"] == "1"
        assert "sim runtime" in node["metadata"]["annotations"]["orch.io/runtime-reason"]
        first = (await get(LEASE_PATH + "inproc"))["spec"]["renewTime"]
        await eventually(lambda: _changed(get(LEASE_PATH + "inproc"), first), what="a lease renewal")

        # the node-lifecycle controller said Unknown: the agent says Ready again
        node = await get("/api/v1/nodes/inproc")
        for c in node["status"]["conditions"]:
            if c["type"] == "Ready":
                c.update(status="Unknown", reason="NodeStatusUnknown", message="Kubelet stopped posting node status.")
        status, body = await server.call("PUT", "/api/v1/nodes/inproc/status", token=server.admin, json=node)
        assert status == 200, body
        await eventually(lambda: _equals(ready(), "True"), what="Ready=True again")

        # a deleted Lease comes back; a deleted Node too (the agent joins again)
        await server.call("DELETE", LEASE_PATH + "inproc", token=server.admin)
        await eventually(lambda: get(LEASE_PATH + "inproc"), what="the Lease again")
        await server.call("DELETE", "/api/v1/nodes/inproc", token=server.admin)
        await eventually(lambda: _equals(ready(), "True"), what="the Node again")

        # it gossips with the server, which hands it the key
        await eventually(lambda: _has_key(tmp_path / "agent"), what="the gossip key in node.json")
        assert "inproc" in {m.name for m in server.membership.table.members()}
        assert server.membership.table.fresh("inproc", now=time.monotonic())

        stop.set()
        await asyncio.wait_for(agent, timeout=5)


async def _changed(value: Awaitable[Any], old: str) -> bool:
    v = await value
    return bool(v) and v["spec"]["renewTime"] != old


async def _equals(value: Awaitable[Any], expected: Any) -> bool:
    return await value == expected


async def _has_key(data_dir: Path) -> bool:
    text = (data_dir / "node.json").read_text()
    return '"gossipKey": ""' not in text and '"gossipKey"' in text
