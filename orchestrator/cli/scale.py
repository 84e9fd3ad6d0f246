"""`orch scale deploy/NAME --replicas N` (also replicasets): set replicas through `/scale`."""

from __future__ import annotations

import argparse

from orchestrator.cli.common import (CliError, add_client_flags, add_namespace_flags, namespace_of, out, run_client,
                                     split_targets)
from orchestrator.client import Client
from orchestrator.model.registry import Kind


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("scale", help="set the number of replicas of a Deployment or ReplicaSet",
                       description="Set replicas: orch scale deploy/NAME --replicas N (or: scale deploy NAME ...).")
    p.add_argument("targets", nargs="*", metavar="KIND/NAME")
    p.add_argument("--replicas", type=int, default=None, help="the new number of replicas (required)")
    add_namespace_flags(p)
    add_client_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.replicas is None or args.replicas < 0:
        raise CliError("--replicas N is required (0 or more)")
    targets = split_targets(args.targets)
    for kind, names in targets:
        if "scale" not in kind.subresources:
            raise CliError(f"{kind.plural} cannot be scaled")
        if not names:
            raise CliError("give the name of what to scale: KIND/NAME")
    return run_client(args, lambda client, a: scale(client, a, targets))


async def scale(client: Client, args: argparse.Namespace, targets: list[tuple[Kind, list[str]]]) -> int:
    ns = namespace_of(args)
    for kind, names in targets:
        for name in names:
            await client.scale(kind, name, args.replicas, namespace=ns)
            out(f"{kind.kind.lower()}{'.' + kind.group if kind.group else ''}/{name} scaled")
    return 0
