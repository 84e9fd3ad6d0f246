"""Benchmark `orch sim` against a real `orch server --no-agent` (not collected by pytest).

    .venv/bin/python -m tests.sim.bench_sim --nodes 1000 --pods 10000 --rate 600
    .venv/bin/python -m tests.sim.bench_sim --nodes 1000 --pods 10000 --backlog

Starts a server and `orch sim --nodes N`, creates P pods already bound (spec.nodeName
round-robin over the sim's nodes) at about --rate per second, and watches them:
prints the join time, the create rate, how fast pods reached Running, and the sim's
own status writes per second (from its control listener). With --backlog the pods are
created while the sim is frozen (SIGSTOP), then it drains them alone: its own ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

from orchestrator.client import Client
from orchestrator.model.pods import Container, Pod
from scripts.bench.common import ROOT, free_port, orch_server


def pod(name: str, node: str) -> Pod:
    p = Pod()
    p.metadata.name, p.metadata.namespace = name, "default"
    p.spec.node_name = node
    p.spec.containers = [Container(name="c", image="busybox")]
    return p


def start_sim(url: str, join_token: str, *, nodes: int, control_port: int) -> tuple[subprocess.Popen[str], float]:
    cmd = [sys.executable, "-m", "orchestrator.cli.main", "sim", "--join", url, f"--token={join_token}",
           "--nodes", str(nodes), "--control", f"127.0.0.1:{control_port}", "--report-interval", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout is not None
    for line in proc.stdout:  # "control listening on URL", then "joined N nodes in S s ..."
        print("  sim:", line.rstrip())
        found = re.search(r"joined \d+ nodes in ([\d.]+) s", line)
        if found:
            return proc, float(found.group(1))
    raise RuntimeError(f"orch sim exited with {proc.wait()}")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sim_stats(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as r:
        return dict(json.load(r))


async def drive(url: str, token: str, *, nodes: int, pods: int, rate: float, concurrency: int) -> dict[str, float]:
    async with Client(url, token, timeout=60) as client:
        running: dict[str, float] = {}
        all_running = asyncio.Event()

        async def watch() -> None:
            async for ev in client.watch("pods", namespace="default", resource_version=rv):
                if ev.object.status.phase == "Running" and ev.object.metadata.name not in running:
                    running[ev.object.metadata.name] = time.monotonic()
                    if len(running) == pods:
                        all_running.set()
                        return

        rv = (await client.list("pods", namespace="default")).resource_version
        watcher = asyncio.create_task(watch())
        gate = asyncio.Semaphore(concurrency)
        t0 = time.monotonic()

        async def create(i: int) -> None:
            async with gate:
                await client.create(pod(f"p-{i}", f"sim-{i % nodes}"))

        async with asyncio.TaskGroup() as tg:
            for i in range(pods):
                await asyncio.sleep(max(0.0, t0 + i / rate - time.monotonic()))
                tg.create_task(create(i))
        created = time.monotonic() - t0
        await asyncio.wait_for(all_running.wait(), timeout=600)
        await watcher
        done = time.monotonic() - t0
        return {"created_s": created, "all_running_s": done, "create_rate": pods / created,
                "running_rate": pods / done}


async def backlog(url: str, token: str, *, nodes: int, pods: int) -> None:
    async with Client(url, token, timeout=60) as client:
        gate = asyncio.Semaphore(64)

        async def create(i: int) -> None:
            async with gate:
                await client.create(pod(f"p-{i}", f"sim-{i % nodes}"))

        async with asyncio.TaskGroup() as tg:
            for i in range(pods):
                tg.create_task(create(i))


def drain(server: object, args: argparse.Namespace) -> None:
    """Join, freeze the sim (SIGSTOP), create the backlog, thaw it and time the drain.

    Pods must be bound to nodes that exist: the node-lifecycle controller deletes pods
    bound to missing nodes. Frozen for less than the lease grace, no node goes stale.
    """
    url, token, data_dir = server.url, server.token, server.data_dir  # type: ignore[attr-defined]
    control = free_port()
    sim, join_s = start_sim(url, (data_dir / "join-token").read_text().strip(), nodes=args.nodes,
                            control_port=control)
    try:
        os.kill(sim.pid, signal.SIGSTOP)
        t0 = time.monotonic()
        asyncio.run(backlog(url, token, nodes=args.nodes, pods=args.pods))
        print(f"backlog of {args.pods} bound pods created in {time.monotonic() - t0:.1f} s (sim frozen)")
        cpu0 = (cpu_s(sim.pid), cpu_s(server.proc.pid))  # type: ignore[attr-defined]
        thawed = time.monotonic()
        os.kill(sim.pid, signal.SIGCONT)
        deadline = thawed + 120
        while (stats := sim_stats(control))["started"] < args.pods:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the sim did not drain the backlog within 120 s: {stats}")
            time.sleep(0.05)
        drained = time.monotonic() - thawed
        cpu = (cpu_s(sim.pid) - cpu0[0], cpu_s(server.proc.pid) - cpu0[1])  # type: ignore[attr-defined]
    finally:
        os.kill(sim.pid, signal.SIGCONT)
        sim.terminate()
        sim.wait(15)
    print(f"nodes joined: {args.nodes} in {join_s:.1f} s")
    print(f"backlog:      {args.pods} pods Running {drained:.1f} s after the sim was thawed: "
          f"{args.pods / drained:.0f} status writes/s (conflicts {stats['conflicts']}, errors {stats['errors']})")
    print(f"cpu:          sim {cpu[0]:.1f} s ({cpu[0] / drained:.0%} of a core), "
          f"server {cpu[1]:.1f} s ({cpu[1] / drained:.0%}); "
          f"~{args.pods / cpu[0]:.0f} status writes per sim CPU second")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--pods", type=int, default=10000)
    ap.add_argument("--rate", type=float, default=600.0, help="pod creations per second to aim at")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--backlog", action="store_true", help="create every pod first, then start the sim")
    args = ap.parse_args()
    with orch_server("--sync", "normal") as server:
        if args.backlog:
            return drain(server, args)
        join_token = (server.data_dir / "join-token").read_text().strip()
        control = free_port()
        sim, join_s = start_sim(server.url, join_token, nodes=args.nodes, control_port=control)
        try:
            time.sleep(1)
            before = sim_stats(control)
            t0 = time.monotonic()
            result = asyncio.run(drive(server.url, server.token, nodes=args.nodes, pods=args.pods, rate=args.rate,
                                       concurrency=args.concurrency))
            elapsed = time.monotonic() - t0
            after = sim_stats(control)
        finally:
            sim.terminate()
            sim.wait(15)
        writes = after["writes"] - before["writes"]
        print(f"nodes joined: {args.nodes} in {join_s:.1f} s")
        print(f"pods created: {args.pods} in {result['created_s']:.1f} s ({result['create_rate']:.0f}/s)")
        print(f"all Running:  {result['all_running_s']:.1f} s after the first create "
              f"({result['running_rate']:.0f} pods/s end to end)")
        print(f"sim writes:   {writes} status writes, {writes / elapsed:.0f}/s over the run; "
              f"conflicts {after['conflicts']}, errors {after['errors']}, lease renewals {after['leaseRenewals']}")
        print(f"server RSS:   {server.rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
