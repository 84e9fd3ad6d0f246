"""Watch over websocket (Upgrade) or chunked HTTP (one JSON event a line).

Semantics (Kubernetes'): without resourceVersion (or "0") the stream starts with an ADDED
event per current object, then changes; with resourceVersion=N it sends every change
after N, or one ERROR event with a 410 Status when N is compacted. With selectors, an
object that starts matching arrives as ADDED and one that stops matching as DELETED.
An unfiltered stream forwards each event's shared, pre-encoded line (no per-watcher
encoding). A watcher that falls behind gets an ERROR event saying from which revision to
resume, then the stream ends. BOOKMARKs carry the current revision every interval.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import WSMsgType, web

from orchestrator.model import codec
from orchestrator.model.base import Object
from orchestrator.model.errors import ApiError, BadRequest, Gone
from orchestrator.model.registry import Kind
from orchestrator.server import tables
from orchestrator.server.state import ServerState
from orchestrator.store.filtering import compile_predicate, transition
from orchestrator.store.events import ADDED, BOOKMARK, ERROR, wire_event


def _since(request: web.Request) -> int | None:
    value = request.query.get("resourceVersion", "")
    if value in ("", "0"):
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"resourceVersion={value!r} must be an integer") from None


async def _events(state: ServerState, kind: Kind, namespace: str, since: int | None,
                  match: Callable[[Object], bool] | None) -> AsyncIterator[bytes]:
    prefix = kind.prefix(namespace)
    if since is None:
        entries, rev = state.store.list(prefix, match)
        stream = state.store.watch(prefix, rev)  # subscribed at `rev`: no gap after the snapshot
        for e in entries:
            yield wire_event(ADDED, e.raw)
    else:
        stream = state.store.watch(prefix, since)
    try:
        async for ev in stream:
            if match is None:
                yield ev.wire()
                continue
            shown = transition(ev, match)
            if shown is not None:
                yield ev.wire() if shown == ev.type else wire_event(shown, ev.raw)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]


def _bookmark(kind: Kind, rv: int) -> bytes:
    obj = {"kind": kind.kind, "apiVersion": kind.api_version, "metadata": {"resourceVersion": str(rv)}}
    return wire_event(BOOKMARK, codec.encode(obj))


def _error_event(err: ApiError) -> bytes:
    return wire_event(ERROR, codec.encode(err.to_status()))


async def serve_watch(request: web.Request, state: ServerState, kind: Kind, namespace: str) -> web.StreamResponse:
    predicate = compile_predicate(label_selector=request.query.get("labelSelector", ""),
                                  field_selector=request.query.get("fieldSelector", ""))
    since = _since(request)
    bookmarks = request.query.get("allowWatchBookmarks", "").lower() in ("true", "1")
    timeout = request.query.get("timeoutSeconds", "")
    limit_s = float(timeout) if timeout.isdigit() else None
    websocket = request.headers.get("Upgrade", "").lower() == "websocket"
    response, send = await (_open_websocket(request) if websocket else _open_stream(request))
    if since is not None and since < state.store.compacted:
        await send(_error_event(Gone(f"too old resource version: {since} ({state.store.compacted})")))
        return await _finish(response, websocket)
    state.metrics.counter("orch_watches_total", "Watches started by kind").inc(kind=kind.kind)
    if tables.wants_table(request):  # kubectl get -w: rows, not objects
        send = _as_table_rows(kind, send)

    def pump() -> Awaitable[None]:
        return _pump(state, kind, namespace, since, predicate, send, bookmarks)

    try:
        if isinstance(response, web.WebSocketResponse):
            await _until_closed(response, pump, limit_s)
        else:
            with contextlib.suppress(asyncio.TimeoutError):
                async with asyncio.timeout(limit_s):
                    await pump()
    except ConnectionResetError:
        pass
    return await _finish(response, websocket)


Send = Callable[[bytes], Awaitable[None]]


async def _open_websocket(request: web.Request) -> tuple[web.StreamResponse, Send]:
    ws = web.WebSocketResponse(heartbeat=30.0, compress=False)
    await ws.prepare(request)

    async def send(line: bytes) -> None:
        await ws.send_frame(line, WSMsgType.TEXT)
    return ws, send


async def _open_stream(request: web.Request) -> tuple[web.StreamResponse, Send]:
    resp = web.StreamResponse(headers={"Content-Type": "application/json", "Cache-Control": "no-cache"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)

    async def send(line: bytes) -> None:
        await resp.write(line + b"\n")
    return resp, send


def _as_table_rows(kind: Kind, send: Send) -> Send:
    first = True

    async def send_rows(line: bytes) -> None:
        nonlocal first
        shaped = tables.table_event(kind, line, first=first)
        first = False
        await send(shaped)
    return send_rows


async def _pump(state: ServerState, kind: Kind, namespace: str, since: int | None,
                predicate: Callable[[Object], bool] | None, send: Send, bookmarks: bool) -> None:
    interval = state.settings.api.bookmark_interval_s
    loop = asyncio.get_running_loop()
    next_bookmark = loop.time() + interval
    try:
        async for line in _events(state, kind, namespace, since, predicate):
            await send(line)
            if bookmarks and loop.time() >= next_bookmark:
                next_bookmark = loop.time() + interval
                await send(_bookmark(kind, state.store.revision))
    except ApiError as err:  # fell behind, shutting down, compacted meanwhile
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await send(_error_event(err))


async def _until_closed(ws: web.WebSocketResponse, pump: Callable[[], Awaitable[None]],
                        limit_s: float | None) -> None:
    """Run the pump until it ends, the client closes, or the time limit passes."""
    pump_task = asyncio.ensure_future(pump())

    async def reader() -> None:
        async for msg in ws:
            if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
                break

    reader_task = asyncio.ensure_future(reader())
    try:
        await asyncio.wait({pump_task, reader_task}, timeout=limit_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (pump_task, reader_task):
            t.cancel()
        await asyncio.gather(pump_task, reader_task, return_exceptions=True)


async def _finish(response: web.StreamResponse, websocket: bool) -> web.StreamResponse:
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        if websocket:
            await response.close()  # type: ignore[attr-defined]
        else:
            await response.write_eof()
    return response
