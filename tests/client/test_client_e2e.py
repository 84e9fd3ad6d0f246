"""The client against a real `orch server` subprocess: typed CRUD, errors, watch, resume, re-list."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import aiohttp
import pytest

from orchestrator.client import Client, WatchEvent, watching
from orchestrator.model import errors
from orchestrator.model.apps import Deployment
from orchestrator.model.codec import convert
from orchestrator.model.nodes import Node
from orchestrator.model.pods import Pod
from tests.conftest import OrchServer

pytestmark = pytest.mark.slow
EVENT_TIMEOUT_S = 15.0


def make_pod(name: str, *, namespace: str = "default", labels: dict[str, str] | None = None) -> Pod:
    return convert({"metadata": {"name": name, "namespace": namespace, "labels": labels or {}},
                    "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "60"]}]}},
                   Pod)


def make_deployment(name: str) -> Deployment:
    return convert({"metadata": {"name": name, "namespace": "default"},
                    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                             "template": {"metadata": {"labels": {"app": name}},
                                          "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}},
                   Deployment)


class Said:
    """Stands in for the watch module's logger: what it said, whatever structlog's config is."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def __getattr__(self, level: str) -> Callable[..., None]:
        return lambda event, **kw: self.events.append(event)


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> Said:
    recorder = Said()
    monkeypatch.setattr(watching, "log", recorder)
    return recorder


@pytest.fixture
def server(orch_server: Callable[..., OrchServer]) -> OrchServer:
    return orch_server()


@pytest.fixture
async def client(server: OrchServer) -> AsyncIterator[Client]:
    async with Client(server.url, server.token, timeout=10) as c:
        yield c


async def next_event(stream: AsyncIterator[WatchEvent]) -> WatchEvent:
    async with asyncio.timeout(EVENT_TIMEOUT_S):
        return await anext(stream)


async def test_typed_crud_round_trip(client: Client) -> None:
    made = await client.create(make_pod("a", labels={"app": "web"}))
    assert isinstance(made, Pod)
    assert (made.kind, made.api_version, made.metadata.namespace) == ("Pod", "v1", "default")
    assert made.metadata.uid and made.metadata.resource_version
    got = await client.get("po", "a", namespace="default")
    assert got.metadata.uid == made.metadata.uid

    await client.create(make_pod("b"))
    listed = await client.list("pods", namespace="default", label_selector="app=web")
    assert [p.metadata.name for p in listed.items] == ["a"] and listed.resource_version

    changed = convert({**_dict(got), "metadata": {**_dict(got)["metadata"], "labels": {"app": "web", "v": "2"}}}, Pod)
    updated = await client.update(changed)
    assert updated.metadata.labels["v"] == "2"
    with pytest.raises(errors.Conflict):
        await client.update(changed)  # the resourceVersion it carries is stale now

    patched = await client.patch("pods", "a", {"metadata": {"labels": {"patched": "yes"}}}, namespace="default")
    assert patched.metadata.labels["patched"] == "yes"
    json_patched = await client.patch("pods", "a", [{"op": "remove", "path": "/metadata/labels/patched"}],
                                      namespace="default", patch_type="json")
    assert "patched" not in json_patched.metadata.labels

    status = convert({**_dict(json_patched), "status": {"phase": "Running"}}, Pod)
    assert (await client.update_status(status)).status.phase == "Running"

    deleted = await client.delete("pods", "a", namespace="default")
    assert deleted.metadata.name == "a"
    with pytest.raises(errors.NotFound) as info:
        await client.get("pods", "a", namespace="default")
    assert info.value.message == 'pods "a" not found'


async def test_typed_errors(client: Client, server: OrchServer) -> None:
    await client.create(make_pod("dup"))
    with pytest.raises(errors.AlreadyExists):
        await client.create(make_pod("dup"))
    with pytest.raises(errors.NotFound):
        await client.delete("deploy", "nope", namespace="default")
    async with Client(server.url, "wrong-token", timeout=5) as stranger:
        with pytest.raises(errors.Unauthorized):
            await stranger.list("pods")
    with pytest.raises(errors.BadRequest, match="does not have a host assigned"):  # Kubernetes' 400
        async for _ in client.logs("dup", namespace="default"):
            pass


async def test_pages_bind_and_scale(client: Client) -> None:
    for i in range(5):
        await client.create(make_pod(f"p{i}"))
    page = await client.list("pods", namespace="default", limit=2)
    assert len(page.items) == 2 and page.continue_
    everything = await client.list_all("pods", namespace="default", page_size=2)
    assert [p.metadata.name for p in everything.items] == [f"p{i}" for i in range(5)]

    await client.create(convert({"metadata": {"name": "n1"}}, Node))
    await client.bind("default", "p0", "n1")
    assert (await client.get("pods", "p0", namespace="default")).spec.node_name == "n1"

    await client.create(make_deployment("web"))
    scale = await client.scale("deployments", "web", 4, "default")
    assert scale["spec"]["replicas"] == 4
    assert (await client.get("deploy", "web", namespace="default")).spec.replicas == 4


async def test_watch_lists_first_then_follows(client: Client) -> None:
    await client.create(make_pod("old"))
    async with aclosing(client.watch("pods", namespace="default")) as stream:
        first = await next_event(stream)
        assert (first.type, first.object.metadata.name) == ("ADDED", "old")
        await client.create(make_pod("new"))
        second = await next_event(stream)
        assert (second.type, second.object.metadata.name) == ("ADDED", "new")
        await client.delete("pods", "old", namespace="default")
        third = await next_event(stream)
        assert (third.type, third.object.metadata.name) == ("DELETED", "old")


async def test_watch_resumes_after_the_server_restarts(server: OrchServer, client: Client, said: Said) -> None:
    await client.create(make_pod("before"))
    seen: list[tuple[str, str]] = []
    async with aclosing(client.watch("pods", namespace="default")) as stream:
        seen.append(_said(await next_event(stream)))  # from the list
        await client.create(make_pod("during"))
        seen.append(_said(await next_event(stream)))  # over the websocket
        waiting = asyncio.ensure_future(next_event(stream))  # reading when the connection drops
        await asyncio.sleep(0.2)
        # A crash: SIGKILL drops the connection at once (a SIGTERM'd server currently takes
        # ~45s to close open watches, which is the server's business, not this test's).
        await asyncio.to_thread(server.kill)
        await asyncio.sleep(1.0)  # the watch retries meanwhile
        await asyncio.to_thread(server.start)  # same data dir and port
        await client.create(make_pod("after"))
        seen.append(_said(await waiting))
    assert seen == [("ADDED", "before"), ("ADDED", "during"), ("ADDED", "after")]  # none repeated or lost
    assert "watch interrupted; resuming" in said.events
    assert not [e for e in said.events if "re-listing" in e]  # resumed from its revision, no re-list


async def test_watch_relists_after_410_and_tells_the_consumer_what_changed(
        orch_server: Callable[..., OrchServer], said: Said) -> None:
    server = orch_server("--event-log-retain", "2", "--compact-interval", "0")
    async with Client(server.url, server.token, timeout=10) as client:
        for name in ("stays", "changes", "goes"):
            await client.create(make_pod(name))
        snapshot = await client.list("pods", namespace="default")
        await client.delete("pods", "goes", namespace="default")
        await client.patch("pods", "changes", {"metadata": {"labels": {"v": "2"}}}, namespace="default")
        await client.create(make_pod("arrives"))
        for i in range(6):  # enough writes for the event log to be compacted past the snapshot
            await client.create(make_pod(f"churn{i}", namespace="kube-system"))
        await _wait_gone(server, snapshot.resource_version)

        events = client.watch("pods", namespace="default", resource_version=snapshot.resource_version,
                              known=snapshot.items)
        async with aclosing(events) as stream:
            got = [await next_event(stream) for _ in range(3)]
            assert sorted((e.type, e.object.metadata.name) for e in got) == [
                ("ADDED", "arrives"), ("DELETED", "goes"), ("MODIFIED", "changes")]
            deleted = next(e.object for e in got if e.type == "DELETED")
            assert deleted.metadata.uid == ""  # a stub made by the client: the log had no event
            await client.create(make_pod("later"))  # and then it goes on watching
            ev = await next_event(stream)
            assert (ev.type, ev.object.metadata.name) == ("ADDED", "later")
        assert [e for e in said.events if "re-listing" in e] == ["watch revision expired; re-listing"]


async def _wait_gone(server: OrchServer, rv: str) -> None:
    """Until a raw watch from `rv` answers 410 (compaction runs in the server's writer)."""
    url = f"{server.url}/api/v1/namespaces/default/pods"
    headers = {"Authorization": f"Bearer {server.token}"}
    async with aiohttp.ClientSession() as http:
        for _ in range(100):
            async with http.ws_connect(url, params={"watch": "true", "resourceVersion": rv}, headers=headers) as ws:
                try:
                    msg = await asyncio.wait_for(ws.receive(), 0.5)
                except TimeoutError:
                    msg = None  # still resumable: nothing to say
                if msg is not None and msg.type == aiohttp.WSMsgType.TEXT and '"code":410' in msg.data.replace(" ", ""):
                    return
            async with http.post(f"{server.url}/api/v1/namespaces/kube-system/configmaps", headers=headers,
                                 json={"metadata": {"generateName": "churn-"}}) as resp:
                assert resp.status == 201
    pytest.fail(f"revision {rv} was never compacted")


def _said(ev: WatchEvent) -> tuple[str, str]:
    return ev.type, ev.object.metadata.name


def _dict(obj: Any) -> dict[str, Any]:
    from orchestrator.model.codec import to_builtins

    return to_builtins(obj)  # type: ignore[no-any-return]
