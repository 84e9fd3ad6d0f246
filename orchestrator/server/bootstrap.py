"""First-start files in the data dir (mode 0600) and the objects every cluster has.

    admin-token   the admin bearer token
    join-token    what agents present to /join
    client.yaml   server URL + admin token; the CLI finds it by itself
    kubeconfig    the same for Kubernetes tools (kubectl --kubeconfig .orch/kubeconfig)
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

import yaml

from orchestrator.model.cluster import Namespace
from orchestrator.model.errors import AlreadyExists
from orchestrator.model.registry import REGISTRY
from orchestrator.store.objects import Objects

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-node-lease", "orch-system")


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only (created with 0600, never world-readable on the way)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def read_or_create_token(path: Path) -> str:
    if path.exists():
        token = path.read_text().strip()
        if token:
            return token
    token = secrets.token_hex(32)  # hex: never starts with '-', which flag parsers misread
    write_private(path, token + "\n")
    return token


def write_client_config(data_dir: Path, *, server_url: str, admin_token: str) -> None:
    write_private(data_dir / "client.yaml", yaml.safe_dump({"server": server_url, "token": admin_token}))


def write_kubeconfig(data_dir: Path, *, server_url: str, admin_token: str, ca_pem: bytes | None) -> None:
    """A kubeconfig for Kubernetes tools; HTTPS with the embedded CA when the TLS listener runs
    (kubectl sends bearer tokens only over HTTPS)."""
    cluster: dict[str, object] = {"server": server_url}
    if ca_pem is not None:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "orch", "preferences": {},
        "clusters": [{"name": "orch", "cluster": cluster}],
        "users": [{"name": "orch-admin", "user": {"token": admin_token}}],
        "contexts": [{"name": "orch", "context": {"cluster": "orch", "user": "orch-admin", "namespace": "default"}}],
    }
    write_private(data_dir / "kubeconfig", yaml.safe_dump(kubeconfig, sort_keys=False))


async def ensure_namespaces(objects: Objects) -> None:
    kind = REGISTRY.by_kind("Namespace")
    for name in DEFAULT_NAMESPACES:
        if objects.store.get_entry(kind.key("", name)) is None:
            ns = Namespace()
            ns.metadata.name = name
            try:
                await objects.create(kind, ns)
            except AlreadyExists:
                pass
