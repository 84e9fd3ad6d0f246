"""`orch sim` against a real `orch server --no-agent` (no scheduler needed: pods are
created with spec.nodeName already set)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.agent.sim.nodes import gpu_uuid
from tests.conftest import OrchServer
from tests.sim.conftest import Api, SimProcess

pytestmark = pytest.mark.slow

PODS = "/api/v1/namespaces/default/pods"
LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"


def pod(name: str, node: str, *, restart_policy: str = "Always",
        annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"nodeName": node, "restartPolicy": restart_policy,
                     "containers": [{"name": "main", "image": "busybox"}]}}


def renew_times(api: Api) -> dict[str, str]:
    return {i["metadata"]["name"]: i["spec"]["renewTime"] for i in api.get(LEASES)["items"]}


def phase_of(api: Api, name: str) -> Callable[[], Any]:
    def check() -> Any:
        found = api.get(f"{PODS}/{name}")
        return found if found["status"].get("phase") in ("Running", "Succeeded", "Failed") else None
    return check


def test_sim_nodes_pods_leases(orch_server: Callable[..., OrchServer], orch_sim: Callable[..., SimProcess]) -> None:
    server = orch_server()
    api = Api(server)
    gpu = orch_sim(server, "--nodes", "2", "--name-prefix", "gpu", "--gpus-per-node", "4", "--cpu", "16",
                   "--memory", "64Gi", "--lease-interval", "0.5", "--job-seconds", "0.5")
    cpu = orch_sim(server, "--nodes", "2", "--name-prefix", "cpu", "--label", "zone=a", "--label", "disk=ssd",
                   "--max-pods", "50", "--lease-interval", "0.5")
    assert gpu.wait_for_line("joined ").startswith("joined 2 nodes in ")

    # the Nodes: capacity, labels, taints, devices, Ready
    nodes = {n["metadata"]["name"]: n for n in api.get("/api/v1/nodes")["items"]}
    assert sorted(nodes) == ["cpu-0", "cpu-1", "gpu-0", "gpu-1"]
    g, c = nodes["gpu-1"], nodes["cpu-0"]
    assert g["status"]["capacity"] == {"cpu": "16", "memory": "67108864Ki", "pods": "110", "nvidia.com/gpu": "4"}
    assert c["status"]["capacity"] == {"cpu": "8", "memory": "33554432Ki", "pods": "50"}
    assert [d["uuid"] for d in g["status"]["gpus"]] == [gpu_uuid(node="gpu-1", index=i) for i in range(4)]
    assert all(d["uuid"].startswith("GPU-") and d["model"] == "NVIDIA H100 80GB HBM3" and d["memoryMiB"] == 81559
               for d in g["status"]["gpus"])
    assert {"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"} in g["spec"]["taints"]
    assert not c["spec"].get("taints")
    assert g["metadata"]["labels"]["nvidia.com/gpu.count"] == "4"
    assert g["metadata"]["labels"]["nvidia.com/gpu.product"] == "NVIDIA-H100-80GB-HBM3"
    assert c["metadata"]["labels"]["zone"] == "a" and c["metadata"]["labels"]["disk"] == "ssd"
    assert all(n["metadata"]["labels"]["orch.io/simulated"] == "true" for n in nodes.values())
    assert all(any(x["type"] == "Ready" and x["status"] == "True" for x in n["status"]["conditions"])
               for n in nodes.values())
    ips = {n["metadata"]["name"]: next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP")
           for n in nodes.values()}
    assert len(set(ips.values())) == 4 and all(ip.startswith("172.") for ip in ips.values())

    # leases: renewed, every node
    first = renew_times(api)
    api.wait_for("every lease to be renewed", lambda: all(
        renew_times(api)[n] > first[n] for n in nodes))

    # a service pod goes Running, a Never pod Succeeded, a failing one Failed
    for body in (pod("web", "cpu-0"), pod("job", "gpu-1", restart_policy="Never"),
                 pod("bad", "cpu-1", restart_policy="Never",
                     annotations={"orch.io/sim-exit-code": "3", "orch.io/sim-run-seconds": "0.2"})):
        status, created = api.call("POST", PODS, body)
        assert status == 201, created
    web = api.wait_for("web Running", phase_of(api, "web"))
    st = web["status"]
    assert st["phase"] == "Running" and st["hostIP"] == ips["cpu-0"] and st["podIP"].startswith("10.")
    assert st["startTime"]
    assert {x["type"]: x["status"] for x in st["conditions"]} == {
        "PodScheduled": "True", "Initialized": "True", "ContainersReady": "True", "Ready": "True"}
    [cs] = st["containerStatuses"]
    assert cs["name"] == "main" and cs["ready"] and cs.get("restartCount", 0) == 0 and "running" in cs["state"]
    api.wait_for("job Succeeded", lambda: api.get(f"{PODS}/job")["status"].get("phase") == "Succeeded")
    job = api.get(f"{PODS}/job")["status"]
    done = job["containerStatuses"][0]["state"]["terminated"]
    assert done.get("exitCode", 0) == 0 and done["reason"] == "Completed"  # the model omits zero values
    assert job["podIP"] != st["podIP"]
    api.wait_for("bad Failed", lambda: api.get(f"{PODS}/bad")["status"].get("phase") == "Failed")
    bad = api.get(f"{PODS}/bad")["status"]["containerStatuses"][0]["state"]["terminated"]
    assert bad["exitCode"] == 3 and bad["reason"] == "Error"

    # deleting a bound, running pod: the server marks it, the sim finishes it
    status, marked = api.call("DELETE", f"{PODS}/web")
    assert status == 202 and marked["metadata"]["deletionTimestamp"], marked
    api.wait_for("web to be gone", lambda: api.call("GET", f"{PODS}/web")[0] == 404)

    # stop one node's lease: it goes stale while the others stay fresh; start it again
    assert cpu.post("/nodes/cpu-1/stop-lease") == {"name": "cpu-1", "leaseRenewing": False, "gone": False}
    time.sleep(0.5)  # a renewal in flight lands
    stopped = renew_times(api)
    time.sleep(1.5)
    now = renew_times(api)
    assert now["cpu-1"] == stopped["cpu-1"]
    assert all(now[n] > stopped[n] for n in ("cpu-0", "gpu-0", "gpu-1"))
    assert [n["leaseRenewing"] for n in cpu.get("/nodes")] == [True, False]
    cpu.post("/nodes/cpu-1/start-lease")
    api.wait_for("cpu-1's lease renewed again", lambda: renew_times(api)["cpu-1"] > stopped["cpu-1"])

    stats = gpu.get("/stats")
    assert stats["started"] == 1 and stats["succeeded"] == 1 and stats["errors"] == 0
    assert cpu.stop() == 0 and gpu.stop() == 0
    assert "stopping: 2 nodes" in cpu.output


def test_sim_posts_ready_again_unless_its_lease_is_stopped(orch_server: Callable[..., OrchServer],
                                                           orch_sim: Callable[..., SimProcess]) -> None:
    server = orch_server()
    api = Api(server)
    sim = orch_sim(server, "--nodes", "2", "--lease-interval", "0.3")

    def mark_unknown(name: str) -> None:
        # Not the node-lifecycle controller's reason: it restores only what it set itself,
        # so here only the sim (the node's "kubelet") can make the node Ready again.
        node = api.get(f"/api/v1/nodes/{name}")
        for cond in node["status"]["conditions"]:
            if cond["type"] == "Ready":
                cond.update(status="Unknown", reason="SetByTheTest")
        status, body = api.call("PUT", f"/api/v1/nodes/{name}/status", node)
        assert status == 200, body

    def ready(name: str) -> str:
        node = api.get(f"/api/v1/nodes/{name}")
        return str(next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"))

    sim.post("/nodes/sim-1/stop-lease")
    mark_unknown("sim-0")
    mark_unknown("sim-1")
    api.wait_for("sim-0 Ready again", lambda: ready("sim-0") == "True")
    time.sleep(0.8)
    assert ready("sim-1") == "Unknown"  # its lease is stopped: it stays down
    sim.post("/nodes/sim-1/start-lease")
    api.wait_for("sim-1 Ready again", lambda: ready("sim-1") == "True")


def test_wrong_join_token_exits_with_the_servers_message(orch_server: Callable[..., OrchServer],
                                                         orch_sim: Callable[..., SimProcess], tmp_path: Any) -> None:
    server = orch_server()
    result = server.cli("sim", "--join", server.url, "--token=not-the-token", "--nodes", "3", check=False)
    assert result.returncode == 1
    assert "Unauthorized" in result.stderr and "the bearer token is not valid" in result.stderr, result.stderr
    assert "joining node sim-" in result.stderr
    # a control port already taken: refused before any node joins
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        token = (server.data_dir / "join-token").read_text().strip()
        result = server.cli("sim", "--join", server.url, f"--token={token}", "--control", f"127.0.0.1:{port}",
                            check=False)
    assert result.returncode == 1 and f"--control 127.0.0.1:{port}:" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert Api(server).get("/api/v1/nodes")["items"] == []


def test_restart_rejoins_with_saved_credentials_and_cleanup(orch_server: Callable[..., OrchServer],
                                                            orch_sim: Callable[..., SimProcess], tmp_path: Any) -> None:
    server = orch_server()
    api = Api(server)
    data = tmp_path / "sim-data"
    first = orch_sim(server, "--nodes", "2", "--data-dir", str(data))
    # a second sim claiming the same live names is refused by the server, and says so
    token = (server.data_dir / "join-token").read_text().strip()
    clash = server.cli("sim", "--join", server.url, f"--token={token}", "--nodes", "1", check=False)
    assert clash.returncode == 1 and "held by a live node" in clash.stderr, clash.stderr
    assert first.stop() == 0
    assert (data / "sim-credentials.json").stat().st_mode & 0o777 == 0o600
    # restarted at once (leases still fresh): it rejoins with its saved credentials
    second = orch_sim(server, "--nodes", "2", "--data-dir", str(data), "--cleanup", "--admin-token", server.token)
    assert "(2 rejoined)" in second.wait_for_line("joined ")
    status, _ = api.call("POST", PODS, pod("after-restart", "sim-1"))
    assert status == 201
    api.wait_for("the pod Running", phase_of(api, "after-restart"))
    assert second.stop() == 0
    assert "deleted 2 nodes" in second.output
    assert api.get("/api/v1/nodes")["items"] == []
