"""`orch token create|list|revoke`: join tokens (and node credentials) as the server keeps them.

A token is a Secret in `orch-system` holding only its SHA-256 digest (see
`server.credentials`): `create` makes a random token, stores the digest, and prints the
token once, on stdout alone (scripts read it); nothing can show it again. `list` shows
join tokens and node credentials, never a token. `revoke NAME` deletes the Secret; the
server stops accepting the token at once (401 on join).
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
from datetime import datetime, timedelta, timezone

from orchestrator.cli.common import CliError, add_client_flags, out, run_client, verb_group
from orchestrator.cli.printing import as_dict, now_utc
from orchestrator.model.tables import age, dig, render
from orchestrator.client import Client
from orchestrator.model.errors import NotFound
from orchestrator.server.credentials import (EXPIRES_ANNOTATION, JOIN_TOKEN_TYPE, NODE_CREDENTIAL_TYPE,
                                             SYSTEM_NAMESPACE, token_secret)

DESCRIPTION_ANNOTATION = "orch.io/description"
TYPES = {JOIN_TOKEN_TYPE: "join", NODE_CREDENTIAL_TYPE: "node-credential"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_ttl(text: str) -> timedelta | None:
    """`90s`, `30m`, `1h`, `2h30m`, `7d`; `0` or `never`: no expiry (None)."""
    text = text.strip().lower()
    if text in ("0", "never"):
        return None
    pos, total = 0, 0.0
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNIT_S[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text or total <= 0:
        raise CliError(f"--ttl {text!r}: expected a duration like 30m, 1h, 2h30m, 7d (or 0 for never)")
    return timedelta(seconds=total)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    _, verbs = verb_group(sub, "token", help="create, list and revoke join tokens",
                          description="Join tokens let agents join (`orch agent --token T`). The server keeps only "
                                   "their digests: a token is shown once, when it is created.")
    create = verbs.add_parser("create", help="make a join token and print it (once)")
    create.add_argument("--ttl", default="24h", help="lifetime: 30m, 1h, 7d, or 0 for never (default 24h)")
    create.add_argument("--description", default="", help="a note shown by `orch token list`")
    create.set_defaults(handler=lambda a: run_client(a, _create))
    listing = verbs.add_parser("list", help="join tokens and node credentials (never the tokens)")
    listing.set_defaults(handler=lambda a: run_client(a, _list))
    revoke = verbs.add_parser("revoke", help="stop a token working (a node credential: that node must rejoin)")
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(handler=lambda a: run_client(a, _revoke))
    for parser in (create, listing, revoke):
        add_client_flags(parser)


async def _create(client: Client, args: argparse.Namespace) -> int:
    ttl = parse_ttl(args.ttl)
    token = secrets.token_hex(32)  # hex: never starts with '-', which flag parsers misread
    name = f"join-token-{secrets.token_hex(3)}"
    expires = "" if ttl is None else (datetime.now(timezone.utc) + ttl).strftime("%Y-%m-%dT%H:%M:%SZ")
    await client.create(token_secret(name=name, type_=JOIN_TOKEN_TYPE, token=token, expires=expires,
                                     description=args.description))
    out(token)
    print(f'join token "{name}" created, {"expires " + expires if expires else "never expires"}; '
          "it is shown only this once", file=sys.stderr)
    return 0


async def _list(client: Client, _args: argparse.Namespace) -> int:
    found = await client.list_all("Secret", namespace=SYSTEM_NAMESPACE)
    now = now_utc()
    rows = []
    for secret in sorted(found.items, key=lambda s: s.metadata.name):
        if secret.type not in TYPES:
            continue
        obj = as_dict(secret)
        annotations = dig(obj, "metadata", "annotations", default={})
        rows.append([secret.metadata.name, TYPES[secret.type], _expiry(annotations.get(EXPIRES_ANNOTATION, ""), now),
                     age(dig(obj, "metadata", "creationTimestamp"), now),
                     annotations.get(DESCRIPTION_ANNOTATION, "") or "<none>"])
    if not rows:
        print(f"No tokens found in {SYSTEM_NAMESPACE} namespace.", file=sys.stderr)
        return 0
    for line in render(["NAME", "TYPE", "EXPIRES", "AGE", "DESCRIPTION"], rows):
        out(line)
    return 0


def _expiry(stamp: str, now: datetime) -> str:
    if not stamp:
        return "never"
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "invalid (refused)"
    return f"{stamp} (expired)" if when <= now else stamp


async def _revoke(client: Client, args: argparse.Namespace) -> int:
    try:
        secret = await client.get("Secret", args.name, namespace=SYSTEM_NAMESPACE)
    except NotFound:
        raise CliError(f'token "{args.name}" not found (see `orch token list`)') from None
    if secret.type not in TYPES:
        raise CliError(f'"{args.name}" is a {secret.type or "Opaque"} Secret, not a token; not deleting it')
    await client.delete("Secret", args.name, namespace=SYSTEM_NAMESPACE)
    out(f'token "{args.name}" revoked')
    return 0
