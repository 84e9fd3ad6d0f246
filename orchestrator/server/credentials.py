"""Join tokens and node credentials, kept as Secrets in `orch-system` (HA-ready, listable).

A Secret holds only the token's SHA-256 digest (annotation `orch.io/token-digest`), never
the token: `orch token create` makes a random token, stores its digest this way and
prints the token once; `orch token revoke` deletes the Secret. Types:
    orch.io/join-token        lets an agent POST /join (optional expiry `orch.io/expires`)
    orch.io/node-credential   a node's own credential (label `orch.io/node`)
The server keeps its TokenTable in step with these Secrets through the bus.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, NoReturn

import structlog

from orchestrator.model.config import Secret
from orchestrator.model.errors import AlreadyExists, NotFound
from orchestrator.model.registry import REGISTRY
from orchestrator.server.auth import Principal, TokenTable, digest
from orchestrator.server.state import ServerState
from orchestrator.store.objects import Objects

SYSTEM_NAMESPACE = "orch-system"
JOIN_TOKEN_TYPE = "orch.io/join-token"
NODE_CREDENTIAL_TYPE = "orch.io/node-credential"
DIGEST_ANNOTATION = "orch.io/token-digest"
EXPIRES_ANNOTATION = "orch.io/expires"
NODE_LABEL = "orch.io/node"

log = structlog.get_logger(__name__)
SECRETS = REGISTRY.by_kind("Secret")


def _principal(secret: Any) -> tuple[str, Principal, float | None] | None:
    ann = secret.metadata.annotations
    token_digest = ann.get(DIGEST_ANNOTATION)
    if not token_digest:
        return None
    expires = None
    if ann.get(EXPIRES_ANNOTATION):
        try:
            expires = datetime.fromisoformat(ann[EXPIRES_ANNOTATION].replace("Z", "+00:00")).timestamp()
        except ValueError:
            expires = 0.0  # unreadable expiry: treat as expired rather than eternal
    if secret.type == JOIN_TOKEN_TYPE:
        return token_digest, Principal(name=f"system:bootstrap:{secret.metadata.name}", role="join"), expires
    if secret.type == NODE_CREDENTIAL_TYPE:
        node = secret.metadata.labels.get(NODE_LABEL, "")
        return token_digest, Principal(name=f"system:node:{node}", role="node", node=node), expires
    return None


def load_tokens(objects: Objects, tokens: TokenTable) -> None:
    entries, _ = objects.store.list(SECRETS.prefix(SYSTEM_NAMESPACE))
    for e in entries:
        found = _principal(e.obj)
        if found:
            tokens.add_digest(found[0], found[1], expires_at=found[2])


async def sync_tokens(state: ServerState) -> NoReturn:
    """Follow Secrets in orch-system so created/revoked tokens take effect at once."""
    stream = state.api.watch(SECRETS, namespace=SYSTEM_NAMESPACE, resource_version=str(state.store.revision))
    async for ev in stream:
        found = _principal(ev.object)
        if found is None:
            continue
        if ev.type == "DELETED":
            state.tokens.remove_digest(found[0])
        else:
            state.tokens.add_digest(found[0], found[1], expires_at=found[2])
    raise AssertionError("watch ended")


def token_secret(*, name: str, type_: str, token: str, labels: dict[str, str] | None = None,
                 expires: str = "", description: str = "") -> Secret:
    s = Secret(type=type_)
    s.metadata.name, s.metadata.namespace = name, SYSTEM_NAMESPACE
    s.metadata.labels = dict(labels or {})
    s.metadata.annotations = {DIGEST_ANNOTATION: digest(token)}
    if expires:
        s.metadata.annotations[EXPIRES_ANNOTATION] = expires
    if description:
        s.metadata.annotations["orch.io/description"] = description
    return s


async def register_join_token(objects: Objects, tokens: TokenTable, *, name: str, token: str) -> None:
    """Make a join token known (idempotent): the default one from the data dir uses this."""
    secret = token_secret(name=name, type_=JOIN_TOKEN_TYPE, token=token, description="written to the data dir")
    existing = objects.store.get_entry(SECRETS.key(SYSTEM_NAMESPACE, name))
    if existing is None:
        try:
            await objects.create(SECRETS, secret, namespace=SYSTEM_NAMESPACE)
        except AlreadyExists:
            pass
    elif existing.obj.metadata.annotations.get(DIGEST_ANNOTATION) != digest(token):
        secret.metadata.resource_version = existing.obj.metadata.resource_version
        await objects.update(SECRETS, secret, namespace=SYSTEM_NAMESPACE, name=name)
    found = _principal(secret)
    assert found is not None
    tokens.add_digest(found[0], found[1])


async def issue_node_credential(objects: Objects, tokens: TokenTable, *, node: str) -> str:
    """A fresh credential for `node`; the previous one (if any) stops working."""
    token = secrets.token_hex(32)  # hex: never starts with '-', which flag parsers misread
    name = f"node-{node}"
    old = objects.store.get_entry(SECRETS.key(SYSTEM_NAMESPACE, name))
    secret = token_secret(name=name, type_=NODE_CREDENTIAL_TYPE, token=token, labels={NODE_LABEL: node})
    if old is not None:
        tokens.remove_digest(old.obj.metadata.annotations.get(DIGEST_ANNOTATION, ""))
        try:
            await objects.delete(SECRETS, namespace=SYSTEM_NAMESPACE, name=name)
        except NotFound:
            pass
    await objects.create(SECRETS, secret, namespace=SYSTEM_NAMESPACE)
    found = _principal(secret)
    assert found is not None
    tokens.add_digest(found[0], found[1])
    return token
