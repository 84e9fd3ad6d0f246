"""Controllers end to end: `orch server` + `orch sim` subprocesses, driven by the `orch` CLI.

The server runs with short node timings through the controllers' environment twins
(ORCH_NODE_GRACE_PERIOD, ORCH_DEFAULT_TOLERATION_SECONDS, ORCH_NODE_MONITOR_PERIOD); the
sims renew leases every 0.3 s. Rollout safety is checked on every state a watch shows,
from a thread holding the HTTP client.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.client import Client
from tests.conftest import OrchServer
from tests.sim.conftest import Api, SimProcess, orch_sim  # noqa: F401 - the fixture

pytestmark = pytest.mark.slow

SIM = ("--lease-interval", "0.3", "--job-seconds", "0.3")
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"


@pytest.fixture(autouse=True)
def fast_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCH_NODE_GRACE_PERIOD", "2")
    monkeypatch.setenv("ORCH_DEFAULT_TOLERATION_SECONDS", "2")
    monkeypatch.setenv("ORCH_NODE_MONITOR_PERIOD", "0.5")


def deployment_yaml(path: Path, name: str, *, replicas: int, image: str) -> Path:
    path.write_text(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: main, image: "{image}"}}]}}
""")
    return path


def pods(api: Api, selector: str) -> list[dict[str, Any]]:
    return api.get(f"/api/v1/namespaces/default/pods?labelSelector={selector}")["items"]


def live(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def is_ready(p: dict[str, Any]) -> bool:
    return (not p["metadata"].get("deletionTimestamp") and p["status"].get("phase") == "Running"
            and any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions", [])))


class PodStates(threading.Thread):
    """Every state of the selected pods as a watch shows them: (ready, live) after each event."""

    def __init__(self, server: OrchServer, selector: str) -> None:
        super().__init__(daemon=True)
        self.server, self.selector = server, selector
        self.states: list[tuple[int, int]] = []
        self.stop_now = threading.Event()
        self.started_watch = threading.Event()

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        async with Client(self.server.url, self.server.token) as c:
            page = await c.list("pods", namespace="default", label_selector=self.selector)
            seen = {p.metadata.name: p for p in page.items}
            task = asyncio.create_task(self._watch(c, seen, page.resource_version))
            self.started_watch.set()
            while not self.stop_now.is_set() and not task.done():
                await asyncio.sleep(0.05)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _watch(self, c: Client, seen: dict[str, Any], rv: str) -> None:
        from orchestrator.controllers.pods import is_ready as ready
        stream = c.watch("pods", namespace="default", label_selector=self.selector, resource_version=rv)
        try:
            async for ev in stream:
                if ev.type == "DELETED":
                    seen.pop(ev.object.metadata.name, None)
                elif ev.type in ("ADDED", "MODIFIED"):
                    seen[ev.object.metadata.name] = ev.object
                alive = [p for p in seen.values() if p.metadata.deletion_timestamp is None]
                self.states.append((sum(1 for p in alive if ready(p)), len(alive)))
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def __enter__(self) -> PodStates:
        self.start()
        assert self.started_watch.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_now.set()
        self.join(10)


def rolled_out(server: OrchServer, name: str, *, timeout: float = 30) -> list[str]:
    result = server.cli("rollout", "status", f"deploy/{name}", "--timeout", str(timeout), timeout=timeout + 10)
    lines = result.stdout.splitlines()
    assert lines[-1] == f'deployment "{name}" successfully rolled out', result.stdout
    return lines


def test_deployment_rollout_undo_and_scale(orch_server: Callable[..., OrchServer],
                                           orch_sim: Callable[..., SimProcess], tmp_path: Path) -> None:
    server = orch_server()
    api = Api(server)
    orch_sim(server, "--nodes", "3", "--name-prefix", "s", *SIM).wait_for_line("joined ")
    manifest = deployment_yaml(tmp_path / "web.yaml", "web", replicas=5, image="nginx:1.25")
    server.cli("apply", "-f", str(manifest))
    rolled_out(server, "web")
    d = api.get(f"{DEPLOY}/web")
    assert (d["status"]["availableReplicas"], d["status"]["updatedReplicas"]) == (5, 5)

    with PodStates(server, "app=web") as states:  # 25%/25%: surge 2, maxUnavailable 1
        server.cli("apply", "-f", str(deployment_yaml(manifest, "web", replicas=5, image="nginx:1.26")))
        rolled_out(server, "web")
        time.sleep(0.3)
    assert len(states.states) > 10
    assert min(ready for ready, _ in states.states) >= 4, states.states
    assert max(alive for _, alive in states.states) <= 7, states.states
    assert {p["spec"]["containers"][0]["image"] for p in live(pods(api, "app=web"))} == {"nginx:1.26"}

    history = server.cli("rollout", "history", "deploy/web").stdout.splitlines()
    assert [line.split()[0] for line in history[2:]] == ["1", "2"]
    assert server.cli("rollout", "undo", "deploy/web").stdout.strip() == "deployment.apps/web rolled back"
    rolled_out(server, "web")
    assert api.get(f"{DEPLOY}/web")["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert {p["spec"]["containers"][0]["image"] for p in live(pods(api, "app=web"))} == {"nginx:1.25"}

    assert server.cli("scale", "deploy/web", "--replicas", "0").stdout.strip() == "deployment.apps/web scaled"
    api.wait_for("no web pods", lambda: not pods(api, "app=web"), timeout=20)
    server.cli("scale", "deploy/web", "--replicas", "5")
    rolled_out(server, "web")
    assert sum(is_ready(p) for p in pods(api, "app=web")) == 5


def test_delete_with_each_propagation_policy(orch_server: Callable[..., OrchServer],
                                             orch_sim: Callable[..., SimProcess], tmp_path: Path) -> None:
    server = orch_server()
    api = Api(server)
    orch_sim(server, "--nodes", "2", "--name-prefix", "s", *SIM).wait_for_line("joined ")
    for name in ("bg", "fg", "keep"):
        server.cli("apply", "-f", str(deployment_yaml(tmp_path / f"{name}.yaml", name, replicas=2, image="x:1")))
    for name in ("bg", "fg", "keep"):
        rolled_out(server, name)
    rs = "/apis/apps/v1/namespaces/default/replicasets"

    server.cli("delete", "deploy", "bg", "--cascade", "background", "--wait")
    api.wait_for("bg's pods gone", lambda: not pods(api, "app=bg"), timeout=20)
    assert not [r for r in api.get(rs)["items"] if r["metadata"]["name"].startswith("bg-")]

    server.cli("delete", "deploy", "fg", "--cascade", "foreground", "--wait", "--timeout", "20")
    assert not pods(api, "app=fg")  # the deployment went only once its pods had

    before = {p["metadata"]["name"] for p in pods(api, "app=keep")}
    server.cli("delete", "deploy", "keep", "--cascade", "orphan", "--wait")
    kept = [r for r in api.get(rs)["items"] if r["metadata"]["name"].startswith("keep-")]
    assert len(kept) == 1 and not kept[0]["metadata"].get("ownerReferences")
    time.sleep(0.5)
    assert {p["metadata"]["name"] for p in live(pods(api, "app=keep"))} == before


def test_job_completes(orch_server: Callable[..., OrchServer], orch_sim: Callable[..., SimProcess],
                       tmp_path: Path) -> None:
    server = orch_server()
    api = Api(server)
    orch_sim(server, "--nodes", "2", "--name-prefix", "s", *SIM).wait_for_line("joined ")
    (tmp_path / "job.yaml").write_text("""apiVersion: batch/v1
kind: Job
metadata: {name: pi}
spec:
  completions: 4
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: pi, image: perl, command: [perl, -e, "print 1"]}]
""")
    server.cli("apply", "-f", str(tmp_path / "job.yaml"))

    def complete() -> Any:
        job = api.get("/apis/batch/v1/namespaces/default/jobs/pi")
        return job if any(c["type"] == "Complete" and c["status"] == "True"
                          for c in job["status"].get("conditions", [])) else None

    job = api.wait_for("the job to complete", complete, timeout=30)
    assert job["status"]["succeeded"] == 4
    assert sorted(p["status"]["phase"] for p in pods(api, "job-name=pi")) == ["Succeeded"] * 4
    assert "Completed" in server.cli("describe", "job", "pi").stdout


def test_daemonset_follows_nodes(orch_server: Callable[..., OrchServer], orch_sim: Callable[..., SimProcess],
                                 tmp_path: Path) -> None:
    server = orch_server()
    api = Api(server)
    orch_sim(server, "--nodes", "2", "--name-prefix", "s", *SIM).wait_for_line("joined ")
    (tmp_path / "ds.yaml").write_text("""apiVersion: apps/v1
kind: DaemonSet
metadata: {name: logs}
spec:
  selector: {matchLabels: {app: logs}}
  template:
    metadata: {labels: {app: logs}}
    spec: {containers: [{name: main, image: fluentbit}]}
""")
    server.cli("apply", "-f", str(tmp_path / "ds.yaml"))

    def on_nodes(want: set[str]) -> Callable[[], bool]:
        def check() -> bool:
            running = [p for p in pods(api, "app=logs") if is_ready(p)]
            return sorted(p["spec"]["nodeName"] for p in running) == sorted(want) and len(
                live(pods(api, "app=logs"))) == len(want)
        return check

    api.wait_for("a logs pod on s-0 and s-1", on_nodes({"s-0", "s-1"}), timeout=20)
    done = server.cli("rollout", "status", "ds/logs", "--timeout", "20", timeout=30).stdout
    assert done.splitlines()[-1] == 'daemon set "logs" successfully rolled out', done
    before = {p["metadata"]["name"] for p in live(pods(api, "app=logs"))}
    assert server.cli("rollout", "restart", "ds/logs").stdout.strip() == "daemonset.apps/logs restarted"
    server.cli("rollout", "status", "ds/logs", "--timeout", "20", timeout=30)
    api.wait_for("every logs pod replaced", lambda: on_nodes({"s-0", "s-1"})() and not (
        before & {p["metadata"]["name"] for p in live(pods(api, "app=logs"))}), timeout=20)
    refused = server.cli("rollout", "undo", "ds/logs", check=False)
    assert refused.returncode == 1 and "daemonsets take status and restart" in refused.stderr
    extra = orch_sim(server, "--nodes", "1", "--name-prefix", "x", "--cleanup", f"--admin-token={server.token}", *SIM)
    extra.wait_for_line("joined ")
    api.wait_for("a logs pod on the joining node", on_nodes({"s-0", "s-1", "x-0"}), timeout=20)
    extra.stop()  # --cleanup deletes its Node
    api.wait_for("the pod of the node that left gone", on_nodes({"s-0", "s-1"}), timeout=20)

    # Daemon pods go through the scheduler: one that cannot fit waits, and says why.
    (tmp_path / "big.yaml").write_text((tmp_path / "ds.yaml").read_text().replace("logs", "big").replace(
        "image: fluentbit}", "image: fluentbit, resources: {requests: {cpu: '500'}}}"))
    server.cli("apply", "-f", str(tmp_path / "big.yaml"))
    api.wait_for("a pending big pod per node", lambda: len(pods(api, "app=big")) == 2, timeout=20)
    assert all(not p["spec"].get("nodeName") for p in pods(api, "app=big"))
    name = pods(api, "app=big")[0]["metadata"]["name"]
    api.wait_for("its FailedScheduling reason", lambda: "Insufficient cpu" in server.cli(
        "describe", "pod", name).stdout, timeout=20)


def test_a_node_that_stops_renewing_its_lease_loses_its_pods(orch_server: Callable[..., OrchServer],
                                                             orch_sim: Callable[..., SimProcess],
                                                             tmp_path: Path) -> None:
    server = orch_server()
    api = Api(server)
    sim = orch_sim(server, "--nodes", "3", "--name-prefix", "s", *SIM)
    sim.wait_for_line("joined ")
    server.cli("apply", "-f", str(deployment_yaml(tmp_path / "web.yaml", "web", replicas=6, image="x:1")))
    rolled_out(server, "web")
    victims = {p["metadata"]["name"] for p in pods(api, "app=web") if p["spec"]["nodeName"] == "s-0"}
    assert victims, "the scheduler spreads replicas: some are on s-0"
    sim.post("/nodes/s-0/stop-lease")
    started = time.monotonic()

    def unreachable() -> Any:
        node = api.get("/api/v1/nodes/s-0")
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints", [])}
        return ready["status"] == "Unknown" and ("node.kubernetes.io/unreachable", "NoExecute") in taints

    api.wait_for("s-0 Unknown and tainted", unreachable, timeout=15)

    def moved() -> bool:
        items = pods(api, "app=web")
        names = {p["metadata"]["name"] for p in items}
        return (not names & victims and sum(is_ready(p) for p in items) == 6
                and all(p["spec"]["nodeName"] != "s-0" for p in items))

    api.wait_for("s-0's pods evicted and re-created elsewhere", moved, timeout=20)
    assert time.monotonic() - started >= 2.0  # not before grace + toleration
    events = server.cli("get", "events").stdout
    assert "TaintManagerEviction" in events and "NodeNotReady" in events
    sim.post("/nodes/s-0/start-lease")

    def back() -> bool:
        node = api.get("/api/v1/nodes/s-0")
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        return ready["status"] == "True" and not any(t["key"].startswith("node.kubernetes.io/")
                                                     for t in node["spec"].get("taints", []))

    api.wait_for("s-0 Ready again without the taint", back, timeout=15)


def test_drain_waits_for_the_disruption_budget(orch_server: Callable[..., OrchServer],
                                               orch_sim: Callable[..., SimProcess], tmp_path: Path) -> None:
    server = orch_server()
    api = Api(server)
    orch_sim(server, "--nodes", "2", "--name-prefix", "s", *SIM).wait_for_line("joined ")
    server.cli("apply", "-f", str(deployment_yaml(tmp_path / "web.yaml", "web", replicas=2, image="x:1")))
    rolled_out(server, "web")
    (tmp_path / "pdb.yaml").write_text("""apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec: {minAvailable: 2, selector: {matchLabels: {app: web}}}
""")
    server.cli("apply", "-f", str(tmp_path / "pdb.yaml"))
    api.wait_for("the budget's status", lambda: api.get(
        "/apis/policy/v1/namespaces/default/poddisruptionbudgets/web")["status"].get("currentHealthy") == 2,
        timeout=10)
    assert "ALLOWED DISRUPTIONS" in server.cli("get", "pdb").stdout
    blocked = server.cli("drain", "s-0", "--timeout", "2", check=False)
    assert blocked.returncode == 1, blocked
    assert "violate the pod's disruption budget" in blocked.stderr and "will retry" in blocked.stderr
    assert len(live(pods(api, "app=web"))) == 2  # nothing was evicted
    (tmp_path / "pdb.yaml").write_text((tmp_path / "pdb.yaml").read_text().replace("minAvailable: 2",
                                                                                   "minAvailable: 1"))
    server.cli("apply", "-f", str(tmp_path / "pdb.yaml"))
    drained = server.cli("drain", "s-0", "--timeout", "20")
    assert "node/s-0 drained" in drained.stdout
    assert all(p["spec"].get("nodeName") != "s-0" for p in live(pods(api, "app=web")))
