"""Watching a kind over websocket: resume after drops, re-list after 410 Gone.

Data flow:

    [list -> ADDED...]  (when started without a revision)
    connect ws ?watch=true&resourceVersion=RV -> events -> consumer   (RV := each event's revision)
        dropped / refused / 5xx / 429 -> sleep (jittered back-off) -> connect again from RV
        ERROR 410 or a 410 answer -> list -> synthetic ADDED / MODIFIED / DELETED -> RV := list's

The consumer's view stays right across a re-list because we keep `seen`, a small
key -> resourceVersion map of what it has been told: objects the list shows that it has
not seen are ADDED, ones at another revision MODIFIED, seen ones the list lacks DELETED
(with a stub object: name, namespace and the last revision seen). BOOKMARKs only move RV.
Errors that retrying cannot fix (401, 403, 404, 400, a bad selector) are raised.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec
import structlog

from orchestrator.aio.backoff import backoff_delay
from orchestrator.client.responses import Unreachable, error_from_body, status_from_data
from orchestrator.model.api import WatchEvent
from orchestrator.model.base import ObjectMeta
from orchestrator.model.codec import decoder
from orchestrator.model.errors import ApiError, Gone, ServiceUnavailable, TooManyRequests, error_from_status
from orchestrator.model.registry import Kind

if TYPE_CHECKING:
    from orchestrator.client.clients import Client

log = structlog.get_logger(__name__)

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"
HEARTBEAT_S = 20.0
RETRY_BASE_S, RETRY_CAP_S = 0.2, 5.0  # reconnect back-off: 0.1-0.2s at first, at most 5s


class _Frame(msgspec.Struct):
    type: str
    object: msgspec.Raw = msgspec.Raw(b"{}")


def object_key(obj: Any) -> str:
    meta = obj.metadata
    return f"{meta.namespace}/{meta.name}" if meta.namespace else meta.name


def retry_delay(attempt: int) -> float:
    return backoff_delay(attempt, base=RETRY_BASE_S, cap=RETRY_CAP_S)


def relist_events(*, kind: Kind, seen: dict[str, str], items: Iterable[Any]) -> list[WatchEvent]:
    """The events that bring a consumer who saw `seen` to the listed state; updates `seen`."""
    events: list[WatchEvent] = []
    listed: dict[str, str] = {}
    for obj in items:
        key, rv = object_key(obj), obj.metadata.resource_version
        listed[key] = rv
        if key not in seen:
            events.append(WatchEvent(ADDED, obj))
        elif seen[key] != rv:
            events.append(WatchEvent(MODIFIED, obj))
    for key in [k for k in seen if k not in listed]:
        ns, _, name = key.rpartition("/")
        stub = kind.type(api_version=kind.api_version, kind=kind.kind,
                         metadata=ObjectMeta(name=name, namespace=ns, resource_version=seen[key]))
        events.append(WatchEvent(DELETED, stub))
    seen.clear()
    seen.update(listed)
    return events


async def watch(client: Client, kind: Kind, *, namespace: str = "", label_selector: str = "",
                field_selector: str = "", resource_version: str = "",
                known: Iterable[Any] = ()) -> AsyncGenerator[WatchEvent, None]:
    seen: dict[str, str] = {object_key(o): o.metadata.resource_version for o in known}
    rv = "" if resource_version == "0" else resource_version
    attempt = 0
    while True:
        try:
            if not rv:
                listed = await client.list_all(kind, namespace=namespace, label_selector=label_selector,
                                               field_selector=field_selector)
                for ev in relist_events(kind=kind, seen=seen, items=listed.items):
                    yield ev
                rv = listed.resource_version
            stream = _stream(client, kind, rv=rv, namespace=namespace, label_selector=label_selector,
                             field_selector=field_selector)
            delivered = False
            async with aclosing(stream):
                async for ev in stream:
                    attempt, delivered = 0, True
                    rv = ev.object.metadata.resource_version or rv
                    if ev.type == BOOKMARK:
                        continue
                    if ev.type == DELETED:
                        seen.pop(object_key(ev.object), None)
                    else:
                        seen[object_key(ev.object)] = rv
                    yield ev
            log.debug("watch closed by the server; resuming", kind=kind.kind, rv=rv)
            if not delivered:  # closed at once, nothing said: do not spin
                await asyncio.sleep(retry_delay(attempt))
                attempt += 1
        except Gone as exc:
            log.info("watch revision expired; re-listing", kind=kind.kind, rv=rv, reason=exc.message)
            rv = ""
            if attempt:  # expired again before a single event: the log is compacting fast; slow down
                await asyncio.sleep(retry_delay(attempt))
            attempt += 1
        except (Unreachable, ServiceUnavailable, TooManyRequests, aiohttp.ClientError, TimeoutError,
                ConnectionError) as exc:
            delay = retry_delay(attempt)
            attempt += 1
            log.warning("watch interrupted; resuming", kind=kind.kind, rv=rv, retry_in_s=round(delay, 2),
                        error=str(exc) or type(exc).__name__)
            await asyncio.sleep(delay)
        except ApiError as exc:
            if exc.code < 500:
                raise
            delay = retry_delay(attempt)
            attempt += 1
            log.warning("watch failed on the server; resuming", kind=kind.kind, rv=rv, error=exc.message)
            await asyncio.sleep(delay)


async def _stream(client: Client, kind: Kind, *, rv: str, namespace: str, label_selector: str,
                  field_selector: str) -> AsyncGenerator[WatchEvent, None]:
    """One websocket connection's events; ends when the server closes it, raises on errors."""
    params = {"watch": "true", "resourceVersion": rv, "allowWatchBookmarks": "true",
              "labelSelector": label_selector, "fieldSelector": field_selector}
    params = {k: v for k, v in params.items() if v}
    url = client.url(kind.api_path(namespace if kind.namespaced else ""))
    try:
        async with asyncio.timeout(client.timeout):
            ws = await client.session.ws_connect(url, params=params, headers=client.headers,
                                                 heartbeat=HEARTBEAT_S, max_msg_size=0)
    except aiohttp.WSServerHandshakeError as exc:
        raise error_from_body(code=exc.status, body=(exc.message or "").encode(), http_reason="") from None
    except TimeoutError:
        raise Unreachable(f"watch {url}: no answer within {client.timeout:g}s") from None
    except aiohttp.ClientConnectionError as exc:
        raise Unreachable(f"watch {url}: {exc}") from None
    dec = decoder(kind.type)
    async with ws:
        async for msg in ws:
            if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                yield _event(msg.data, dec)
            elif msg.type == aiohttp.WSMsgType.ERROR:
                raise Unreachable(f"watch {url}: {ws.exception()}")
    if ws.close_code not in (None, aiohttp.WSCloseCode.OK, aiohttp.WSCloseCode.GOING_AWAY):
        raise Unreachable(f"watch {url}: closed with code {ws.close_code}")


def _event(data: str | bytes, dec: msgspec.json.Decoder[Any]) -> WatchEvent:
    frame = msgspec.json.decode(data, type=_Frame)
    if frame.type == ERROR:
        status = status_from_data(msgspec.json.decode(frame.object))
        if status is None:
            raise ServiceUnavailable(f"watch error: {bytes(frame.object)[:500]!r}")
        raise error_from_status(status)
    return WatchEvent(frame.type, dec.decode(frame.object))
