"""The HTTP client: typed CRUD over the Kubernetes-shaped API, every call under a timeout.

Kinds come from the registry (a `Kind` or any name a person types: "po", "deployments");
objects go out and come back as the kind's msgspec type. Non-2xx answers become typed
errors in `responses.check_response` and nowhere else. `watch()` lives in `watching.py`,
`exec()` in `executing.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec

from orchestrator.client import executing, watching
from orchestrator.client.executing import ExecResult, ExecSession, Output
from orchestrator.client.responses import Unreachable, check_response
from orchestrator.model.api import WatchEvent
from orchestrator.model.base import Object
from orchestrator.model.codec import decoder, encode
from orchestrator.model.errors import Status
from orchestrator.model.registry import REGISTRY, Kind

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}


@dataclass(slots=True)
class ObjectList:
    items: list[Any] = field(default_factory=list)
    resource_version: str = ""
    continue_: str = ""


def resolve_kind(kind: Kind | str) -> Kind:
    return kind if isinstance(kind, Kind) else REGISTRY.lookup(kind)


def kind_of(obj: Object) -> Kind:
    """The registry Kind of a typed object (by its `kind` field, else by its type)."""
    if obj.kind:
        return REGISTRY.by_kind(obj.kind)
    for k in REGISTRY.kinds:
        if type(obj) is k.type:
            return k
    raise TypeError(f"{type(obj).__name__} is not a registered kind")


class _ListOf(msgspec.Struct):
    metadata: dict[str, Any] = {}
    items: list[msgspec.Raw] | None = None


class Client:
    """`async with Client(url, token) as c: pod = await c.get("pods", "web", namespace="default")`."""

    def __init__(self, base_url: str, token: str, *, session: aiohttp.ClientSession | None = None,
                 timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self._session = session
        self._owns_session = session is None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        return self._session

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}

    def url(self, path: str) -> str:
        return self.base_url + path

    # --- raw -----------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                      body: bytes | None = None, content_type: str = "application/json",
                      timeout: float | None = None) -> bytes:
        """One call, checked: the 2xx body, or the typed ApiError / Unreachable."""
        headers = self.headers
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            async with asyncio.timeout(timeout or self.timeout):
                async with self.session.request(method, self.url(path), params=_params(params),
                                                data=body, headers=headers) as resp:
                    return await check_response(resp)
        except TimeoutError:
            raise Unreachable(f"{method} {self.url(path)}: no answer within {timeout or self.timeout:g}s") from None
        except aiohttp.ClientConnectionError as exc:
            raise Unreachable(f"the connection to the server {self.base_url} failed: {exc}") from None

    async def request_json(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                           data: Any = None, content_type: str = "application/json",
                           timeout: float | None = None) -> Any:
        body = None if data is None else encode(data)
        raw = await self.request(method, path, params=params, body=body, content_type=content_type, timeout=timeout)
        return msgspec.json.decode(raw) if raw.strip() else None

    # --- typed ---------------------------------------------------------------------------

    async def get(self, kind: Kind | str, name: str, *, namespace: str = "") -> Any:
        k = resolve_kind(kind)
        raw = await self.request("GET", k.api_path(_ns(k, namespace), name))
        return decoder(k.type).decode(raw)

    async def list(self, kind: Kind | str, *, namespace: str = "", label_selector: str = "",
                   field_selector: str = "", limit: int = 0, continue_: str = "",
                   resource_version: str = "") -> ObjectList:
        k = resolve_kind(kind)
        params = {"labelSelector": label_selector, "fieldSelector": field_selector, "limit": limit or "",
                  "continue": continue_, "resourceVersion": resource_version}
        raw = await self.request("GET", k.api_path(namespace if k.namespaced else ""), params=params)
        page = msgspec.json.decode(raw, type=_ListOf)
        dec = decoder(k.type)
        items = [_with_type(dec.decode(r), k) for r in page.items or []]
        return ObjectList(items=items, resource_version=str(page.metadata.get("resourceVersion", "")),
                          continue_=str(page.metadata.get("continue", "") or ""))

    async def list_all(self, kind: Kind | str, *, namespace: str = "", label_selector: str = "",
                       field_selector: str = "", page_size: int = 500) -> ObjectList:
        """Every page of a list; the revision is the first page's (the snapshot the pages share)."""
        first = await self.list(kind, namespace=namespace, label_selector=label_selector,
                                field_selector=field_selector, limit=page_size)
        out = ObjectList(items=list(first.items), resource_version=first.resource_version)
        token = first.continue_
        while token:
            page = await self.list(kind, namespace=namespace, label_selector=label_selector,
                                   field_selector=field_selector, limit=page_size, continue_=token)
            out.items.extend(page.items)
            token = page.continue_
        return out

    async def create(self, obj: Object) -> Any:
        k, obj = _typed(obj)
        raw = await self.request("POST", k.api_path(_ns(k, obj.metadata.namespace)), body=encode(obj))
        return decoder(k.type).decode(raw)

    async def update(self, obj: Object) -> Any:
        """PUT the whole object; Conflict when its resourceVersion is stale."""
        k, obj = _typed(obj)
        raw = await self.request("PUT", k.api_path(_ns(k, obj.metadata.namespace), obj.metadata.name),
                                 body=encode(obj))
        return decoder(k.type).decode(raw)

    async def update_status(self, obj: Object) -> Any:
        k, obj = _typed(obj)
        path = k.api_path(_ns(k, obj.metadata.namespace), obj.metadata.name) + "/status"
        raw = await self.request("PUT", path, body=encode(obj))
        return decoder(k.type).decode(raw)

    async def patch(self, kind: Kind | str, name: str, patch: Any, *, namespace: str = "",
                    patch_type: str = "merge", subresource: str = "") -> Any:
        """A merge patch (a dict) or a JSON patch (a list of operations, patch_type="json")."""
        k = resolve_kind(kind)
        path = k.api_path(_ns(k, namespace), name) + (f"/{subresource}" if subresource else "")
        raw = await self.request("PATCH", path, body=encode(patch), content_type=PATCH_TYPES[patch_type])
        return decoder(k.type).decode(raw) if not subresource else msgspec.json.decode(raw)

    async def delete(self, kind: Kind | str, name: str, *, namespace: str = "",
                     propagation_policy: str | None = None, grace_period_seconds: int | None = None) -> Any:
        """The deleted object (or the one finalizers keep, answered 202), or a Status."""
        k = resolve_kind(kind)
        params = {"propagationPolicy": propagation_policy or "",
                  "gracePeriodSeconds": "" if grace_period_seconds is None else grace_period_seconds}
        raw = await self.request("DELETE", k.api_path(_ns(k, namespace), name), params=params)
        data = msgspec.json.decode(raw) if raw.strip() else {}
        if isinstance(data, dict) and data.get("kind") == "Status":
            return msgspec.convert(data, Status)
        return decoder(k.type).decode(raw) if raw.strip() else None

    async def bind(self, namespace: str, pod_name: str, node_name: str, *, expected_rv: str = "",
                   annotations: dict[str, str] | None = None) -> None:
        """Assign a pod to a node through pods/NAME/binding (the server checks it is unbound and,
        with `expected_rv`, unchanged); `annotations` are copied onto the pod in the same write."""
        meta: dict[str, Any] = {"name": pod_name, "namespace": namespace}
        if expected_rv:
            meta["resourceVersion"] = expected_rv
        if annotations:
            meta["annotations"] = annotations
        binding = {"apiVersion": "v1", "kind": "Binding", "metadata": meta,
                   "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}
        pods = REGISTRY.by_kind("Pod")
        await self.request("POST", pods.api_path(namespace, pod_name) + "/binding", body=encode(binding))

    async def scale(self, kind: Kind | str, name: str, replicas: int, namespace: str = "") -> Any:
        """Set replicas through the scale subresource; answers the Scale (a dict)."""
        return await self.patch(kind, name, {"spec": {"replicas": replicas}}, namespace=namespace,
                                subresource="scale")

    async def logs(self, name: str, *, namespace: str = "default", container: str = "", follow: bool = False,
                   tail_lines: int | None = None, since_seconds: int | None = None, since_time: str | None = None,
                   timestamps: bool = False, previous: bool = False) -> AsyncGenerator[bytes, None]:
        """A pod's log, chunk by chunk (line by line when the server sends lines). With follow,
        only connecting is under the timeout; the stream runs until the pod's log ends.
        since_time is RFC 3339 (e.g. 2026-11-28T18:00:00Z); give it or since_seconds, not both."""
        path = REGISTRY.by_kind("Pod").api_path(namespace, name) + "/log"
        params = {"container": container, "follow": "true" if follow else "",
                  "tailLines": "" if tail_lines is None else tail_lines,
                  "sinceSeconds": "" if since_seconds is None else since_seconds, "sinceTime": since_time,
                  "timestamps": "true" if timestamps else "", "previous": "true" if previous else ""}
        timeout = aiohttp.ClientTimeout(total=None if follow else self.timeout, sock_connect=self.timeout)
        try:
            async with self.session.get(self.url(path), params=_params(params), headers=self.headers,
                                        timeout=timeout) as resp:
                if resp.status >= 300:
                    await check_response(resp)
                async for line in resp.content:
                    yield line
        except (TimeoutError, aiohttp.ClientConnectionError) as exc:
            raise Unreachable(f"reading the log of pod {namespace}/{name}: {exc or 'timed out'}") from None

    async def exec(self, name: str, command: list[str], *, namespace: str = "default", container: str = "",
                   on_output: Output | None = None) -> ExecResult:
        """Run `command` in a pod's container (default: the first) and wait until it ends; the
        exit code, and the output unless `on_output(channel, data)` takes it as it comes.
        Non-interactive: no stdin, no tty. See executing.py for the protocol and errors."""
        return await executing.exec_command(self, name, command, namespace=namespace, container=container,
                                            on_output=on_output)

    def exec_session(self, name: str, command: list[str], *, namespace: str = "default", container: str = "",
                     stdin: bool = False, tty: bool = False) -> AbstractAsyncContextManager[ExecSession]:
        """`async with client.exec_session(...) as s:` an interactive exec: `s.write_stdin`, `s.close_stdin`,
        `s.resize`, and `await s.wait(on_output)` for the result. See executing.py."""
        return executing.exec_session(self, name, command, namespace=namespace, container=container, stdin=stdin,
                                      tty=tty)

    def watch(self, kind: Kind | str, *, namespace: str = "", label_selector: str = "", field_selector: str = "",
              resource_version: str = "", known: Iterable[Any] = ()) -> AsyncGenerator[WatchEvent, None]:
        """Events for a kind over websocket, resumed after drops and re-listed after 410 Gone.

        resource_version "" (or "0"): list first and yield ADDED for what exists, then watch.
        `known`: objects the caller already holds (from its own list), so that a re-list can
        tell it which of them vanished.
        """
        return watching.watch(self, resolve_kind(kind), namespace=namespace, label_selector=label_selector,
                              field_selector=field_selector, resource_version=resource_version, known=known)

    async def version(self) -> dict[str, Any]:
        data = await self.request_json("GET", "/version")
        return data if isinstance(data, dict) else {}


def _params(params: Mapping[str, Any] | None) -> dict[str, str]:
    return {k: str(v) for k, v in (params or {}).items() if v not in ("", None)}


def _ns(kind: Kind, namespace: str) -> str:
    if not kind.namespaced:
        return ""
    return namespace or "default"


def _typed(obj: Object) -> tuple[Kind, Any]:
    """The Kind of an object, and the object with apiVersion/kind filled in (a copy when changed)."""
    k = kind_of(obj)
    return k, _with_type(obj, k)


def _with_type(obj: Any, k: Kind) -> Any:
    if obj.api_version == k.api_version and obj.kind == k.kind:
        return obj
    return msgspec.structs.replace(obj, api_version=k.api_version, kind=k.kind)
