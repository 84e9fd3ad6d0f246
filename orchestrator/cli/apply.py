"""`orch apply -f FILE|DIR|-`: check every document first, then create or configure each.

Nothing is written unless every document decodes and validates. Namespaces go first.
Each object: GET; missing -> POST; present -> three-way merge (merging.py) and PUT with
the live resourceVersion, re-read and retried on 409 Conflict. Errors on one object are
reported and the rest still applied; the exit code says whether all went well.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from orchestrator.cli import merging, waiting
from orchestrator.cli.common import add_client_flags, add_namespace_flags, namespace_of, out, run_client
from orchestrator.cli.manifests import Manifest, apply_order, load_manifests, resource_label
from orchestrator.cli.printing import as_dict
from orchestrator.client import Client, Unreachable
from orchestrator.model.codec import convert
from orchestrator.model.errors import ApiError, Conflict, NotFound

CONFLICT_RETRIES = 5


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("apply", help="create or update objects from YAML/JSON manifests",
                       description="Create or update objects from manifests. Every document is checked "
                                   "before anything is written; namespaces are applied first.")
    p.add_argument("-f", "--filename", action="append", required=True, metavar="FILE|DIR|-",
                   help="a manifest file, a directory of them (*.yaml, *.yml, *.json) or - for stdin; repeatable")
    p.add_argument("--dry-run", action="store_true", help="check and say what would happen; write nothing")
    p.add_argument("--wait", action="store_true",
                   help="after applying, follow the objects until they are up (deployments available, jobs "
                        "complete, pods running and ready), printing progress; exit 1 on failure or timeout")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds --wait waits at most (default 300)")
    add_namespace_flags(p)
    add_client_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    manifests = apply_order(load_manifests(args.filename, namespace=namespace_of(args),
                                           explicit_namespace=args.namespace is not None))
    return run_client(args, lambda client, a: _apply_all(client, a, manifests))


async def _apply_all(client: Client, args: argparse.Namespace, manifests: list[Manifest]) -> int:
    failed = 0
    applied: list[tuple[Manifest, str]] = []
    for m in manifests:
        try:
            outcome, name = await apply_one(client, m, dry_run=args.dry_run)
        except Unreachable:
            raise
        except ApiError as exc:
            failed += 1
            print(f"Error from server ({exc.reason}): error when applying {m.label} from {m.doc.where()}: "
                  f"{exc.message}", file=sys.stderr)
            continue
        out(f"{resource_label(m.kind, name)} {outcome}{' (dry run)' if args.dry_run else ''}")
        applied.append((m, name))
    if args.wait and not args.dry_run and not failed:
        return await waiting.wait_until_up(client, [(m.kind, m.obj.metadata.namespace, name) for m, name in applied],
                                           timeout=args.timeout)
    return 1 if failed else 0


async def apply_one(client: Client, m: Manifest, *, dry_run: bool = False) -> tuple[str, str]:
    """(outcome, name): created / configured / unchanged."""
    desired = merging.desired_config(as_dict(m.obj, m.kind))
    meta = m.obj.metadata
    for attempt in range(CONFLICT_RETRIES):
        live: dict[str, Any] | None = None
        if meta.name:
            try:
                live = as_dict(await client.get(m.kind, meta.name, namespace=meta.namespace), m.kind)
            except NotFound:
                live = None
        outcome, body = merging.plan_apply(live=live, desired=desired)
        if outcome == merging.UNCHANGED or dry_run or body is None:
            return outcome, meta.name or meta.generate_name
        obj = convert(body, m.kind.type, kind=m.kind.kind)
        try:
            if outcome == merging.CREATE:
                made = await client.create(obj)
            else:
                made = await client.update(obj)
        except Conflict as exc:
            if attempt + 1 == CONFLICT_RETRIES or (outcome == merging.CREATE and exc.reason != "AlreadyExists"):
                raise
            continue  # someone wrote in between: read again and merge again
        return outcome, made.metadata.name
    raise AssertionError("unreachable")

