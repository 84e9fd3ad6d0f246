"""Watch over websocket and chunked HTTP: initial state, changes, selectors, resume, 410."""

from __future__ import annotations

import asyncio
import json

import aiohttp

from tests.server.conftest import Api, pod

PODS = "/api/v1/namespaces/default/pods"


async def _ws_events(api: Api, query: str, n: int) -> list[dict]:
    events: list[dict] = []
    async with api.http.ws_connect(api.url + f"{PODS}?watch=true&{query}",
                                   headers={"Authorization": f"Bearer {api.token}"}) as ws:
        async with asyncio.timeout(5):
            async for msg in ws:
                events.append(json.loads(msg.data))
                if len(events) == n:
                    break
    return events


async def test_websocket_watch_initial_then_changes(api: Api) -> None:
    await api.call("POST", PODS, json=pod("a"))
    got: list[dict] = []

    async def watch() -> None:
        got.extend(await _ws_events(api, "", 4))

    task = asyncio.create_task(watch())
    await asyncio.sleep(0.2)
    await api.call("POST", PODS, json=pod("b"))
    await api.call("PATCH", f"{PODS}/b", data='{"metadata":{"labels":{"x":"1"}}}',
                   headers={"Content-Type": "application/merge-patch+json"})
    await api.call("DELETE", f"{PODS}/a")
    await task
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in got] == [
        ("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "b"), ("DELETED", "a")]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in got]
    assert rvs == sorted(rvs)


async def test_selector_transitions_become_added_and_deleted(api: Api) -> None:
    _, created = await api.call("POST", PODS, json=pod("s"))
    rv = created["metadata"]["resourceVersion"]
    await api.call("PATCH", f"{PODS}/s", data='{"metadata":{"labels":{"app":"x"}}}',
                   headers={"Content-Type": "application/merge-patch+json"})
    await api.call("PATCH", f"{PODS}/s", data='{"metadata":{"labels":{"app":"y"}}}',
                   headers={"Content-Type": "application/merge-patch+json"})
    events = await _ws_events(api, f"labelSelector=app%3Dx&resourceVersion={rv}", 2)
    assert [e["type"] for e in events] == ["ADDED", "DELETED"]


async def test_resume_from_resource_version_and_410(api: Api) -> None:
    rvs = []
    for i in range(6):
        _, body = await api.call("POST", PODS, json=pod(f"r{i}"))
        rvs.append(int(body["metadata"]["resourceVersion"]))
    events = await _ws_events(api, f"resourceVersion={rvs[2]}", 3)
    assert [e["object"]["metadata"]["name"] for e in events] == ["r3", "r4", "r5"]
    await api.state.store.compact(rvs[4])
    events = await _ws_events(api, f"resourceVersion={rvs[1]}", 1)
    assert events[0]["type"] == "ERROR" and events[0]["object"]["code"] == 410


async def test_chunked_http_watch(api: Api) -> None:
    _, body = await api.call("POST", PODS, json=pod("c0"))
    rv = body["metadata"]["resourceVersion"]
    lines: list[dict] = []

    async def watch() -> None:
        async with api.http.get(api.url + f"{PODS}?watch=1&resourceVersion={rv}",
                                headers={"Authorization": f"Bearer {api.token}"}) as resp:
            assert resp.status == 200
            async with asyncio.timeout(5):
                async for line in resp.content:
                    lines.append(json.loads(line))
                    if len(lines) == 2:
                        return

    task = asyncio.create_task(watch())
    await asyncio.sleep(0.2)
    await api.call("POST", PODS, json=pod("c1"))
    await api.call("DELETE", f"{PODS}/c1")
    await task
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in lines] == [("ADDED", "c1"), ("DELETED", "c1")]


async def test_watch_needs_auth(api: Api) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.get(api.url + f"{PODS}?watch=true") as resp:
            assert resp.status == 401


async def test_bookmarks_arrive_on_a_quiet_stream_and_are_safe_to_resume_from(api: Api) -> None:
    """A watch whose objects never change still gets BOOKMARKs (other kinds keep the revision
    moving); resuming from one misses nothing that came after it."""
    api.state.settings.api.bookmark_interval_s = 0.2
    _, created = await api.call("POST", PODS, json=pod("quiet"))
    for i in range(3):  # the revision moves on elsewhere: ConfigMaps, not pods
        await api.call("POST", "/api/v1/namespaces/default/configmaps",
                       json={"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm{i}"}})
    rv = created["metadata"]["resourceVersion"]
    events = await _ws_events(api, f"resourceVersion={rv}&allowWatchBookmarks=true", 2)
    assert [e["type"] for e in events] == ["BOOKMARK", "BOOKMARK"], events
    mark = int(events[-1]["object"]["metadata"]["resourceVersion"])
    assert mark == api.state.store.revision and mark > int(rv)
    _, later = await api.call("POST", PODS, json=pod("after"))
    (resumed,) = await _ws_events(api, f"resourceVersion={mark}", 1)
    assert (resumed["type"], resumed["object"]["metadata"]["name"]) == ("ADDED", "after")
    assert int(later["metadata"]["resourceVersion"]) > mark


async def test_no_bookmarks_unless_asked_and_never_ahead_of_queued_events(api: Api) -> None:
    api.state.settings.api.bookmark_interval_s = 0.05
    plain: list[dict] = []
    marked: list[dict] = []

    async def collect(query: str, into: list[dict]) -> None:
        async with api.http.ws_connect(api.url + f"{PODS}?watch=true&{query}",
                                       headers={"Authorization": f"Bearer {api.token}"}) as ws:
            async for msg in ws:
                into.append(json.loads(msg.data))

    tasks = [asyncio.create_task(collect("", plain)), asyncio.create_task(collect("allowWatchBookmarks=true", marked))]
    await asyncio.sleep(0.1)
    for i in range(20):
        await api.call("POST", PODS, json=pod(f"p{i}"))
        if i % 5 == 0:
            await asyncio.sleep(0.08)
    await asyncio.sleep(0.2)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert [e["type"] for e in plain] == ["ADDED"] * 20
    assert [e for e in marked if e["type"] != "BOOKMARK"] == plain
    assert sum(e["type"] == "BOOKMARK" for e in marked) >= 3
    # a bookmark is never behind an event already sent, nor ahead of one still to come
    last_event, last_mark = 0, 0
    for e in marked:
        rv = int(e["object"]["metadata"]["resourceVersion"])
        if e["type"] == "BOOKMARK":
            assert rv >= last_event, marked
            last_mark = rv
        else:
            assert rv > last_mark, marked
            last_event = rv
