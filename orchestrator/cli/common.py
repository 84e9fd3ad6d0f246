"""What every verb shares: env twins of flags, client flags, connecting, kinds, errors.

A verb module adds its parser in `register(subparsers)` and sets `handler` to a function
`(args) -> int`. Client verbs write an `async def _run(client, args) -> int` and return
`run_client(args, _run)`. Errors meant for a person are raised as CliError (printed
`error: ...`), ApiError (printed `Error from server (Reason): ...`), or ManifestError;
main() prints them and exits 1, never with a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from orchestrator import logs
from orchestrator.client import Client, find_config
from orchestrator.model.errors import NotFound
from orchestrator.model.registry import REGISTRY, Kind

DEFAULT_NAMESPACE = "default"
TRUE_WORDS = ("1", "true", "yes", "on")


class CliError(Exception):
    """A mistake on the command line or in local input: printed as `error: ...`, exit 1."""


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in TRUE_WORDS


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        raise CliError(f"{name}={raw!r} is not a number") from None


def add_client_flags(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("connection")
    g.add_argument("--server", default="", help="API server URL (env ORCH_SERVER)")
    g.add_argument("--token", default="", help="bearer token (env ORCH_TOKEN)")
    g.add_argument("--config", default="", help="client config file (env ORCH_CONFIG)")
    g.add_argument("--data-dir", default="", help="read DIR/client.yaml (env ORCH_DATA_DIR)")
    g.add_argument("--request-timeout", type=float, default=None,
                   help="seconds per API call (env ORCH_REQUEST_TIMEOUT, default 30)")


def add_namespace_flags(parser: argparse.ArgumentParser, *, all_namespaces: bool = False) -> None:
    parser.add_argument("-n", "--namespace", default=None,
                        help="namespace (env ORCH_NAMESPACE, default \"default\")")
    if all_namespaces:
        parser.add_argument("-A", "--all-namespaces", action="store_true", default=env_flag("ORCH_ALL_NAMESPACES"),
                            help="across all namespaces")


def namespace_of(args: argparse.Namespace) -> str:
    return args.namespace or env("ORCH_NAMESPACE") or DEFAULT_NAMESPACE


def make_client(args: argparse.Namespace) -> Client:
    cfg = find_config(server=args.server, token=args.token, config_path=args.config, data_dir=args.data_dir)
    timeout = args.request_timeout if args.request_timeout is not None else env_float("ORCH_REQUEST_TIMEOUT", 30.0)
    return Client(cfg.server, cfg.token, timeout=timeout)


def run_client(args: argparse.Namespace, fn: Callable[[Client, argparse.Namespace], Awaitable[int]]) -> int:
    async def main() -> int:
        async with make_client(args) as client:
            return await fn(client, args)

    return asyncio.run(main())


def resolve_kind(name: str) -> Kind:
    try:
        return REGISTRY.lookup(name)
    except NotFound as exc:
        raise CliError(exc.message) from None


def resolve_kinds(text: str) -> list[Kind]:
    """`pods`, `po,deploy`, `all` (the kinds in the "all" category)."""
    out: list[Kind] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        found = [k for k in REGISTRY.kinds if "all" in k.categories] if part == "all" else [resolve_kind(part)]
        out.extend(k for k in found if k not in out)
    if not out:
        raise CliError("you must specify the type of resource to get")
    return out


def split_targets(words: list[str]) -> list[tuple[Kind, list[str]]]:
    """kubectl's two forms: `KIND NAME...` (KIND may be `a,b`) or `KIND/NAME...`."""
    if not words:
        raise CliError("you must specify the type of resource")
    if all("/" in w for w in words):
        pairs: list[tuple[Kind, list[str]]] = []
        for w in words:
            kind_text, _, name = w.partition("/")
            kind = resolve_kind(kind_text)
            if not name:
                raise CliError(f"arguments in resource/name form must have a single resource and name: {w!r}")
            for k, names in pairs:
                if k is kind:
                    names.append(name)
                    break
            else:
                pairs.append((kind, [name]))
        return pairs
    if any("/" in w for w in words[1:]):
        raise CliError("there is no need to specify a resource type as a separate argument when passing "
                       "arguments in resource/name form")
    kinds = resolve_kinds(words[0])
    if words[1:] and len(kinds) > 1:
        raise CliError("names can only be given for one kind at a time")
    return [(k, list(words[1:])) for k in kinds]


def check_selectors(*, label_selector: str = "", field_selector: str = "") -> None:
    """Catch a mistyped selector here, with the model's wording, before the server does."""
    try:
        if label_selector:
            from orchestrator.model.selectors import parse_label_selector

            parse_label_selector(label_selector)
        if field_selector:
            from orchestrator.model.field_selectors import parse_field_selector

            parse_field_selector(field_selector)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def configure_logging(*, fmt: str = "console", level: str = "warning") -> None:
    """structlog to stderr (stdout belongs to command output)."""
    logs.configure(fmt=fmt, level=level.lower())


def pod_name(text: str, *, what: str) -> str:
    """`NAME` or `pod/NAME` (kubectl's spellings) for a verb that works on one pod; `what`
    says what the verb does, for the error ("orch logs reads pods")."""
    kind, sep, name = text.partition("/")
    if not sep:
        return text
    if kind not in ("pod", "pods", "po") or not name:
        raise CliError(f"{what}; {text!r} is not a pod (write NAME or pod/NAME)")
    return name


def verb_group(sub: argparse._SubParsersAction, name: str, *, help: str,  # type: ignore[type-arg]
               description: str) -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:  # type: ignore[type-arg]
    """`orch NAME VERB ...`: the group's parser (help and exit 2 without a verb) and its verbs."""
    p = sub.add_parser(name, help=help, description=description)
    verbs = p.add_subparsers(dest=f"{name}_verb", metavar="VERB")

    def usage(_args: argparse.Namespace) -> int:
        p.print_help(sys.stderr)
        return 2

    p.set_defaults(handler=usage)
    return p, verbs


def out(line: str = "") -> None:
    """Command output: stdout, flushed (watchers read it line by line through pipes)."""
    print(line, flush=True)


async def get_named(client: Client, kind: Kind, names: list[str], *, namespace: str) -> tuple[list[Any], bool]:
    """The named objects that exist, and whether any was missing (each reported like kubectl)."""
    found: list[Any] = []
    missing = False
    for name in names:
        try:
            found.append(await client.get(kind, name, namespace=namespace))
        except NotFound as exc:
            print(f"Error from server (NotFound): {exc.message}", file=sys.stderr)
            missing = True
    return found, missing
