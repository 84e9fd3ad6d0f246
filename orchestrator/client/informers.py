"""Informers: list + watch one kind into a local cache with indexes, and tell handlers.

The reflector loop (client-go's): list -> replace the cache (handlers see the
differences) -> watch from the list's revision -> apply events; on 410 Gone or a broken
stream, back off and start over with a list. Works over any `ObjectAPI`: the HTTP client
out of process, `LocalAPI` on the server's bus in process.

Cached objects are shared: handlers and readers must not mutate them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, NoReturn

import structlog

from orchestrator.aio.backoff import backoff_delay
from orchestrator.model.api import ObjectAPI
from orchestrator.model.errors import ApiError, BadRequest, Forbidden, Unauthorized
from orchestrator.model.registry import REGISTRY, Kind

log = structlog.get_logger(__name__)

Indexer = Callable[[Any], list[str]]
FATAL = (Unauthorized, Forbidden, BadRequest)


def object_key(obj: Any) -> str:
    m = obj.metadata
    return f"{m.namespace}/{m.name}" if m.namespace else m.name


class Handlers:
    """Callbacks; all optional. They run inline in the informer's task: keep them quick."""

    def __init__(self, *, on_add: Callable[[Any], None] | None = None,
                 on_update: Callable[[Any, Any], None] | None = None,
                 on_delete: Callable[[Any], None] | None = None) -> None:
        self.on_add, self.on_update, self.on_delete = on_add, on_update, on_delete


class Informer:
    def __init__(self, api: ObjectAPI, kind: Kind | str, *, namespace: str = "", label_selector: str = "",
                 field_selector: str = "", indexers: dict[str, Indexer] | None = None) -> None:
        self.api = api
        self.kind = kind if isinstance(kind, Kind) else REGISTRY.lookup(kind)
        self.namespace, self.label_selector, self.field_selector = namespace, label_selector, field_selector
        self.cache: dict[str, Any] = {}
        self._indexers = indexers or {}
        self._indexes: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in self._indexers}
        self._handlers: list[Handlers] = []
        self.synced = asyncio.Event()
        self.resource_version = ""

    def add_handlers(self, handlers: Handlers) -> None:
        self._handlers.append(handlers)

    # ---- reads -------------------------------------------------------------------------

    def get(self, name: str, namespace: str = "") -> Any | None:
        return self.cache.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> list[Any]:
        return list(self.cache.values())

    def by_index(self, index: str, value: str) -> list[Any]:
        return list(self._indexes[index].get(value, {}).values())

    # ---- the loop ----------------------------------------------------------------------

    async def run(self) -> NoReturn:
        attempt = 0
        while True:
            try:
                await self._list_and_watch()
            except FATAL:
                raise
            except ApiError as exc:
                log.info("informer restarting", kind=self.kind.kind, reason=str(exc))
            except (OSError, asyncio.TimeoutError) as exc:
                log.info("informer restarting", kind=self.kind.kind, reason=repr(exc))
            await asyncio.sleep(backoff_delay(attempt, base=0.1, cap=5.0))
            attempt += 1

    async def _list_and_watch(self) -> None:
        page = await self.api.list(self.kind, namespace=self.namespace, label_selector=self.label_selector,
                                   field_selector=self.field_selector)
        self._replace(page.items)
        self.resource_version = page.resource_version
        self.synced.set()
        stream = self.api.watch(self.kind, namespace=self.namespace, label_selector=self.label_selector,
                                field_selector=self.field_selector, resource_version=page.resource_version,
                                known=list(self.cache.values()))
        try:
            async for ev in stream:
                if ev.type == "BOOKMARK":
                    continue
                if ev.type == "DELETED":
                    self._delete(ev.object)
                else:
                    self._upsert(ev.object)
                rv = getattr(getattr(ev.object, "metadata", None), "resource_version", "")
                if rv:
                    self.resource_version = rv
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def _replace(self, items: list[Any]) -> None:
        fresh = {object_key(o): o for o in items}
        for key in [k for k in self.cache if k not in fresh]:
            self._delete(self.cache[key])
        for obj in fresh.values():
            self._upsert(obj)

    def _upsert(self, obj: Any) -> None:
        key = object_key(obj)
        old = self.cache.get(key)
        if old is not None and old.metadata.resource_version == obj.metadata.resource_version:
            return
        if old is not None:
            self._unindex(key, old)
        self.cache[key] = obj
        self._index(key, obj)
        for h in self._handlers:
            if old is None:
                if h.on_add:
                    h.on_add(obj)
            elif h.on_update:
                h.on_update(old, obj)

    def _delete(self, obj: Any) -> None:
        key = object_key(obj)
        old = self.cache.pop(key, None)
        if old is None:
            return
        self._unindex(key, old)
        for h in self._handlers:
            if h.on_delete:
                h.on_delete(old)

    def _index(self, key: str, obj: Any) -> None:
        for name, fn in self._indexers.items():
            for value in fn(obj):
                self._indexes[name].setdefault(value, {})[key] = obj

    def _unindex(self, key: str, obj: Any) -> None:
        for name, fn in self._indexers.items():
            for value in fn(obj):
                bucket = self._indexes[name].get(value)
                if bucket is not None:
                    bucket.pop(key, None)
                    if not bucket:
                        del self._indexes[name][value]
