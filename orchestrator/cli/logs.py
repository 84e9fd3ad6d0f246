"""`orch logs POD [-c CONTAINER] [-f] [--tail N] [-p] [-n NS]`: a pod's container output.

Bytes go to stdout as they arrive (the server proxies them from the pod's agent), so
`orch logs -f` behaves in a pipe. `POD` may be written `pod/NAME` or `pods/NAME`.
"""

from __future__ import annotations

import argparse
import sys

from orchestrator.cli.common import CliError, add_client_flags, add_namespace_flags, namespace_of, run_client
from orchestrator.client import Client


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("logs", help="print the logs of a container in a pod",
                       description="Print the output of a pod's container (the first one unless -c names one).")
    p.add_argument("pod", nargs="?", default="", metavar="POD", help="the pod (NAME, pod/NAME)")
    p.add_argument("container_arg", nargs="?", default="", metavar="CONTAINER",
                   help="the container (same as -c)")
    p.add_argument("-c", "--container", default="", help="the container (default: the pod's first)")
    p.add_argument("-f", "--follow", action="store_true", help="keep streaming new output")
    p.add_argument("--tail", type=int, default=-1, help="only the last N lines (default: all)")
    p.add_argument("-p", "--previous", action="store_true",
                   help="the previous attempt of the container (after a restart)")
    p.add_argument("--timestamps", action="store_true", help="ask for timestamps (when the agent can give them)")
    add_namespace_flags(p)
    add_client_flags(p)
    p.set_defaults(handler=run)


def pod_name(text: str) -> str:
    kind, sep, name = text.partition("/")
    if not sep:
        return text
    if kind not in ("pod", "pods", "po") or not name:
        raise CliError(f"orch logs reads pods; {text!r} is not a pod (write NAME or pod/NAME)")
    return name


def run(args: argparse.Namespace) -> int:
    if not args.pod:
        raise CliError("orch logs needs a pod: orch logs POD [-c CONTAINER]")
    name = pod_name(args.pod)
    container = args.container or args.container_arg
    if args.container and args.container_arg and args.container != args.container_arg:
        raise CliError("give the container once: either -c or as the second argument")
    return run_client(args, lambda client, a: _logs(client, a, name=name, container=container))


async def _logs(client: Client, args: argparse.Namespace, *, name: str, container: str) -> int:
    tail = args.tail if args.tail >= 0 else None
    out = sys.stdout.buffer
    async for chunk in client.logs(name, namespace=namespace_of(args), container=container, follow=args.follow,
                                   tail_lines=tail, previous=args.previous, timestamps=args.timestamps):
        out.write(chunk)
        out.flush()
    return 0
