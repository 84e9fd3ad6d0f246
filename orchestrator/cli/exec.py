"""`orch exec POD [-c CONTAINER] [-n NS] -- COMMAND [ARGS...]`: run a command in a container.

Non-interactive, like `kubectl exec POD -- CMD` without -i/-t: the command runs to its
end in the pod's container (the first one unless -c names one), its output is printed
(stdout and stderr arrive as one stream), and orch exits with the command's exit code.
Errors (no such pod, container not running, ...) print a message and exit 1.

Everything after `--` is the command, flags included. argparse hands the words after
POD over as they are, so flags written between POD and `--` are parsed here.
"""

from __future__ import annotations

import argparse
import sys

from orchestrator.cli.common import CliError, add_client_flags, add_namespace_flags, namespace_of, run_client
from orchestrator.client import Client
from orchestrator.model.exec_protocol import INTERACTIVE_REFUSED, STDERR

USAGE = "orch exec POD [-c CONTAINER] [-n NAMESPACE] -- COMMAND [ARGS...]"


def _add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--container", default="", help="the container (default: the pod's first)")
    p.add_argument("-i", "--stdin", action="store_true", help="not supported yet (interactive exec)")
    p.add_argument("-t", "--tty", action="store_true", help="not supported yet (interactive exec)")
    add_namespace_flags(p)
    add_client_flags(p)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("exec", help="run a command in a container of a pod", usage=USAGE,
                       description="Run a command in a pod's container (the first one unless -c names one), "
                                   "print its output and exit with its exit code. Non-interactive.")
    p.add_argument("pod", nargs="?", default="", metavar="POD", help="the pod (NAME, pod/NAME)")
    p.add_argument("words", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]", help="the command to run")
    _add_flags(p)
    p.set_defaults(handler=run)


def split_command(args: argparse.Namespace) -> list[str]:
    """The command; flags that came between POD and `--` are set on `args`."""
    words = list(args.words)
    if words[:1] == ["--"]:
        return words[1:]
    if not words or not words[0].startswith("-"):
        return words  # argparse already took the `--` (or none was written: `orch exec web ls`)
    if "--" not in words:
        raise CliError(f"put the command after --: {USAGE}")
    cut = words.index("--")
    flags = argparse.ArgumentParser(prog="orch exec", usage=USAGE, add_help=False)
    _add_flags(flags)
    given, extra = flags.parse_known_args(words[:cut])
    if extra:
        raise CliError(f"unexpected {' '.join(extra)!r} before --: {USAGE}")
    for key, value in vars(given).items():
        if value != flags.get_default(key):
            setattr(args, key, value)
    return words[cut + 1:]


def pod_name(text: str) -> str:
    kind, sep, name = text.partition("/")
    if not sep:
        return text
    if kind not in ("pod", "pods", "po") or not name:
        raise CliError(f"orch exec runs commands in pods; {text!r} is not a pod (write NAME or pod/NAME)")
    return name


def run(args: argparse.Namespace) -> int:
    command = split_command(args)
    if not args.pod:
        raise CliError(f"orch exec needs a pod: {USAGE}")
    if not command:
        raise CliError(f"orch exec needs a command: {USAGE}")
    if args.stdin or args.tty:
        raise CliError(INTERACTIVE_REFUSED)
    name = pod_name(args.pod)
    return run_client(args, lambda client, a: _exec(client, a, name=name, command=command))


async def _exec(client: Client, args: argparse.Namespace, *, name: str, command: list[str]) -> int:
    def write(channel: int, data: bytes) -> None:
        stream = sys.stderr.buffer if channel == STDERR else sys.stdout.buffer
        stream.write(data)
        stream.flush()

    result = await client.exec(name, command, namespace=namespace_of(args), container=args.container,
                               on_output=write)
    return result.exit_code
