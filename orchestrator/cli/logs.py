"""`orch logs POD [-c CONTAINER] [-f] [--tail N] [-p] [--timestamps] [--since D | --since-time T] [-n NS]`.

A pod's container output. Bytes go to stdout as they arrive (the server proxies them
from the pod's agent), so `orch logs -f` behaves in a pipe. `POD` may be written
`pod/NAME` or `pods/NAME`. `--since` takes a Go/kubectl duration and is sent as whole
seconds, rounded up as kubectl does; the agent counts them back on its own clock.
"""

from __future__ import annotations

import argparse
import math
import re
import sys

from orchestrator.cli.common import (CliError, add_client_flags, add_namespace_flags, namespace_of, pod_name,
                                     run_client)
from orchestrator.client import Client
from orchestrator.model.log_options import parse_rfc3339

# Go's time.ParseDuration units, which kubectl's --since accepts.
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)")


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
    p.add_argument("--timestamps", action="store_true",
                   help="start each line with its RFC 3339 time (docker and sim runtimes)")
    p.add_argument("--since", default="", metavar="DURATION",
                   help="only lines newer than this: 10s, 5m, 1h, 1h30m (not with --since-time)")
    p.add_argument("--since-time", default="", metavar="RFC3339",
                   help="only lines written at or after this time, e.g. 2026-11-28T18:00:00Z")
    add_namespace_flags(p)
    add_client_flags(p)
    p.set_defaults(handler=run)



def parse_since(text: str) -> int:
    """Whole seconds (rounded up, at least 1) of a duration like `10s`, `1h30m`, `1.5h`, `500ms`."""
    pos, total = 0, 0.0
    for m in _PART.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if not text or pos != len(text) or total <= 0:
        raise CliError(f"--since {text!r}: expected a positive duration like 10s, 5m, 1h or 1h30m")
    return max(math.ceil(total - 1e-9), 1)  # the slack keeps float noise (0.1h) from adding a second


def check_since_time(text: str) -> str:
    try:
        parse_rfc3339(text)
    except ValueError as exc:
        raise CliError(f"--since-time: {exc}") from None
    return text


def run(args: argparse.Namespace) -> int:
    if not args.pod:
        raise CliError("orch logs needs a pod: orch logs POD [-c CONTAINER]")
    if args.since and args.since_time:
        raise CliError("give at most one of --since and --since-time")
    since_seconds = parse_since(args.since) if args.since else None
    since_time = check_since_time(args.since_time) if args.since_time else None
    name = pod_name(args.pod, what="orch logs reads pods")
    container = args.container or args.container_arg
    if args.container and args.container_arg and args.container != args.container_arg:
        raise CliError("give the container once: either -c or as the second argument")
    return run_client(args, lambda client, a: _logs(client, a, name=name, container=container,
                                                    since_seconds=since_seconds, since_time=since_time))


async def _logs(client: Client, args: argparse.Namespace, *, name: str, container: str,
                since_seconds: int | None, since_time: str | None) -> int:
    tail = args.tail if args.tail >= 0 else None
    out = sys.stdout.buffer
    async for chunk in client.logs(name, namespace=namespace_of(args), container=container, follow=args.follow,
                                   tail_lines=tail, previous=args.previous, timestamps=args.timestamps,
                                   since_seconds=since_seconds, since_time=since_time):
        out.write(chunk)
        out.flush()
    return 0
