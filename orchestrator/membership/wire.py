"""What gossip sends, and how members that are not the API server trust each other.

Requests to the API server carry the sender's node credential (a bearer token the
server checks like any other). Everything sent to an agent, and every answer an agent
gives, is signed with the cluster gossip key, as Serf and memberlist do with their
shared key: HMAC-SHA256 over a timestamp, the request line and the body, in the
`X-Orch-Gossip-Signature` header. Only the server makes the key; it hands it to
members that prove a node credential (in its /gossip answers), so holding the key
means having joined. A signature older than `MAX_SKEW_S` is refused; a replay within
it only repeats old news, which the merge rules absorb.
"""

from __future__ import annotations

import hashlib
import hmac

import msgspec

from orchestrator.membership.tables import Member

SIGNATURE_HEADER = "X-Orch-Gossip-Signature"
MAX_SKEW_S = 120.0
GOSSIP_PATH = "/gossip"
PROBE_PATH = "/gossip/probe"
RESPONSE = "RESPONSE"  # the "method" signed for an answer (so a request can't be replayed as one)


class Message(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """A push (request) or a pull (answer): the sender's whole table."""

    sender: str
    members: list[Member] = msgspec.field(default_factory=list)
    key: str = ""  # the gossip key: only in the API server's answers to a node credential


class ProbeRequest(msgspec.Struct, kw_only=True, rename="camel"):
    target: str


class ProbeAnswer(msgspec.Struct, kw_only=True, rename="camel"):
    reachable: bool
    members: list[Member] = msgspec.field(default_factory=list)


encode = msgspec.json.Encoder().encode
message_decoder = msgspec.json.Decoder(Message)
probe_decoder = msgspec.json.Decoder(ProbeRequest)
probe_answer_decoder = msgspec.json.Decoder(ProbeAnswer)


def _mac(key: str, *, stamp: str, method: str, path: str, body: bytes) -> str:
    text = f"{stamp}\n{method} {path}\n".encode() + body
    return hmac.new(key.encode(), text, hashlib.sha256).hexdigest()


def sign(key: str, *, method: str, path: str, body: bytes, now: float) -> str:
    """The header value: `<unix seconds>:<hex HMAC>`."""
    stamp = str(int(now))
    return f"{stamp}:{_mac(key, stamp=stamp, method=method, path=path, body=body)}"


def verify(key: str, header: str | None, *, method: str, path: str, body: bytes, now: float) -> str | None:
    """None when the signature holds, else why not (for the 401 message and the log)."""
    if not key:
        return "this member has no gossip key yet"
    if not header:
        return f"missing {SIGNATURE_HEADER} header"
    stamp, _, mac = header.partition(":")
    try:
        age = abs(now - int(stamp))
    except ValueError:
        return "malformed signature"
    if age > MAX_SKEW_S:
        return f"signature timestamp is {age:.0f}s away from this member's clock"
    if not hmac.compare_digest(mac, _mac(key, stamp=stamp, method=method, path=path, body=body)):
        return "bad signature (not signed with this cluster's gossip key)"
    return None


class PeerAuth:
    """How this member proves itself to a peer and checks what the peer answers.

    To an API server (role "server"): the bearer node credential, answers trusted like
    any API answer. To an agent: a signature with the gossip key, and the answer must
    be signed back. Without the credential or the key that peer is skipped (None).
    """

    def __init__(self, *, key: str = "", bearer: str = "") -> None:
        self.key = key
        self.bearer = bearer

    def request_headers(self, peer: Member, *, method: str, path: str, body: bytes,
                        now: float) -> dict[str, str] | None:
        headers = {"Content-Type": "application/json"}
        if peer.role == "server":
            if not self.bearer:
                return None
            headers["Authorization"] = f"Bearer {self.bearer}"
            return headers
        if not self.key:
            return None
        headers[SIGNATURE_HEADER] = sign(self.key, method=method, path=path, body=body, now=now)
        return headers

    def answer_problem(self, peer: Member, *, path: str, body: bytes, signature: str | None,
                       now: float) -> str | None:
        if peer.role == "server":
            return None
        return verify(self.key, signature, method=RESPONSE, path=path, body=body, now=now)

    def answer_headers(self, *, path: str, body: bytes, now: float) -> dict[str, str]:
        """Headers for this member's own answer (agents sign theirs)."""
        if not self.key:
            return {}
        return {SIGNATURE_HEADER: sign(self.key, method=RESPONSE, path=path, body=body, now=now)}


def peer_url(member: Member) -> str:
    return member.address if "://" in member.address else f"http://{member.address}"
