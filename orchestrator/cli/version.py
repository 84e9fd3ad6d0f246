"""`orch version`: this client's version, and the server's when it answers."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from importlib import metadata
from typing import Any

from orchestrator.cli.common import add_client_flags, make_client, out
from orchestrator.client import ConfigNotFound
from orchestrator.model.errors import ApiError


def client_version() -> str:
    try:
        return metadata.version("orchestrator")
    except metadata.PackageNotFoundError:
        return "0.0.0+unknown"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("version", help="print the client and server versions")
    p.add_argument("--client", action="store_true", help="the client version only")
    p.add_argument("-o", "--output", choices=("json",), default=None)
    add_client_flags(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    info: dict[str, Any] = {"clientVersion": {"gitVersion": f"v{client_version()}"}}
    problem = ""
    if not args.client:
        try:
            info["serverVersion"] = asyncio.run(_server_version(args))
        except (ApiError, ConfigNotFound) as exc:
            problem = getattr(exc, "message", None) or str(exc)
    if args.output == "json":
        out(json.dumps(info, indent=2))
    else:
        out(f"Client Version: {info['clientVersion']['gitVersion']}")
        if "serverVersion" in info:
            out(f"Server Version: {info['serverVersion'].get('gitVersion', '<unknown>')}")
    if problem:
        print(f"Server Version: not available ({problem})", file=sys.stderr)
    return 0


async def _server_version(args: argparse.Namespace) -> dict[str, Any]:
    async with make_client(args) as client:
        data = await client.version()
    return data if isinstance(data, dict) else {}
