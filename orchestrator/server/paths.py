"""Kubernetes API paths -> (kind, namespace, name, subresource).

One parser instead of dozens of aiohttp routes: `/api/v1/...` and
`/apis/GROUP/VERSION/...` are each one catch-all route, and this module reads the rest:

    namespaces/NS/PLURAL[/NAME[/SUB]]   namespaced kinds
    PLURAL[/NAME[/SUB]]                 cluster-scoped kinds, or a namespaced kind across all namespaces
    namespaces[/NAME[/status|finalize]] the Namespace kind itself
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.model.errors import NotFound
from orchestrator.model.registry import REGISTRY, Kind


@dataclass(frozen=True, slots=True)
class ResourcePath:
    kind: Kind
    namespace: str = ""
    name: str = ""
    subresource: str = ""


def parse(group: str, version: str, rest: str) -> ResourcePath:
    if version != "v1":
        raise NotFound(f'the server could not find the requested resource (version "{version}")')
    parts = [p for p in rest.split("/") if p]
    if not parts:
        raise NotFound("the server could not find the requested resource")
    namespace = ""
    if parts[0] == "namespaces" and len(parts) >= 3 and parts[2] not in ("status", "finalize"):
        namespace, parts = parts[1], parts[2:]
    if len(parts) > 3:
        raise NotFound(f"the server could not find the requested resource ({'/'.join(parts)})")
    kind = REGISTRY.by_resource(group, parts[0])
    if namespace and not kind.namespaced:
        raise NotFound(f'the server could not find the requested resource: {kind.plural} are not namespaced')
    name = parts[1] if len(parts) > 1 else ""
    sub = parts[2] if len(parts) > 2 else ""
    if sub and sub not in kind.subresources and not (kind.kind == "Namespace" and sub == "finalize"):
        raise NotFound(f'the server could not find the requested resource ({kind.plural}/{sub})')
    if kind.namespaced and name and not namespace:
        raise NotFound(f"the server could not find the requested resource: {kind.plural} are namespaced; "
                       f"use /namespaces/NAMESPACE/{kind.plural}/{name}")
    return ResourcePath(kind=kind, namespace=namespace, name=name, subresource=sub)
