"""`orch get KIND [NAME...]`: tables like kubectl's, or YAML / JSON / names; `-w` follows changes."""

from __future__ import annotations

import argparse
import sys
from contextlib import aclosing
from typing import Any

from orchestrator.cli import printing
from orchestrator.cli.common import (CliError, add_client_flags, get_named, add_namespace_flags, check_selectors, env,
                                     namespace_of, out, run_client, split_targets)
from orchestrator.model.tables import format_row, render
from orchestrator.client import Client
from orchestrator.model.registry import Kind


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("get", help="list objects, or show some by name",
                       description="Show objects as a table (kubectl's columns), YAML, JSON or names. "
                                   "KIND is any name of a kind: pods, pod, po, Pod, deploy, rs, ds, no, ns...; "
                                   "several with commas (pods,deploy) or `all`; or KIND/NAME.")
    p.add_argument("targets", nargs="+", metavar="KIND [NAME...]")
    add_namespace_flags(p, all_namespaces=True)
    p.add_argument("-l", "--selector", default=env("ORCH_SELECTOR"), help="label selector (app=web,tier!=db)")
    p.add_argument("--field-selector", default="", help="field selector (spec.nodeName=n1, status.phase=Running)")
    p.add_argument("-o", "--output", choices=printing.OUTPUTS, default=env("ORCH_OUTPUT") or None)
    p.add_argument("-w", "--watch", action="store_true", help="after the list, print each change")
    p.add_argument("--watch-only", action="store_true", help="print changes only, not the current list")
    p.add_argument("--show-labels", action="store_true", help="add a LABELS column")
    add_client_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    targets = split_targets(args.targets)
    check_selectors(label_selector=args.selector, field_selector=args.field_selector)
    watching = args.watch or args.watch_only
    if watching and (len(targets) > 1 or len(targets[0][1]) > 1):
        raise CliError("you may only watch one kind, and at most one object of it, at a time")
    return run_client(args, lambda client, a: _get(client, a, targets))


async def _get(client: Client, args: argparse.Namespace, targets: list[tuple[Kind, list[str]]]) -> int:
    namespace = namespace_of(args)
    failed = False
    found: list[tuple[Kind, list[dict[str, Any]], str]] = []
    typed: list[Any] = []  # the first kind's objects as they came (a watch starts from them)
    for kind, names in targets:
        ns = "" if (args.all_namespaces and not names) or not kind.namespaced else namespace
        objs: list[Any] = []
        rv = ""
        if names:
            objs, missing = await get_named(client, kind, names, namespace=ns)
            failed = failed or missing
        else:
            listed = await client.list_all(kind, namespace=ns, label_selector=args.selector,
                                           field_selector=args.field_selector)
            objs, rv = listed.items, listed.resource_version
        typed = typed or objs
        found.append((kind, [printing.as_dict(o, kind) for o in objs], rv))
    widths = _print(found, args, namespace=namespace, asked_names=any(n for _, n in targets))
    if args.watch or args.watch_only:
        kind, names = targets[0]
        await _watch(client, args, kind=kind, name=names[0] if names else "", known=typed,
                     rv=found[0][2], widths=widths, namespace=namespace)
    return 1 if failed else 0


def _print(found: list[tuple[Kind, list[dict[str, Any]], str]], args: argparse.Namespace, *, namespace: str,
           asked_names: bool) -> list[int] | None:
    """Print what was found; the column widths of the (first) table, for watch rows to follow."""
    if args.watch_only:
        return None
    everything = [o for _, items, _ in found for o in items]
    if not everything:
        if not asked_names:
            kind = found[0][0]
            print(printing.no_resources(namespace, all_namespaces=args.all_namespaces,
                                        namespaced=kind.namespaced), file=sys.stderr)
        return None
    if args.output in ("yaml", "json"):
        single = asked_names and len(everything) == 1 and len(found) == 1
        out(printing.render_objects(everything, output=args.output, single=single))
        return None
    if args.output == "name":
        for kind, items, _ in found:
            for line in printing.names(kind, items):
                out(line)
        return None
    widths: list[int] | None = None
    shown = [(kind, items) for kind, items, _ in found if items]
    for i, (kind, items) in enumerate(shown):
        if i:
            out()
        headers, rows = _table(kind, items, args, kind_prefix=len(found) > 1)
        w = [0] * len(headers)
        for line in render(headers, rows, widths=w):
            out(line)
        widths = widths or w
    return widths


def _table(kind: Kind, items: list[dict[str, Any]], args: argparse.Namespace,
           *, kind_prefix: bool = False) -> tuple[list[str], list[list[str]]]:
    headers, rows = printing.table(kind, items, wide=args.output == "wide", all_namespaces=args.all_namespaces,
                                   kind_prefix=kind_prefix)
    if args.show_labels:
        headers.append("LABELS")
        for row, obj in zip(rows, items, strict=True):
            labels = (obj.get("metadata") or {}).get("labels") or {}
            row.append(",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "<none>")
    return headers, rows


async def _watch(client: Client, args: argparse.Namespace, *, kind: Kind, name: str, known: list[Any],
                 rv: str, widths: list[int] | None, namespace: str) -> None:
    ns = "" if (args.all_namespaces and not name) or not kind.namespaced else namespace
    field_selector = ",".join(s for s in (args.field_selector, f"metadata.name={name}" if name else "") if s)
    if not rv:  # named objects were fetched one by one: take a revision to start from
        rv = (await client.list(kind, namespace=ns, field_selector=field_selector, limit=1)).resource_version
    events = client.watch(kind, namespace=ns, label_selector=args.selector, field_selector=field_selector,
                          resource_version=rv, known=known)
    async with aclosing(events) as stream:
        async for ev in stream:
            obj = printing.as_dict(ev.object, kind)
            if args.output in ("yaml", "json"):
                text = printing.dump_yaml(obj) if args.output == "yaml" else printing.dump_json(obj)
                out(("---\n" + text.rstrip("\n")) if args.output == "yaml" else text)
                continue
            if args.output == "name":
                out(printing.names(kind, [obj])[0])
                continue
            headers, rows = _table(kind, [obj], args)
            if widths is None:
                widths = [0] * len(headers)
                render(headers, rows, widths=widths)
                out(format_row(headers, widths))
            for row in rows:
                for i, cell in enumerate(row):
                    widths[i] = max(widths[i], len(cell))
                out(format_row(row, widths))

