"""Pod startup on Docker: orch vs `docker run -d` (the floor) and vs Docker Swarm.

    .venv/bin/python scripts/bench/startup.py [--pods 20] [--replicas 20] [--no-swarm] [--json FILE]

In one run, on one engine and one local image (``orch-test/busybox:latest`` unless
``--image``; built by ``python -m tests.runtime.image`` when missing):

1. floor: ``docker run -d --init IMAGE sleep 3600``, one after another, each timed;
   and as many at once (the engine's own time for a burst);
2. orch: ``orch server --no-agent`` and ``orch agent --runtime docker`` as processes;
   pods created one after another, each timed from the create call until a watch
   shows it Running (scheduled by the scheduler when one runs, else bound by name);
   p50/p99 beside the floor's, and orch's overhead at p99;
3. agent RSS idle and with the pods running;
4. 20 replicas: an orch Deployment (or, without controllers, 20 pods at once) until
   all Running, vs ``docker service create --replicas 20`` in Swarm mode, the fair way
   (image by ID, ``--init``; see /work/shared/BENCHMARKS.md); the swarm is left after.

Everything made here is removed at the end (containers by label, the swarm service).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from orchestrator.client import Client  # noqa: E402
from scripts.bench.common import free_port, median, orch_server, pct  # noqa: E402

NS = "bench"
FLOOR_LABEL = "orch-bench=floor"


def docker(*args: str, check: bool = True) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=120).stdout


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def floor(image: str, n: int) -> list[float]:
    times = []
    for i in range(n):
        started = time.perf_counter()
        docker("run", "-d", "--init", "--label", FLOOR_LABEL, "--name", f"orch-bench-floor-{i}", image, "sleep", "3600")
        times.append(time.perf_counter() - started)
    ids = docker("ps", "-aq", "--filter", f"label={FLOOR_LABEL}").split()
    if ids:
        docker("rm", "-f", *ids)
    return times


def floor_parallel(image: str, n: int) -> float:
    """``n`` × ``docker run -d`` all at once: the engine's own time for a burst of starts."""
    started = time.perf_counter()
    procs = [subprocess.Popen(["docker", "run", "-d", "--init", "--label", FLOOR_LABEL, image, "sleep", "3600"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
    for proc in procs:
        proc.wait(120)
    took = time.perf_counter() - started
    ids = docker("ps", "-aq", "--filter", f"label={FLOOR_LABEL}").split()
    if ids:
        docker("rm", "-f", *ids)
    return took


def start_agent(url: str, token: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    port = free_port()
    log = data_dir / "agent.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli.main", "agent", "--join", url, "--token", token,
         "--name", "bench-node", "--listen", f"127.0.0.1:{port}", "--data-dir", str(data_dir / "agent"),
         "--runtime", "docker", "--gpus", "none", "--log-format", "json"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT)  # fmt: skip
    return proc, log


def pod(name: str, image: str, *, node: str | None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "main", "image": image, "imagePullPolicy": "IfNotPresent",
                                            "command": ["sleep", "3600"]}], "terminationGracePeriodSeconds": 2}
    if node:
        spec["nodeName"] = node
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS, "labels": labels or {}},
            "spec": spec}


class Running:
    """A watch over the namespace's pods: when each name was first seen Running."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.seen: dict[str, float] = {}
        self.changed = asyncio.Event()

    async def run(self) -> None:
        async for ev in self.client.watch("pods", namespace=NS):
            name = ev.object.metadata.name
            if ev.type != "DELETED" and ev.object.status.phase == "Running" and name not in self.seen:
                self.seen[name] = time.perf_counter()
                self.changed.set()

    async def wait(self, names: set[str], timeout: float) -> float:
        async with asyncio.timeout(timeout):
            while not names <= self.seen.keys():
                self.changed.clear()
                await self.changed.wait()
        return max(self.seen[n] for n in names)


async def wait_node_ready(client: Client, name: str, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while True:
            try:
                node = await client.get("nodes", name)
                if any(c.type == "Ready" and c.status == "True" for c in node.status.conditions):
                    return
            except Exception:  # noqa: BLE001 - not there yet
                pass
            await asyncio.sleep(0.2)


async def scheduler_binds(client: Client, image: str, watcher: Running) -> bool:
    await client.create(_typed(pod("probe-scheduler", image, node=None)))
    try:
        await watcher.wait({"probe-scheduler"}, timeout=10)
        ok = True
    except TimeoutError:
        ok = False
    await client.delete("pods", "probe-scheduler", namespace=NS, grace_period_seconds=0)
    return ok


def _typed(manifest: dict[str, Any]) -> Any:
    from orchestrator.model import codec
    from orchestrator.model.pods import Pod

    return codec.convert(manifest, Pod, kind="Pod")


async def delete_all(client: Client, timeout: float = 60) -> None:
    pods = await client.list("pods", namespace=NS)
    for p in pods.items:
        await client.delete("pods", p.metadata.name, namespace=NS)
    async with asyncio.timeout(timeout):
        while (await client.list("pods", namespace=NS)).items:
            await asyncio.sleep(0.2)


async def orch_side(args: argparse.Namespace, result: dict[str, Any]) -> None:
    with orch_server() as server:
        async with Client(server.url, server.token, timeout=30) as client:
            await client.create(_typed_ns())
            agent, agent_log = start_agent(server.url, (server.data_dir / "join-token").read_text().strip(),
                                           server.data_dir)
            try:
                await wait_node_ready(client, "bench-node")
                watcher = Running(client)
                watch_task = asyncio.create_task(watcher.run(), name="bench-watch")
                await asyncio.sleep(0.5)  # the watch is open before the first create
                scheduled = await scheduler_binds(client, args.image, watcher)
                node = None if scheduled else "bench-node"
                await asyncio.sleep(2.0)
                result["agent_rss_idle_mb"] = round(rss_mb(agent.pid), 1)
                latencies = []
                for i in range(args.pods):
                    name = f"p{i}"
                    started = time.perf_counter()
                    await client.create(_typed(pod(name, args.image, node=node)))
                    done = await watcher.wait({name}, timeout=60)
                    latencies.append(done - started)
                await asyncio.sleep(2.0)
                result["agent_rss_with_pods_mb"] = round(rss_mb(agent.pid), 1)
                result["orch_startup_s"] = latencies
                result["scheduled_by"] = "scheduler" if scheduled else "nodeName set directly (no scheduler)"
                await delete_all(client)
                result["replicas"] = await replicas(client, args, watcher, node)
                await delete_all(client)
                watch_task.cancel()
                await asyncio.gather(watch_task, return_exceptions=True)
            finally:
                agent.terminate()
                try:
                    agent.wait(15)
                except subprocess.TimeoutExpired:
                    agent.kill()
                result["agent_log"] = str(agent_log)
                ids = docker("ps", "-aq", "--filter", f"label=orch.io/namespace={NS}").split()
                if ids:
                    docker("rm", "-f", *ids)


def _typed_ns() -> Any:
    from orchestrator.model import codec
    from orchestrator.model.cluster import Namespace

    return codec.convert({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}, Namespace)


async def replicas(client: Client, args: argparse.Namespace, watcher: Running, node: str | None) -> dict[str, Any]:
    from orchestrator.model import codec
    from orchestrator.model.apps import Deployment

    n = args.replicas
    labels = {"app": "bench"}
    template = pod("x", args.image, node=node, labels=labels)
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "bench", "namespace": NS},
                  "spec": {"replicas": n, "selector": {"matchLabels": labels},
                           "template": {"metadata": {"labels": labels}, "spec": template["spec"]}}}
    watcher.seen.clear()
    started = time.perf_counter()
    await client.create(codec.convert(deployment, Deployment, kind="Deployment"))
    try:
        async with asyncio.timeout(60):
            while len(watcher.seen) < n:
                watcher.changed.clear()
                await watcher.changed.wait()
        took, how = max(watcher.seen.values()) - started, "Deployment"
    except TimeoutError:
        how = f"Deployment gave {len(watcher.seen)}/{n} Running in 60 s; fell back to {n} pods created at once"
        await client.delete("deployments", "bench", namespace=NS)
        await delete_all(client)
        watcher.seen.clear()
        started = time.perf_counter()
        await asyncio.gather(*(client.create(_typed(pod(f"r{i}", args.image, node=node))) for i in range(n)))
        took = await watcher.wait({f"r{i}" for i in range(n)}, timeout=120) - started
    else:
        await client.delete("deployments", "bench", namespace=NS)
    return {"how": how, "all_running_s": round(took, 3)}


def swarm(image: str, n: int) -> float | None:
    image_id = docker("image", "inspect", "-f", "{{.Id}}", image).strip()
    if subprocess.run(["docker", "swarm", "init", "--advertise-addr", "127.0.0.1"], capture_output=True).returncode:
        print("docker swarm init failed; skipping the Swarm comparison", file=sys.stderr)
        return None
    try:
        started = time.perf_counter()
        docker("service", "create", "--detach", "--init", "--name", "orchbench", "--replicas", str(n), image_id,
               "sleep", "3600")
        deadline = started + 120
        while time.perf_counter() < deadline:
            out = docker("service", "ps", "orchbench", "--filter", "desired-state=running", "--format",
                         "{{.CurrentState}}")
            if sum(line.startswith("Running") for line in out.splitlines()) >= n:
                return time.perf_counter() - started
            time.sleep(0.05)
        return None
    finally:
        docker("service", "rm", "orchbench", check=False)
        docker("swarm", "leave", "--force", check=False)
        docker("network", "rm", "docker_gwbridge", check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=20)
    parser.add_argument("--replicas", type=int, default=20)
    parser.add_argument("--image", default="orch-test/busybox:latest")
    parser.add_argument("--no-swarm", action="store_true")
    parser.add_argument("--json", default="", help="write the figures to this file too")
    args = parser.parse_args()
    docker("image", "inspect", args.image)  # present, or fail here
    result: dict[str, Any] = {"image": args.image, "cpus": os.cpu_count()}
    floor_times = floor(args.image, args.pods)
    result["floor_docker_run_s"] = floor_times
    result["floor_parallel_s"] = round(floor_parallel(args.image, args.replicas), 3)
    asyncio.run(orch_side(args, result))
    if not args.no_swarm:
        took = swarm(args.image, args.replicas)
        result["swarm_all_running_s"] = round(took, 3) if took is not None else None
    orch = result["orch_startup_s"]
    summary = {
        "floor p50 / p99 (s)": (round(median(floor_times), 3), round(pct(floor_times, 99), 3)),
        "orch p50 / p99 (s)": (round(median(orch), 3), round(pct(orch, 99), 3)),
        "orch overhead at p99 (ms)": round((pct(orch, 99) - pct(floor_times, 99)) * 1000),
        "orch overhead at p50 (ms)": round((median(orch) - median(floor_times)) * 1000),
        "pods scheduled by": result["scheduled_by"],
        f"{args.replicas} x docker run -d at once (s)": result["floor_parallel_s"],
        f"{args.replicas} replicas, orch (s)": result["replicas"],
        f"{args.replicas} replicas, Swarm (s)": result.get("swarm_all_running_s"),
        "agent RSS idle / with pods (MB)": (result["agent_rss_idle_mb"], result["agent_rss_with_pods_mb"]),
    }
    swarm_s = result.get("swarm_all_running_s")
    if swarm_s:
        summary["Swarm / orch ratio"] = round(swarm_s / result["replicas"]["all_running_s"], 2)
    for key, value in summary.items():
        print(f"{key:38} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps({**result, "summary": summary}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        raise SystemExit(main())
