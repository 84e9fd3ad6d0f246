"""The issue's GPU scenario with no extra YAML: `orch server` + `orch sim` (2 GPU nodes with 4
GPUs each, 2 CPU nodes) + configs/gpu-notebook.yaml and configs/web-app.yaml as shipped."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OrchServer, orch_command

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sims(tmp_path: Path) -> Iterator[Callable[..., None]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(server: OrchServer, *args: str) -> None:
        join = (server.data_dir / "join-token").read_text().strip()
        log = (tmp_path / f"sim-{len(procs)}.log").open("wb")
        procs.append(subprocess.Popen([*orch_command(), "sim", "--join", server.url, "--token", join,
                                       "--report-interval", "0", *args], stdout=log, stderr=subprocess.STDOUT))

    yield start
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def items(server: OrchServer, *args: str) -> list[dict[str, Any]]:
    """`orch get ARGS -o json` as a list (empty output when nothing matches)."""
    out = server.cli("get", *args, "-o", "json").stdout
    if not out.strip():
        return []
    doc = json.loads(out)
    return doc["items"] if "items" in doc else [doc]


def pods(server: OrchServer, app: str) -> list[dict[str, Any]]:
    return items(server, "pods", "-n", "demo", "-l", f"app={app}")


def until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (got := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return got


def bound(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in items if p["spec"].get("nodeName") and not p["metadata"].get("deletionTimestamp")]


def test_notebooks_on_gpu_nodes_web_apps_off_them(orch_server: Any, sims: Any) -> None:
    server = orch_server()
    sims(server, "--nodes", "2", "--name-prefix", "gpu", "--gpus-per-node", "4")
    sims(server, "--nodes", "2", "--name-prefix", "cpu")
    until(lambda: len(items(server, "nodes")) == 4, "4 nodes")
    server.cli("apply", "-f", str(REPO / "configs" / "namespace.yaml"), "-f", str(REPO / "configs" / "gpu-notebook.yaml"),
               "-f", str(REPO / "configs" / "web-app.yaml"))
    server.cli("scale", "deployment/notebook", "-n", "demo", "--replicas", "8")

    notebooks = until(lambda: (b := bound(pods(server, "notebook"))) and len(b) == 8 and b, "8 notebooks bound")
    uuids = {p["metadata"]["annotations"]["orch.io/gpu-devices"] for p in notebooks}
    assert len(uuids) == 8 and all(u.startswith("GPU-") for u in uuids)
    assert {p["spec"]["nodeName"] for p in notebooks} == {"gpu-0", "gpu-1"}
    webs = until(lambda: (b := bound(pods(server, "web-app"))) and len(b) == 2 and b, "web apps bound")
    assert {p["spec"]["nodeName"] for p in webs} <= {"cpu-0", "cpu-1"}

    server.cli("scale", "deployment/notebook", "-n", "demo", "--replicas", "9")
    ninth = until(lambda: [p for p in pods(server, "notebook") if not p["spec"].get("nodeName")], "a ninth notebook")
    name = ninth[0]["metadata"]["name"]
    events = until(lambda: "FailedScheduling" in (d := server.cli("describe", "pod", name, "-n", "demo").stdout)
                   and d, "FailedScheduling")
    assert "0/4 nodes are available: 4 Insufficient nvidia.com/gpu." in events

    victim = notebooks[0]
    server.cli("delete", "pod", victim["metadata"]["name"], "-n", "demo")
    freed = victim["metadata"]["annotations"]["orch.io/gpu-devices"]

    def eight_again() -> list[dict[str, Any]]:
        b = bound(pods(server, "notebook"))
        names = {p["metadata"]["name"] for p in b}
        return b if len(b) == 8 and victim["metadata"]["name"] not in names else []

    after = until(eight_again, "the freed GPU given to a waiting notebook")
    assert len({p["metadata"]["annotations"]["orch.io/gpu-devices"] for p in after}) == 8
    assert freed in {p["metadata"]["annotations"]["orch.io/gpu-devices"] for p in after}
