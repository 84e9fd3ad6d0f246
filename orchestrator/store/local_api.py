"""ObjectAPI in process: the server's controllers and scheduler, on the store and bus directly.

Same semantics as the HTTP API (every write goes through `Objects`), minus HTTP and JSON:
reads come from the store's cache, watches from the bus. Returned objects are shared
with the cache: read-only (copy with `model.base.clone` before changing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.model import codec
from orchestrator.model.api import WatchEvent
from orchestrator.model.base import Object, clone
from orchestrator.model.errors import BadRequest, TooManyRequests
from orchestrator.model.registry import REGISTRY, Kind
from orchestrator.store.events import ADDED
from orchestrator.store.filtering import compile_predicate, transition
from orchestrator.store.objects import JSON_PATCH, Objects


@dataclass(slots=True)
class LocalList:
    items: list[Any] = field(default_factory=list)
    resource_version: str = ""
    continue_: str = ""


def _kind(kind: Kind | str) -> Kind:
    return kind if isinstance(kind, Kind) else REGISTRY.lookup(kind)


class LocalAPI:
    def __init__(self, objects: Objects) -> None:
        self.objects = objects
        self.store = objects.store

    async def get(self, kind: Kind | str, name: str, *, namespace: str = "") -> Any:
        k = _kind(kind)
        return self.objects.get(k, namespace if k.namespaced else "", name).obj

    async def list(self, kind: Kind | str, *, namespace: str = "", label_selector: str = "",
                   field_selector: str = "", limit: int = 0, continue_: str = "",
                   resource_version: str = "") -> LocalList:
        k = _kind(kind)
        entries, rv, cont, _ = self.objects.list(k, namespace if k.namespaced else "", label_selector=label_selector,
                                                 field_selector=field_selector, limit=limit, continue_=continue_)
        return LocalList(items=[e.obj for e in entries], resource_version=str(rv), continue_=cont)

    async def create(self, obj: Object) -> Any:
        k = REGISTRY.by_kind(obj.kind or type(obj).__name__)
        return (await self.objects.create(k, clone(obj), namespace=obj.metadata.namespace)).obj

    async def update(self, obj: Object) -> Any:
        k = REGISTRY.by_kind(obj.kind or type(obj).__name__)
        return (await self.objects.update(k, clone(obj), namespace=obj.metadata.namespace,
                                          name=obj.metadata.name)).obj

    async def update_status(self, obj: Object) -> Any:
        k = REGISTRY.by_kind(obj.kind or type(obj).__name__)
        return (await self.objects.update(k, clone(obj), namespace=obj.metadata.namespace, name=obj.metadata.name,
                                          subresource="status")).obj

    async def patch(self, kind: Kind | str, name: str, patch: Any, *, namespace: str = "",
                    patch_type: str = "merge", subresource: str = "") -> Any:
        k = _kind(kind)
        ctype = JSON_PATCH if patch_type == "json" else "application/merge-patch+json"
        if subresource == "scale":
            entry = await self.objects.patch(k, namespace=namespace, name=name, content_type=ctype,
                                             body=codec.encode({"spec": {"replicas": patch["spec"]["replicas"]}}))
            return entry.obj
        if subresource not in ("", "status", "finalize"):
            raise BadRequest(f"subresource {subresource!r} cannot be patched")
        entry = await self.objects.patch(k, namespace=namespace if k.namespaced else "", name=name,
                                         body=codec.encode(patch), content_type=ctype, subresource=subresource)
        return entry.obj

    async def delete(self, kind: Kind | str, name: str, *, namespace: str = "",
                     propagation_policy: str | None = None, grace_period_seconds: int | None = None) -> Any:
        k = _kind(kind)
        entry, _ = await self.objects.delete(k, namespace=namespace if k.namespaced else "", name=name,
                                             propagation_policy=propagation_policy or "",
                                             grace_period_seconds=grace_period_seconds)
        return entry.obj

    async def bind(self, namespace: str, pod_name: str, node_name: str, *, expected_rv: str = "",
                   annotations: dict[str, str] | None = None) -> None:
        await self.objects.bind(namespace=namespace, name=pod_name, node_name=node_name, expected_rv=expected_rv,
                                annotations=annotations or None)

    async def watch(self, kind: Kind | str, *, namespace: str = "", label_selector: str = "",
                    field_selector: str = "", resource_version: str = "",
                    known: Iterable[Any] = ()) -> AsyncIterator[WatchEvent]:
        """Like the HTTP watch. A watcher that falls behind resumes from its last revision by
        itself; Gone (410: that revision was compacted) is raised for the caller to re-list."""
        k = _kind(kind)
        prefix = k.prefix(namespace if k.namespaced else "")
        match = compile_predicate(label_selector=label_selector, field_selector=field_selector)
        since: int | None = None
        if resource_version not in ("", "0"):
            try:
                since = int(resource_version)
            except ValueError:
                raise BadRequest(f"resourceVersion={resource_version!r} must be an integer") from None
        if since is None:
            entries, since = self.store.list(prefix, match)
            for e in entries:
                yield WatchEvent(ADDED, e.obj)
        while True:
            stream = self.store.watch(prefix, since)
            try:
                async for ev in stream:
                    since = ev.rv
                    shown = ev.type if match is None else transition(ev, match)
                    if shown is not None:
                        yield WatchEvent(shown, ev.obj)
            except TooManyRequests:
                continue  # fell behind: resume from the last revision delivered
            finally:
                await stream.aclose()  # type: ignore[attr-defined]
