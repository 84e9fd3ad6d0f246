"""The `orch` command: one module per verb group, registered in COMMANDS.

To add a verb: write `orchestrator/cli/<verb>.py` with `register(subparsers)` (add a parser,
`set_defaults(handler=run)`) and add its module name to COMMANDS. Expected errors are
printed the kubectl way and exit 1; only bugs show a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from orchestrator.cli.common import CliError, configure_logging, env
from orchestrator.cli.manifests import ManifestError
from orchestrator.client import ConfigNotFound, Unreachable
from orchestrator.model.errors import ApiError

COMMANDS: list[str] = [
    "server",
    "apply",
    "get",
    "describe",
    "delete",
    "version",
    "agent",
    "token",
    "sim",
    "rollout",
    "scale",
    "cordon",  # cordon, uncordon, drain
    "logs",
    "exec",
    "snapshot",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orch", description="orch: a declarative cluster orchestrator",
        epilog="Every flag has an ORCH_* environment twin (ORCH_SERVER, ORCH_TOKEN, ORCH_NAMESPACE, ...).")
    parser.add_argument("--log-level", default=env("ORCH_LOG_LEVEL", ""),
                        help="debug, info, warning, error (env ORCH_LOG_LEVEL)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"orchestrator.cli.{name}").register(sub)
    return parser


def parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Like parse_args, but flags may sit between positionals as kubectl allows
    (`orch describe pod -n demo web`)."""
    args, extras = parser.parse_known_args(argv)
    if not extras:
        return args
    words = list(sys.argv[1:] if argv is None else argv)
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    verb = sub.choices.get(args.command) if sub is not None and args.command else None
    if verb is None or any(e.startswith("-") for e in extras) or args.command not in words:
        return parser.parse_args(argv)  # argparse's own error message
    try:
        ns = verb.parse_intermixed_args(words[words.index(args.command) + 1:])
    except TypeError:  # a verb with sub-verbs (rollout, token): intermixing is not supported there
        return parser.parse_args(argv)
    ns.command, ns.log_level = args.command, args.log_level
    return ns


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parse(parser, argv)
        handler = getattr(args, "handler", None)
        if handler is None:
            parser.print_help(sys.stderr)
            return 2
        configure_logging(fmt=getattr(args, "log_format", None) or env("ORCH_LOG_FORMAT", "console"),
                          level=args.log_level or getattr(args, "default_log_level", "warning"))
        return int(handler(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except (CliError, ConfigNotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except ManifestError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
    except Unreachable as exc:
        print(f"Unable to connect to the server: {exc.message}", file=sys.stderr)
    except ApiError as exc:
        print(f"Error from server ({exc.reason}): {exc.message}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
