"""`orch cordon / uncordon / drain` against a real `orch server` (whose scheduler places the pods)."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from orchestrator.cli.cordon import plan_drain
from orchestrator.model.base import OwnerReference
from tests.conftest import OrchServer
from tests.scheduler.factories import make_pod

pytestmark = pytest.mark.slow

NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n-0"},
        "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                   "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                   "conditions": [{"type": "Ready", "status": "True"}]}}


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "60"]}]}}


def apply(server: OrchServer, tmp_path: Path, *docs: dict[str, Any]) -> None:
    path = tmp_path / "objects.yaml"
    path.write_text("\n---\n".join(json.dumps(d) for d in docs))
    server.cli("apply", "-f", str(path))


def register_node(server: OrchServer) -> None:
    """POST the Node as an agent would (`orch apply` leaves status out)."""
    req = urllib.request.Request(f"{server.url}/api/v1/nodes", data=json.dumps(NODE).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {server.token}",
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201


def node_of(server: OrchServer, name: str) -> str:
    out = server.cli("get", "pod", name, "-o", "json").stdout
    return json.loads(out)["spec"].get("nodeName", "")


def wait_bound(server: OrchServer, name: str, timeout: float = 15.0) -> str:
    deadline = time.monotonic() + timeout
    while not (node := node_of(server, name)):
        assert time.monotonic() < deadline, f"pod {name} not bound within {timeout}s"
        time.sleep(0.1)
    return node


def test_plan_drain_leaves_daemonset_pods_and_needs_force_for_bare_ones() -> None:
    def owned(name: str, kind: str) -> Any:
        p = make_pod(name, node_name="n")
        p.metadata.owner_references = [OwnerReference(api_version="apps/v1", kind=kind, name="x", uid="u",
                                                      controller=True)]
        return p

    ds, rs, bare = owned("ds", "DaemonSet"), owned("rs", "ReplicaSet"), make_pod("bare", node_name="n")
    done = make_pod("done", node_name="n", phase="Succeeded")
    assert plan_drain([ds, rs, bare, done], force=False) == ([rs, done], [ds], [bare])
    assert plan_drain([ds, rs, bare, done], force=True) == ([rs, bare, done], [ds], [])


def test_cordon_uncordon_drain(orch_server: Any, tmp_path: Path) -> None:
    server = orch_server()
    register_node(server)
    apply(server, tmp_path, pod("a"))
    assert wait_bound(server, "a") == "n-0"

    assert server.cli("cordon", "n-0").stdout == "node/n-0 cordoned\n"
    assert server.cli("cordon", "n-0").stdout == "node/n-0 already cordoned\n"
    apply(server, tmp_path, pod("b"))
    time.sleep(0.5)
    assert node_of(server, "b") == ""  # cordoned: nothing new lands there
    assert server.cli("uncordon", "n-0").stdout == "node/n-0 uncordoned\n"
    assert wait_bound(server, "b") == "n-0"
    missing = server.cli("cordon", "nope", check=False)
    assert missing.returncode == 1 and 'nodes "nope" not found' in missing.stderr

    refused = server.cli("drain", "n-0", check=False)
    assert refused.returncode == 1
    assert "cannot delete Pods that declare no controller (use --force to override): default/a, default/b" \
        in refused.stderr
    drained = server.cli("drain", "n-0", "--force", "--grace-period", "0", "--timeout", "20")
    lines = drained.stdout.splitlines()
    assert lines[0] == "node/n-0 already cordoned"
    assert {"evicting pod default/a", "evicting pod default/b", "pod/a evicted", "pod/b evicted"} <= set(lines)
    assert lines[-1] == "node/n-0 drained"
    assert server.cli("get", "pods", "-o", "json").stdout.count('"kind": "Pod"') == 0
