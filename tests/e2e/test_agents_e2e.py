"""Agents end to end, with real processes on one machine (loopback, their own ports and data
dirs): joining through the server and through each other, gossip membership, a `kill -9`
(stale Lease, Node Unknown, pods re-created elsewhere), a restart that rejoins as the same
node and adopts its running containers, join tokens (create, list, revoke, expire), the
embedded agent of `orch server`.

Agents run with short timings (--lease-renew 1 --gossip-interval 0.3 --suspect-after 2),
the server with --node-grace-period 8; its gossip timings are its defaults (1 s rounds,
suspect after 5 s) until `orch server` has flags for them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.membership.wire import sign
from tests.conftest import OrchServer, free_port, orch_command

AGENT_TIMING = ("--lease-renew", "1", "--gossip-interval", "0.3", "--suspect-after", "2")
GRACE_S = 8          # orch server --node-grace-period
SUSPECT_S = 5.0      # the server's suspect_after_s (its default: `orch server` has no flag for it yet)
MONITOR_SLACK_S = 15.0  # node-lifecycle check period + scheduling + a slow CI machine


# --- helpers ---------------------------------------------------------------------------------

def bare_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}


def call(url: str, path: str, *, token: str = "", method: str = "GET", body: Any = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, raw.decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:  # not listening (yet, or any more)
        return 0, str(exc)


def wait_until(check: Callable[[], Any], *, timeout: float, what: str, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}", pytrace=False)
        time.sleep(every)


class Agent:
    """One `orch agent` process; restartable on the same data dir and port."""

    def __init__(self, *, name: str, root: Path, join: str, token: str, runtime: str = "sim",
                 extra: tuple[str, ...] = ()) -> None:
        self.name, self.port, self.join, self.token, self.runtime = name, free_port(), join, token, runtime
        self.data_dir, self.log_path = root / f"agent-{name}", root / f"agent-{name}.log"
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, *, token: str | None, join: str | None, name: bool = True) -> list[str]:
        cmd = [*orch_command(), "agent", "--join", join or self.join, "--listen", f"127.0.0.1:{self.port}",
               "--data-dir", str(self.data_dir), "--runtime", self.runtime, "--gpus", "none", *AGENT_TIMING,
               *self.extra]
        if name:
            cmd += ["--name", self.name]
        token = self.token if token is None else token
        return cmd + (["--token", token] if token else [])

    def start(self, *, token: str | None = None, join: str | None = None, name: bool = True) -> None:
        assert self.process is None or self.process.poll() is not None, "already running"
        cmd = self.command(token=token, join=join, name=name)
        with self.log_path.open("ab") as log:
            log.write(f"--- {' '.join(cmd)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            env=bare_env(), start_new_session=True)

    def run_to_exit(self, *, token: str, join: str | None = None,
                    timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """An attempt expected to end by itself (a refused join)."""
        return subprocess.run(self.command(token=token, join=join), env=bare_env(), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 10.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"agent {self.name} did not stop within {timeout:.0f}s of SIGTERM:\n{self.log_tail()}")
        return self.process.returncode

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def node_json(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "node.json").read_text())


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[Callable[..., Agent]]:
    made: list[Agent] = []

    def make(name: str, *, server: OrchServer, join: str | None = None, token: str | None = None,
             start: bool = True, **kw: Any) -> Agent:
        token = (server.data_dir / "join-token").read_text().strip() if token is None else token
        agent = Agent(name=name, root=tmp_path, join=join or server.url, token=token, **kw)
        made.append(agent)
        if start:
            agent.start()
        return agent

    yield make
    for agent in made:
        if agent.process is not None and agent.process.poll() is None:
            agent.stop()
    for agent in made:  # pytest shows this only for a failed test
        print(f"--- agent {agent.name} ({agent.log_path}), last lines:\n{agent.log_tail()}")


def node(server: OrchServer, name: str) -> dict[str, Any] | None:
    status, body = call(server.url, f"/api/v1/nodes/{name}", token=server.token)
    return body if status == 200 else None


def ready_status(server: OrchServer, name: str) -> str | None:
    n = node(server, name)
    if n is None:
        return None
    return next((c["status"] for c in n["status"].get("conditions", []) if c["type"] == "Ready"), None)


def lease(server: OrchServer, name: str) -> dict[str, Any]:
    status, body = call(server.url, f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{name}",
                        token=server.token)
    assert status == 200, body
    return body


def agent_members(agent: Agent, server: OrchServer) -> dict[str, str]:
    """name -> status, as the agent's own gossip table has it (GET /gossip, signed)."""
    key = (server.data_dir / "gossip-key").read_text().strip()
    header = sign(key, method="GET", path="/gossip", body=b"", now=time.time())
    status, body = call(agent.url, "/gossip", headers={"X-Orch-Gossip-Signature": header})
    return {m["name"]: m["status"] for m in body["members"]} if status == 200 else {}


def server_members(server: OrchServer) -> dict[str, str]:
    status, body = call(server.url, "/gossip", token=server.token)
    return {m["name"]: m["status"] for m in body["members"]} if status == 200 else {}


def pods(server: OrchServer, selector: str) -> list[dict[str, Any]]:
    status, body = call(server.url, f"/api/v1/namespaces/default/pods?labelSelector={selector}", token=server.token)
    assert status == 200, body
    return body["items"] or []


def deployment(name: str, replicas: int) -> dict[str, Any]:
    """Pods that leave an unreachable node at once (tolerationSeconds 0), as Kubernetes does for its own."""
    zero = [{"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 0}
            for key in ("node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready")]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"tolerations": zero, "terminationGracePeriodSeconds": 1,
                                           "containers": [{"name": "main", "image": "busybox",
                                                           "command": ["sleep", "3600"]}]}}}}


# --- tests -------------------------------------------------------------------------------------

def test_three_agents_join_through_each_other_and_a_killed_one_is_replaced(orch_server, agents) -> None:
    server = orch_server("--node-grace-period", str(GRACE_S))
    a1 = agents("a1", server=server)                                   # through the server
    wait_until(lambda: ready_status(server, "a1") == "True", timeout=20, what="a1 Ready")
    a2 = agents("a2", server=server, join=a1.url)                      # through a1
    wait_until(lambda: ready_status(server, "a2") == "True", timeout=20, what="a2 Ready")
    a3 = agents("a3", server=server, join=a2.url)                      # through a2
    wait_until(lambda: ready_status(server, "a3") == "True", timeout=20, what="a3 Ready")
    trio = [a1, a2, a3]

    n3 = node(server, "a3")
    assert n3 is not None
    labels = n3["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "a3" and labels["kubernetes.io/os"] == "linux"
    assert labels["kubernetes.io/arch"] and n3["status"]["nodeInfo"]["containerRuntimeVersion"] == "sim"
    assert {a["address"] for a in n3["status"]["addresses"] if a["type"] == "InternalIP"} == {"127.0.0.1"}
    for a in trio:
        saved = a.node_json()
        assert saved["name"] == a.name and saved["apiServers"] == [server.url] and saved["credential"]
        assert (a.data_dir / "node.json").stat().st_mode & 0o777 == 0o600

    # members see each other (and the server), alive
    names = {"a1", "a2", "a3"}
    for a in trio:
        wait_until(lambda a=a: names <= {n for n, s in agent_members(a, server).items() if s == "alive"}
                   and any(n.startswith("server@") for n in agent_members(a, server)), timeout=15,
                   what=f"{a.name} sees all members alive")
    status, table = call(server.url, "/gossip", token=server.token)
    assert status == 200 and names <= {m["name"] for m in table["members"] if m["status"] == "alive"}

    # a wrong join token: 401 with a message, through an agent too, and no Node
    intruder = agents("intruder", server=server, join=a2.url, start=False)
    refused = intruder.run_to_exit(token="not-a-join-token")
    assert refused.returncode == 1 and "401" in refused.stderr and "not valid" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr and node(server, "intruder") is None
    # a name held by a live node: 409
    twin = agents("a1", server=server, start=False)
    twin.data_dir = twin.data_dir.with_name("agent-a1-twin")
    conflict = twin.run_to_exit(token=a1.token)
    assert conflict.returncode == 1 and "409" in conflict.stderr and "held by a live node" in conflict.stderr

    # three replicas, spread; kill -9 the node of the first
    status, body = call(server.url, "/apis/apps/v1/namespaces/default/deployments", token=server.token,
                        method="POST", body=deployment("web", 3))
    assert status == 201, body

    def running() -> list[dict[str, Any]]:
        return [p for p in pods(server, "app=web") if p["status"].get("phase") == "Running"
                and not p["metadata"].get("deletionTimestamp")]

    wait_until(lambda: len(running()) == 3, timeout=30, what="3 pods Running")
    victim_name = running()[0]["spec"]["nodeName"]
    victim = next(a for a in trio if a.name == victim_name)
    survivors = [a for a in trio if a is not victim]
    assert lease(server, victim_name)["spec"]["leaseDurationSeconds"] == GRACE_S
    victim.kill()
    killed = time.monotonic()

    # its Lease goes stale: once gossip no longer hears it (suspect), nobody renews it, not the agent,
    # not the server on its behalf; the others' Leases keep being renewed
    wait_until(lambda: server_members(server).get(victim_name) in ("suspect", "dead"), timeout=15,
               what=f"the server suspects {victim_name}")
    renewed = lease(server, victim_name)["spec"]["renewTime"]
    time.sleep(3.0)  # several of the agents' 1 s renewals, and the server's checks
    assert lease(server, victim_name)["spec"]["renewTime"] == renewed
    before = {a.name: lease(server, a.name)["spec"]["renewTime"] for a in survivors}
    wait_until(lambda: all(lease(server, a.name)["spec"]["renewTime"] != before[a.name] for a in survivors),
               timeout=5, what="the survivors' leases renewed")
    for a in survivors:
        wait_until(lambda a=a: agent_members(a, server).get(victim_name) in ("suspect", "dead"), timeout=10,
                   what=f"{a.name} suspects {victim_name}")

    # the node-lifecycle controller: Ready=Unknown within the grace period (plus its check period)
    wait_until(lambda: ready_status(server, victim_name) == "Unknown", timeout=GRACE_S + MONITOR_SLACK_S,
               what=f"{victim_name} Ready=Unknown", every=0.5)
    assert time.monotonic() - killed <= GRACE_S + SUSPECT_S + MONITOR_SLACK_S
    assert all(ready_status(server, a.name) == "True" for a in survivors)

    # ...and its pods re-created on the others
    wait_until(lambda: len([p for p in running() if p["spec"]["nodeName"] != victim_name]) == 3, timeout=40,
               what="3 pods Running on the surviving nodes", every=0.5)

    # the killed agent comes back: the same node (credential from node.json, no join token), Ready again
    old_credential = victim.node_json()["credential"]
    victim.start(token="")
    wait_until(lambda: ready_status(server, victim_name) == "True", timeout=20, what=f"{victim_name} Ready again")
    assert victim.node_json()["credential"] != old_credential  # rotated by the rejoin
    assert "rejoined with the saved node credential" in victim.log_path.read_text()
    for a in survivors:
        wait_until(lambda a=a: agent_members(a, server).get(victim_name) == "alive", timeout=15,
                   what=f"{a.name} sees {victim_name} alive again (refuted)")


def _records(agent: Agent) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((agent.data_dir / "containers").glob("*.json"))]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_restarted_agent_rejoins_as_the_same_node_and_adopts_its_containers(orch_server, agents) -> None:
    server = orch_server()
    a1 = agents("p1", server=server, runtime="process")
    wait_until(lambda: ready_status(server, "p1") == "True", timeout=20, what="p1 Ready")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper", "labels": {"app": "sleeper"}},
           "spec": {"nodeName": "p1", "terminationGracePeriodSeconds": 2,
                    "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}}
    status, body = call(server.url, "/api/v1/namespaces/default/pods", token=server.token, method="POST", body=pod)
    assert status == 201, body
    pids: list[int] = []
    try:
        wait_until(lambda: [p for p in pods(server, "app=sleeper") if p["status"].get("phase") == "Running"],
                   timeout=30, what="the pod Running")
        records = wait_until(lambda: [r for r in _records(a1) if r["state"] == "running" and r["pid"]], timeout=10,
                             what="a running container record")
        assert len(records) == 1
        pid = records[0]["pid"]
        pids.append(pid)
        credential = a1.node_json()["credential"]

        a1.kill()  # kill -9: the container keeps running without its agent
        time.sleep(1.0)
        assert _alive(pid)
        a1.start(token="", name=False)  # no join token, no --name: node.json says who it is
        wait_until(lambda: "rejoined with the saved node credential" in a1.log_path.read_text(), timeout=20,
                   what="the rejoin")
        assert a1.node_json()["name"] == "p1" and a1.node_json()["credential"] != credential
        wait_until(lambda: ready_status(server, "p1") == "True", timeout=20, what="p1 Ready")
        time.sleep(3.0)  # a few pod-sync rounds: nothing may be restarted or duplicated
        assert _alive(pid)
        after = [r for r in _records(a1) if r["state"] == "running"]
        assert [r["pid"] for r in after] == [pid], after
        (p,) = pods(server, "app=sleeper")
        assert p["status"]["phase"] == "Running"
        assert [c.get("restartCount", 0) for c in p["status"].get("containerStatuses", [])] == [0]
        status, nodes = call(server.url, "/api/v1/nodes", token=server.token)
        assert [n["metadata"]["name"] for n in nodes["items"]] == ["p1"]
    finally:
        call(server.url, "/api/v1/namespaces/default/pods/sleeper", token=server.token, method="DELETE")
        for pid in pids:  # whatever the agent did not stop, we do (a process group of its own)
            if _alive(pid):
                try:
                    wait_until(lambda: not _alive(pid), timeout=10, what="the container stopped by its agent")
                finally:
                    if _alive(pid):
                        os.killpg(pid, signal.SIGKILL)


def test_join_tokens_create_list_revoke_expire(orch_server, agents) -> None:
    server = orch_server()
    made = server.cli("token", "create", "--ttl", "1h", "--description", "for e2e")
    token = made.stdout.strip()
    assert len(token) > 20 and "\n" not in token and "shown only this once" in made.stderr
    listed = server.cli("token", "list").stdout
    header, *rows = listed.splitlines()
    assert header.split() == ["NAME", "TYPE", "EXPIRES", "AGE", "DESCRIPTION"]
    mine = [r for r in rows if "for e2e" in r]
    assert len(mine) == 1 and " join " in f" {mine[0]} " and token not in listed
    assert any(r.startswith("join-token-default") for r in rows)
    name = mine[0].split()[0]

    t1 = agents("t1", server=server, token=token)
    wait_until(lambda: ready_status(server, "t1") == "True", timeout=20, what="t1 joined with the new token")
    rows = server.cli("token", "list").stdout.splitlines()
    assert any(r.startswith("node-t1 ") and "node-credential" in r for r in rows)

    assert f'token "{name}" revoked' in server.cli("token", "revoke", name).stdout
    assert name not in server.cli("token", "list").stdout
    t2 = agents("t2", server=server, token=token, start=False)
    refused = t2.run_to_exit(token=token)
    assert refused.returncode == 1 and "401" in refused.stderr, refused.stderr
    assert node(server, "t2") is None
    missing = server.cli("token", "revoke", name, check=False)
    assert missing.returncode == 1 and "not found" in missing.stderr
    not_a_token = server.cli("token", "revoke", "nonsense", check=False)
    assert not_a_token.returncode == 1

    short = server.cli("token", "create", "--ttl", "1s").stdout.strip()
    time.sleep(1.5)
    t3 = agents("t3", server=server, token=short, start=False)
    expired = t3.run_to_exit(token=short)
    assert expired.returncode == 1 and "401" in expired.stderr and node(server, "t3") is None
    assert "(expired)" in server.cli("token", "list").stdout
    bad_ttl = server.cli("token", "create", "--ttl", "soon", check=False)
    assert bad_ttl.returncode == 1 and "--ttl" in bad_ttl.stderr


def test_embedded_agent_joins_its_own_server_and_stops_with_it(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "srv"
    log = (tmp_path / "server.log").open("wb")
    cmd = [*orch_command(), "server", "--data-dir", str(data), "--listen", f"127.0.0.1:{port}", "--kube-port", "0"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=bare_env(),
                            start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        token = wait_until(lambda: (data / "admin-token").exists() and (data / "admin-token").read_text().strip(),
                           timeout=20, what="the admin token")

        def nodes() -> list[dict[str, Any]]:
            status, body = call(url, "/api/v1/nodes", token=token)
            return (body["items"] or []) if status == 200 else []

        (n,) = wait_until(nodes, timeout=30, what="the embedded agent's Node")
        labels = n["metadata"]["labels"]
        assert labels["node-role.kubernetes.io/control-plane"] == "true"
        assert n["status"]["nodeInfo"]["containerRuntimeVersion"] in ("docker", "process")
        assert "orch.io/runtime-reason" in n["metadata"].get("annotations", {})
        wait_until(lambda: any(c["type"] == "Ready" and c["status"] == "True"
                               for c in nodes()[0]["status"]["conditions"]), timeout=20, what="Ready")
        assert json.loads((data / "agent" / "node.json").read_text())["name"] == n["metadata"]["name"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    text = (tmp_path / "server.log").read_text()
    assert "agent stopped; containers left running" in text and "Traceback" not in text, text[-3000:]
