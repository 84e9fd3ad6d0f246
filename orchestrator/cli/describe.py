"""`orch describe KIND NAME...`: a readable page per object, with the events about it."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from orchestrator.cli.common import (CliError, add_client_flags, get_named, add_namespace_flags, namespace_of, out,
                                     run_client, split_targets)
from orchestrator.cli.describing import describe, events_for
from orchestrator.cli.printing import as_dict, now_utc
from orchestrator.client import Client
from orchestrator.model.errors import ApiError
from orchestrator.model.registry import REGISTRY, Kind


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("describe", help="show an object in detail, with its events",
                       description="Show objects in detail: metadata, spec and status in sections, "
                                   "and the events about them.")
    p.add_argument("targets", nargs="+", metavar="KIND NAME...")
    add_namespace_flags(p)
    p.add_argument("-l", "--selector", default="", help="describe the objects this label selector matches")
    add_client_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    targets = split_targets(args.targets)
    if len(targets) != 1:
        raise CliError("describe one kind at a time")
    return run_client(args, lambda client, a: _describe(client, a, *targets[0]))


async def _describe(client: Client, args: argparse.Namespace, kind: Kind, names: list[str]) -> int:
    ns = namespace_of(args) if kind.namespaced else ""
    failed = False
    objs: list[Any] = []
    if names:
        objs, failed = await get_named(client, kind, names, namespace=ns)
    else:
        objs = (await client.list_all(kind, namespace=ns, label_selector=args.selector)).items
        if not objs:
            print(f"No resources found in {ns} namespace." if ns else "No resources found", file=sys.stderr)
    events = await _events(client, namespace=ns) if objs else []
    now = now_utc()
    for i, obj in enumerate(objs):
        data = as_dict(obj, kind)
        pods = await _pods_on(client, data["metadata"]["name"]) if kind.kind == "Node" else None
        if i:
            out()
            out()
        out(describe(data, events=events_for(data, events), now=now, pods=pods))
    return 1 if failed else 0


async def _events(client: Client, *, namespace: str) -> list[dict[str, Any]]:
    """Events in the namespace (all namespaces for cluster-scoped objects); filtered by the caller."""
    events = REGISTRY.by_kind("Event")
    try:
        return [as_dict(e, events) for e in (await client.list_all(events, namespace=namespace)).items]
    except ApiError:
        return []  # events are a courtesy: describe the object anyway


async def _pods_on(client: Client, node: str) -> list[dict[str, Any]] | None:
    pods = REGISTRY.by_kind("Pod")
    try:
        listed = await client.list_all(pods, field_selector=f"spec.nodeName={node}")
    except ApiError:
        return None
    return [as_dict(p, pods) for p in listed.items
            if (p.status.phase if hasattr(p, "status") else "") not in ("Succeeded", "Failed")]
