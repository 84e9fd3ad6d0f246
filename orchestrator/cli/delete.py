"""`orch delete KIND NAME... | -f FILE`: delete objects, prints `pod "web" deleted` like kubectl."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from orchestrator.cli.common import (CliError, add_client_flags, add_namespace_flags, check_selectors,
                                     namespace_of, out, run_client, split_targets)
from orchestrator.cli.manifests import load_manifests
from orchestrator.client import Client, Unreachable
from orchestrator.model.errors import ApiError, NotFound
from orchestrator.model.registry import Kind

CASCADE = {"background": "Background", "foreground": "Foreground", "orphan": "Orphan",
           "true": "Background", "false": "Orphan"}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("delete", help="delete objects by name, by label selector, or as in manifests",
                       description="Delete objects: KIND NAME..., KIND/NAME..., KIND -l SELECTOR, or -f FILE.")
    p.add_argument("targets", nargs="*", metavar="KIND NAME...")
    p.add_argument("-f", "--filename", action="append", default=[], metavar="FILE|DIR|-",
                   help="delete the objects these manifests describe")
    add_namespace_flags(p)
    p.add_argument("-l", "--selector", default="", help="delete the objects of KIND this selector matches")
    p.add_argument("--all", action="store_true", help="delete every object of KIND in the namespace")
    p.add_argument("--cascade", default="background", choices=sorted(CASCADE),
                   help="what happens to dependents: background (default), foreground, orphan")
    p.add_argument("--grace-period", type=int, default=None, help="seconds pods get to stop")
    p.add_argument("--ignore-not-found", action="store_true", help="a missing object is not an error")
    p.add_argument("--wait", action="store_true", help="return once the objects are gone")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds --wait waits (default 60)")
    add_client_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    check_selectors(label_selector=args.selector)
    if args.filename and args.targets:
        raise CliError("give either -f FILE or KIND NAME..., not both")
    if args.filename:
        manifests = load_manifests(args.filename, namespace=namespace_of(args),
                                   explicit_namespace=args.namespace is not None, validate=False)
        # The reverse of apply's order: what lives in a namespace before the namespace.
        todo = [(m.kind, m.obj.metadata.namespace, m.obj.metadata.name)
                for m in sorted(reversed(manifests), key=lambda m: m.kind.kind == "Namespace")]
        return run_client(args, lambda client, a: _delete(client, a, todo))
    targets = split_targets(args.targets)
    if any(not names for _, names in targets) and not (args.selector or args.all):
        raise CliError("resource(s) were provided, but no name was specified: give names, -l SELECTOR or --all")
    return run_client(args, lambda client, a: _by_targets(client, a, targets))


async def _by_targets(client: Client, args: argparse.Namespace, targets: list[tuple[Kind, list[str]]]) -> int:
    ns = namespace_of(args)
    todo: list[tuple[Kind, str, str]] = []
    for kind, names in targets:
        kns = ns if kind.namespaced else ""
        if names:
            todo.extend((kind, kns, n) for n in names)
            continue
        listed = await client.list_all(kind, namespace=kns, label_selector=args.selector)
        todo.extend((kind, kns, o.metadata.name) for o in listed.items)
    if not todo:
        print(f"No resources found in {ns} namespace." if any(k.namespaced for k, _ in targets)
              else "No resources found", file=sys.stderr)
    return await _delete(client, args, todo)


async def _delete(client: Client, args: argparse.Namespace, todo: list[tuple[Kind, str, str]]) -> int:
    failed = False
    gone: list[tuple[Kind, str, str]] = []
    for kind, ns, name in todo:
        label = f"{kind.kind.lower()}{'.' + kind.group if kind.group else ''}"
        try:
            await client.delete(kind, name, namespace=ns, propagation_policy=CASCADE[args.cascade],
                                grace_period_seconds=args.grace_period)
        except NotFound as exc:
            if not args.ignore_not_found:
                print(f"Error from server (NotFound): {exc.message}", file=sys.stderr)
                failed = True
            continue
        except Unreachable:
            raise
        except ApiError as exc:
            print(f"Error from server ({exc.reason}): {exc.message}", file=sys.stderr)
            failed = True
            continue
        out(f'{label} "{name}" deleted')
        gone.append((kind, ns, name))
    if args.wait and gone and not await _wait_gone(client, gone, timeout=args.timeout):
        failed = True
    return 1 if failed else 0


async def _wait_gone(client: Client, objs: list[tuple[Kind, str, str]], *, timeout: float) -> bool:
    """Poll until each object is NotFound (finalizers and foreground deletion take a while)."""
    deadline = time.monotonic() + timeout
    pending = list(objs)
    delay = 0.1
    while pending:
        still = []
        for kind, ns, name in pending:
            try:
                await client.get(kind, name, namespace=ns)
                still.append((kind, ns, name))
            except NotFound:
                pass
        pending = still
        if not pending:
            return True
        if time.monotonic() >= deadline:
            names = ", ".join(f"{k.kind.lower()}/{n}" for k, _, n in pending)
            print(f"error: timed out after {timeout:g}s waiting for {names} to be deleted", file=sys.stderr)
            return False
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)
    return True
