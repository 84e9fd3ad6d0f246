"""`node.json` in the agent's data dir: who this node is to the cluster (mode 0600).

    {"name", "credential", "apiServers", "proxyTokenDigest", "gossipKey"}

Written after every join (the server hands out a fresh credential each time) and when
the gossip key arrives. A restart reads it and rejoins with the credential: no join
token needed, the same Node, the same containers.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

NODE_FILE = "node.json"


class NodeIdentity(msgspec.Struct, kw_only=True, rename="camel"):
    name: str
    credential: str
    api_servers: list[str] = msgspec.field(default_factory=list)
    proxy_token_digest: str = ""
    gossip_key: str = ""


def load_identity(data_dir: Path) -> NodeIdentity | None:
    """The saved identity, or None when there is none; a damaged file is an error (say where)."""
    path = data_dir / NODE_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return msgspec.json.decode(raw, type=NodeIdentity)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"{path} is damaged ({exc}); remove it to join afresh with a join token") from None


def save_identity(data_dir: Path, identity: NodeIdentity) -> None:
    """Atomically, created 0600 (never readable by others, not even for a moment)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / NODE_FILE
    tmp = path.with_name(f".{NODE_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(msgspec.json.format(msgspec.json.encode(identity)))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
