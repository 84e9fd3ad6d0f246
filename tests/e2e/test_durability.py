"""Durability end to end, with real processes: an acknowledged write survives the server.

Eight clients create ConfigMaps as fast as the server takes them; mid-flight the server
is killed (SIGKILL: a crash) or stopped (SIGTERM: a clean shutdown, exit 0). Whatever got
a 201 must be there after a restart on the same data dir, unchanged, and the revision
counter must carry on past every acknowledged one. Writes cut off by the stop may or may
not be there: the client never learnt either way.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass, field

import aiohttp
import pytest

CLIENTS = 8
LOAD_S = 1.5          # how long the clients write before the server is stopped
MIN_ACKED = 20        # ...or until this many writes were acknowledged (at most LOAD_MAX_S)
LOAD_MAX_S = 10.0
REQUEST_TIMEOUT_S = 10.0
PATH = "/api/v1/namespaces/default/configmaps"


def configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}}


@dataclass
class Load:
    acked: dict[str, int] = field(default_factory=dict)    # name -> resourceVersion in the 201
    refused: list[str] = field(default_factory=list)       # answers other than 201 before the stop
    stopping: bool = False


async def write_until_cut_off(session: aiohttp.ClientSession, url: str, load: Load,
                              names: itertools.count) -> None:
    """POST ConfigMaps back to back until the server goes away."""
    while True:
        name = f"cm-{next(names)}"
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                async with session.post(url + PATH, json=configmap(name)) as resp:
                    if resp.status == 201:
                        body = await resp.json()
                        load.acked[name] = int(body["metadata"]["resourceVersion"])
                    elif not load.stopping:
                        load.refused.append(f"{name}: HTTP {resp.status} {await resp.text()}")
        except (aiohttp.ClientError, TimeoutError):
            if load.stopping:
                return
            raise


async def list_configmaps(session: aiohttp.ClientSession, url: str) -> tuple[dict[str, dict], int]:
    """Every ConfigMap in `default` (following `continue`), and the list's revision."""
    items: dict[str, dict] = {}
    params = {"limit": "500"}
    while True:
        async with session.get(url + PATH, params=params) as resp:
            assert resp.status == 200, await resp.text()
            page = await resp.json()
        items.update((item["metadata"]["name"], item) for item in page["items"] or [])
        token = page["metadata"].get("continue")
        if not token:
            return items, int(page["metadata"]["resourceVersion"])
        params = {"limit": "500", "continue": token}


def session_for(server) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {server.token}"},
                                 timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S))


@pytest.mark.parametrize("how", ["sigkill", "sigterm"])
async def test_acknowledged_creates_survive_a_stop_mid_flight(orch_server, how: str) -> None:
    server = orch_server()
    load = Load()
    names = itertools.count()

    async with session_for(server) as session:
        async with asyncio.TaskGroup() as writers:
            for i in range(CLIENTS):
                writers.create_task(write_until_cut_off(session, server.url, load, names),
                                    name=f"writer-{i}")
            started = time.monotonic()
            await asyncio.sleep(LOAD_S)
            while len(load.acked) < MIN_ACKED and time.monotonic() - started < LOAD_MAX_S:
                await asyncio.sleep(0.1)
            load.stopping = True
            if how == "sigkill":
                server.kill()
            else:
                exit_code = await asyncio.to_thread(server.stop)
                assert exit_code == 0, f"SIGTERM under load: exit {exit_code}\n{server.log_tail()}"

    print(f"{len(load.acked)} creates acknowledged before the {how}")
    assert not load.refused, f"writes refused before the stop: {load.refused[:5]}"
    assert len(load.acked) >= MIN_ACKED, f"only {len(load.acked)} writes acknowledged in {LOAD_MAX_S}s"

    await asyncio.to_thread(server.start)
    async with session_for(server) as session:
        stored, revision = await list_configmaps(session, server.url)
        lost = sorted(set(load.acked) - set(stored), key=lambda n: int(n.split("-")[1]))
        assert not lost, f"{len(lost)} of {len(load.acked)} acknowledged creates lost after {how}: {lost[:10]}"
        for name, rv in load.acked.items():
            assert stored[name]["data"] == {"k": "v"}, stored[name]
            assert int(stored[name]["metadata"]["resourceVersion"]) == rv, stored[name]["metadata"]
        assert revision >= max(load.acked.values())

        # And it serves as usual: a new write gets a revision past all the old ones.
        async with session.post(server.url + PATH, json=configmap("after-restart")) as resp:
            assert resp.status == 201, await resp.text()
            assert int((await resp.json())["metadata"]["resourceVersion"]) > revision
        async with session.get(f"{server.url}{PATH}/after-restart") as resp:
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["data"] == {"k": "v"}


async def test_sigterm_exits_cleanly_and_a_restart_keeps_state(orch_server) -> None:
    server = orch_server()
    async with session_for(server) as session:
        async with session.post(server.url + PATH, json=configmap("kept")) as resp:
            assert resp.status == 201, await resp.text()
            created = await resp.json()

    started = time.monotonic()
    exit_code = await asyncio.to_thread(server.stop, timeout=5.0)
    took = time.monotonic() - started
    assert exit_code == 0, f"exit {exit_code} on SIGTERM; log tail:\n{server.log_tail()}"
    assert took < 5.0

    await asyncio.to_thread(server.start)
    async with session_for(server) as session:
        async with session.get(f"{server.url}{PATH}/kept") as resp:
            assert resp.status == 200, await resp.text()
            kept = await resp.json()
    assert kept["data"] == {"k": "v"}
    assert kept["metadata"]["uid"] == created["metadata"]["uid"]
    assert kept["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]
