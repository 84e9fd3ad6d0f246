"""Watch over websocket (Upgrade) or chunked HTTP (one JSON event a line).

Semantics (Kubernetes'): without resourceVersion (or "0") the stream starts with an ADDED
event per current object, then changes; with resourceVersion=N it sends every change
after N, or one ERROR event with a 410 Status when N is compacted. With selectors, an
object that starts matching arrives as ADDED and one that stops matching as DELETED.
An unfiltered stream forwards each event's shared, pre-encoded line (no per-watcher
encoding). A watcher that falls behind gets an ERROR event saying from which revision to
resume, then the stream ends. With allowWatchBookmarks, a BOOKMARK every interval (also
when nothing changes) carries a revision the client may resume from.
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
from orchestrator.store.store import Entry, WatchStream


QUIET_RETRY_S = 0.05
READY_LINES = 64  # lines read ahead of a bookmark-taking watcher's sender


def _since(request: web.Request) -> int | None:
    value = request.query.get("resourceVersion", "")
    if value in ("", "0"):
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"resourceVersion={value!r} must be an integer") from None


def _events(state: ServerState, kind: Kind, namespace: str, since: int | None,
            match: Callable[[Object], bool] | None) -> tuple[WatchStream, AsyncIterator[bytes]]:
    """The store stream (for its progress) and the wire lines this watch sends."""
    prefix = kind.prefix(namespace)
    entries: list[Entry] = []
    if since is None:
        entries, rev = state.store.list(prefix, match)
        stream = state.store.watch(prefix, rev)  # subscribed at `rev`: no gap after the snapshot
    else:
        stream = state.store.watch(prefix, since)

    async def lines() -> AsyncIterator[bytes]:
        try:
            for e in entries:
                yield wire_event(ADDED, e.raw)
            async for ev in stream:
                if match is None:
                    yield ev.wire()
                    continue
                shown = transition(ev, match)
                if shown is not None:
                    yield ev.wire() if shown == ev.type else wire_event(shown, ev.raw)
        finally:
            await stream.aclose()

    return stream, lines()


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
    """Send the watch's lines; with bookmarks, a BOOKMARK every interval, also on a quiet
    stream, at a revision the client can safely resume from (see WatchStream)."""
    stream, lines = _events(state, kind, namespace, since, predicate)
    try:
        if not bookmarks:
            async for line in lines:
                await send(line)
        else:
            await _pump_with_bookmarks(kind, stream, lines, send, state.settings.api.bookmark_interval_s)
    except ApiError as err:  # fell behind, shutting down, compacted meanwhile
        with contextlib.suppress(ConnectionResetError, RuntimeError):
            await send(_error_event(err))
    finally:
        await lines.aclose()  # type: ignore[attr-defined]


async def _pump_with_bookmarks(kind: Kind, stream: WatchStream, lines: AsyncIterator[bytes], send: Send,
                               interval: float) -> None:
    # One reader task moves lines into a local queue, so that waiting for the next line can
    # time out (for a bookmark) without ever interrupting the store stream mid-read. Between
    # the reader taking an event off the store's queue and putting its line here there is no
    # await, so "both queues empty" means every event up to the store's revision was sent.
    # Bounded, so a slow client still backs up into the store's bounded queue (and is cut off).
    ready: asyncio.Queue[bytes | Exception | None] = asyncio.Queue(READY_LINES)

    async def read() -> None:
        try:
            async for line in lines:
                await ready.put(line)  # no suspension unless full (and then it is not quiet)
            await ready.put(None)
        except Exception as exc:  # noqa: BLE001 - handed to the sender, which re-raises
            await ready.put(exc)

    loop = asyncio.get_running_loop()
    reader = asyncio.ensure_future(read())
    next_bookmark = loop.time() + interval
    try:
        while True:
            if ready.empty():
                try:
                    async with asyncio.timeout_at(next_bookmark):
                        item = await ready.get()
                except TimeoutError:
                    quiet = stream.quiet_revision() if ready.empty() else None
                    if quiet is None:
                        next_bookmark = loop.time() + min(interval, QUIET_RETRY_S)  # busy: look again soon
                    else:
                        next_bookmark = loop.time() + interval
                        await send(_bookmark(kind, quiet))
                    continue
            else:
                item = ready.get_nowait()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            await send(item)
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)


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
