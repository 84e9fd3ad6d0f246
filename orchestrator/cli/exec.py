"""`orch exec [-i] [-t] POD [-c CONTAINER] [-n NS] -- COMMAND [ARGS...]`: run a command in a container.

As `kubectl exec`: the command runs in the pod's container (the first one unless -c names
one), its output is printed as it comes, and orch exits with the command's exit code.
Without -i the output is collected by the node and comes at the end (stdout and stderr
as one stream).  -i streams this process's stdin to the command (its end closes the
command's stdin) and the output back as it is written; -t also gives the command a tty
and puts the local terminal in raw mode, following its size (SIGWINCH).  -t without a
terminal on stdin is dropped with a warning, as kubectl does.  Errors (no such pod,
container not running, ...) print a message and exit 1.

Everything after `--` is the command, flags included. argparse hands the words after
POD over as they are, so flags written between POD and `--` are parsed here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from orchestrator.cli import terminal
from orchestrator.cli.common import (CliError, add_client_flags, add_namespace_flags, namespace_of, pod_name,
                                     run_client)
from orchestrator.client import Client, ExecSession
from orchestrator.model.exec_protocol import STDERR

USAGE = "orch exec [-i] [-t] POD [-c CONTAINER] [-n NAMESPACE] -- COMMAND [ARGS...]"
NO_TERMINAL = "Unable to use a TTY - input is not a terminal"


def _add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--container", default="", help="the container (default: the pod's first)")
    p.add_argument("-i", "--stdin", action="store_true", help="pass stdin to the command")
    p.add_argument("-t", "--tty", action="store_true", help="give the command a tty (with -i: an interactive shell)")
    add_namespace_flags(p)
    add_client_flags(p)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("exec", help="run a command in a container of a pod", usage=USAGE,
                       description="Run a command in a pod's container (the first one unless -c names one), "
                                   "print its output and exit with its exit code; -i passes stdin, -it gives a shell.")
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



def run(args: argparse.Namespace) -> int:
    command = split_command(args)
    if not args.pod:
        raise CliError(f"orch exec needs a pod: {USAGE}")
    if not command:
        raise CliError(f"orch exec needs a command: {USAGE}")
    name = pod_name(args.pod, what="orch exec runs commands in pods")
    tty = args.tty and args.stdin and sys.stdin.isatty()
    if args.tty and not tty:
        print(NO_TERMINAL, file=sys.stderr)
    if args.stdin:
        return run_client(args, lambda client, a: _interactive(client, a, name=name, command=command, tty=tty))
    return run_client(args, lambda client, a: _exec(client, a, name=name, command=command))


def _write(channel: int, data: bytes) -> None:
    stream = sys.stderr.buffer if channel == STDERR else sys.stdout.buffer
    stream.write(data)
    stream.flush()


async def _exec(client: Client, args: argparse.Namespace, *, name: str, command: list[str]) -> int:
    result = await client.exec(name, command, namespace=namespace_of(args), container=args.container,
                               on_output=_write)
    return result.exit_code


async def _interactive(client: Client, args: argparse.Namespace, *, name: str, command: list[str], tty: bool) -> int:
    fd = sys.stdin.fileno()
    async with client.exec_session(name, command, namespace=namespace_of(args), container=args.container,
                                   stdin=True, tty=tty) as session:
        with terminal.raw_mode(fd) if tty else contextlib.nullcontext():  # only once connected: errors print plainly
            async with asyncio.TaskGroup() as tg:
                feeding = tg.create_task(_feed(session, fd), name="exec-stdin")
                sizing = tg.create_task(_follow_size(session, fd), name="exec-resize") if tty else None
                try:
                    result = await session.wait(_write)
                finally:  # the command has ended: what is still typed has nowhere to go
                    feeding.cancel()
                    if sizing is not None:
                        sizing.cancel()
    return result.exit_code


async def _feed(session: ExecSession, fd: int) -> None:
    try:
        async for data in terminal.read_chunks(fd):
            await session.write_stdin(data)
        await session.close_stdin()
    except ConnectionError:
        pass  # the server closed: the command has ended


async def _follow_size(session: ExecSession, fd: int) -> None:
    """The terminal's size now, and again each time it changes (SIGWINCH)."""
    loop, changed = asyncio.get_running_loop(), asyncio.Event()
    loop.add_signal_handler(signal.SIGWINCH, changed.set)
    try:
        while True:
            cols, rows = terminal.size(fd)
            await session.resize(cols=cols, rows=rows)
            await changed.wait()
            changed.clear()
    except ConnectionError:
        pass  # the server closed: the command has ended
    finally:
        loop.remove_signal_handler(signal.SIGWINCH)
