"""Bearer-token authentication and the authorization rules.

Principals: the admin (everything), nodes (`system:node:<name>`: read what they need,
write only their own Node and Lease, the status of pods bound to them, the final
delete of their pods, and Events; never pods/exec), and join tokens (nothing but POST /join).
Tokens are compared by their SHA-256 digest, never stored in memory in the clear.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from orchestrator.model.errors import Forbidden, Unauthorized
from orchestrator.model.registry import Kind

READ_VERBS = frozenset({"get", "list", "watch"})


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str  # "admin" | "node" | "join"
    node: str = ""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenTable:
    def __init__(self) -> None:
        self._by_digest: dict[str, Principal] = {}
        self._expiry: dict[str, float] = {}  # digest -> unix time after which it is refused

    def add(self, token: str, principal: Principal) -> None:
        self._by_digest[digest(token)] = principal

    def add_digest(self, token_digest: str, principal: Principal, *, expires_at: float | None = None) -> None:
        self._by_digest[token_digest] = principal
        if expires_at is None:
            self._expiry.pop(token_digest, None)
        else:
            self._expiry[token_digest] = expires_at

    def remove_digest(self, token_digest: str) -> None:
        self._by_digest.pop(token_digest, None)
        self._expiry.pop(token_digest, None)

    def authenticate(self, header: str | None) -> Principal:
        if not header:
            raise Unauthorized("Unauthorized: this server requires a bearer token (Authorization: Bearer <token>)")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Unauthorized: the Authorization header must be 'Bearer <token>'")
        token_digest = digest(token.strip())
        principal = self._by_digest.get(token_digest)
        expires = self._expiry.get(token_digest)
        if expires is not None and time.time() > expires:
            principal = None
        if principal is None:
            raise Unauthorized("Unauthorized: the bearer token is not valid (unknown, revoked or expired)")
        return principal


def authorize(principal: Principal, *, verb: str, kind: Kind, namespace: str, name: str,
              subresource: str = "", bound_node: str | None = None, used_by_my_pods: bool = False) -> None:
    """Raise Forbidden unless `principal` may do `verb` on the object.

    `bound_node` is the current spec.nodeName of the pod being written (pods only);
    `used_by_my_pods` says whether a pod bound to the calling node uses this Secret.
    """
    if principal.role == "admin":
        return
    what = f"{kind.resource}{'/' + subresource if subresource else ''}"
    denial = Forbidden(f'{kind.resource} "{name}" is forbidden: User "{principal.name}" cannot {verb} resource '
                       f'"{what}"' + (f' in the namespace "{namespace}"' if namespace else ""),
                       kind=kind.plural, name=name)
    if principal.role != "node" or subresource == "exec":
        raise denial  # exec runs commands inside any pod: admins only, whatever else a node may read
    if verb in READ_VERBS:
        if kind.kind == "Secret" and not (verb == "get" and used_by_my_pods):
            # Like Kubernetes' NodeRestriction: a node reads only the Secrets its own pods use,
            # one by name; it never lists or watches them.
            raise denial
        return
    me = principal.node
    if kind.kind == "Node" and name == me and verb in ("create", "update", "patch"):
        return
    if kind.kind == "Lease" and name == me:
        return
    if kind.kind == "Event" and verb in ("create", "update", "patch"):
        return
    if kind.kind == "Pod" and bound_node == me and (subresource == "status" or verb == "delete"):
        return
    raise denial
