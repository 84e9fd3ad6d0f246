"""Scheduler benchmark: the pure placement decision, then create -> bound end to end.

    .venv/bin/python scripts/bench/scheduler.py [--quick] [--pure-only] [--nodes N] [--pods N] [--gpu-pods N]

(a) Pure: `Planner.schedule` over an in-memory snapshot of 1,000 nodes, 10,000
    CPU/memory pods (and 5,000 one-GPU pods on 1,000 GPU nodes); the time includes
    turning each Pod into its PodInfo.
(b) End to end: a real `orch server --no-agent` subprocess; 1,000 nodes registered by
    `orch sim` (simulated agents: they join, keep leases and move bound pods to Running,
    exactly as real agents would load the server), or, without `orch sim`, Node objects
    created through the API with the admin token; 10,000 pods created through the API by
    2 client processes x 32 connections; a websocket watch in a third process sees each
    pod ADDED and then bound. Throughput = pods / (last bound - first created). Then the
    same with 5,000 one-GPU pods on 1,000 GPU nodes (8 GPUs each), on a fresh server.

Kubernetes' own scheduler CI floors, for comparison (scheduler_perf, 5,000 nodes):
680 pods/s for plain pods, 180 pods/s with extended resources such as GPUs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import aiohttp  # noqa: E402
import msgspec  # noqa: E402

from scripts.bench.common import ROOT, Server, orch_server, pct  # noqa: E402

K8S_PLAIN, K8S_EXTENDED = 680, 180
NODE_CPU, NODE_MEMORY, NODE_PODS, NODE_GPUS = "32", "128Gi", 110, 8


# --- (a) pure placement ----------------------------------------------------------------------

def pure(nodes: int, pods: int, gpus: int) -> tuple[float, float]:
    """(pods/s including PodInfo, pods/s for the plan alone)."""
    from orchestrator.model.base import Condition, ObjectMeta
    from orchestrator.model.containers import Container, ResourceRequirements
    from orchestrator.model.nodes import GpuDevice, Node, NodeSpec, NodeStatus, Taint
    from orchestrator.model.pods import Pod, PodSpec, Toleration
    from orchestrator.scheduler.planning import Planner
    from orchestrator.scheduler.pods import pod_info
    from orchestrator.scheduler.snapshot import Snapshot

    snap = Snapshot()
    alloc = {"cpu": NODE_CPU, "memory": NODE_MEMORY, "pods": str(NODE_PODS)}
    for i in range(nodes):
        devices = [GpuDevice(index=j, uuid=f"GPU-{i:04d}-{j}") for j in range(NODE_GPUS if gpus else 0)]
        a = {**alloc, "nvidia.com/gpu": str(len(devices))} if devices else alloc
        taints = [Taint(key="nvidia.com/gpu", value="present", effect="NoSchedule")] if devices else []
        snap.set_node(Node(metadata=ObjectMeta(name=f"node-{i}"), spec=NodeSpec(taints=taints),
                           status=NodeStatus(allocatable=dict(a), gpus=devices,
                                             conditions=[Condition(type="Ready", status="True")])))
    limits = {"nvidia.com/gpu": str(gpus)} if gpus else {}
    tols = [Toleration(key="nvidia.com/gpu", operator="Exists", effect="NoSchedule")] if gpus else []
    objs = [Pod(metadata=ObjectMeta(name=f"p-{i}", namespace="default", uid=f"u-{i}", resource_version=str(i + 1)),
                spec=PodSpec(tolerations=tols, containers=[Container(name="c", image="x", resources=ResourceRequirements(
                    requests={"cpu": "100m", "memory": "128Mi"}, limits=limits))]))
            for i in range(pods)]
    start = time.perf_counter()
    infos = [pod_info(p) for p in objs]
    mid = time.perf_counter()
    plan = Planner().schedule(snap, infos)
    end = time.perf_counter()
    assert len(plan.assignments) == pods, f"{len(plan.failures)} pods not placed: {plan.failures[:1]}"
    return pods / (end - start), pods / (end - mid)


# --- (b) end to end --------------------------------------------------------------------------

class _Meta(msgspec.Struct):
    name: str = ""


class _Spec(msgspec.Struct):
    nodeName: str = ""  # noqa: N815 (wire name)


class _Pod(msgspec.Struct):
    metadata: _Meta = msgspec.field(default_factory=_Meta)
    spec: _Spec = msgspec.field(default_factory=_Spec)


class _Event(msgspec.Struct):
    type: str
    object: _Pod


async def _watch(url: str, token: str, rv: str, total: int, ready: str, timeout: float) -> dict[str, Any]:
    """Wall-clock times each pod was first seen and first seen bound."""
    dec = msgspec.json.Decoder(_Event)
    added: dict[str, float] = {}
    bound: dict[str, float] = {}
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(f"{url}/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}",
                                headers={"Authorization": f"Bearer {token}"}, max_msg_size=0) as ws:
            Path(ready).write_text("ok")
            try:
                async with asyncio.timeout(timeout):
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        ev = dec.decode(msg.data)
                        now = time.time()
                        name = ev.object.metadata.name
                        added.setdefault(name, now)
                        if ev.object.spec.nodeName and name not in bound:
                            bound[name] = now
                            if len(bound) == total:
                                break
            except TimeoutError:
                pass
    return {"added": added, "bound": bound}


async def _create(url: str, token: str, prefix: str, count: int, gpus: int, connections: int) -> int:
    hdrs = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    resources: dict[str, Any] = {"requests": {"cpu": "100m", "memory": "128Mi"}}
    if gpus:
        resources["limits"] = {"nvidia.com/gpu": gpus}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as s:
        async def worker(w: int) -> None:
            for i in range(w, count, connections):
                body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{prefix}-{i}"},
                        "spec": {"containers": [{"name": "main", "image": "busybox", "resources": resources}]}}
                async with s.post(f"{url}/api/v1/namespaces/default/pods", data=json.dumps(body), headers=hdrs) as r:
                    await r.read()
                    if r.status != 201:
                        raise RuntimeError(f"create answered {r.status}")
        await asyncio.gather(*(worker(w) for w in range(connections)))
    return count


def _proc_run(fn, args, q) -> None:  # type: ignore[no-untyped-def]
    q.put(asyncio.run(fn(*args)))


def _get(srv: Server, path: str) -> Any:
    req = urllib.request.Request(srv.url + path, headers={"Authorization": f"Bearer {srv.token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def _post(srv: Server, path: str, body: dict[str, Any]) -> None:
    req = urllib.request.Request(srv.url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": f"Bearer {srv.token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30):
        pass


def _ready_nodes(srv: Server) -> int:
    items = _get(srv, "/api/v1/nodes")["items"]
    return sum(1 for n in items if any(c["type"] == "Ready" and c["status"] == "True"
                                       for c in n.get("status", {}).get("conditions", [])))


def register_nodes(srv: Server, nodes: int, gpus: int) -> tuple[str, subprocess.Popen[bytes] | None]:
    """`orch sim` when it exists, else Node objects through the API. Answers (how, sim process)."""
    if (ROOT / "orchestrator" / "cli" / "sim.py").exists():
        join = (srv.data_dir / "join-token").read_text().strip()
        log = open(srv.data_dir / "sim.log", "wb")
        sim = subprocess.Popen([sys.executable, "-m", "orchestrator.cli.main", "sim", "--join", srv.url,
                                "--token", join, "--nodes", str(nodes), "--name-prefix", "bench",
                                "--cpu", NODE_CPU, "--memory", NODE_MEMORY, "--max-pods", str(NODE_PODS),
                                "--gpus-per-node", str(NODE_GPUS if gpus else 0), "--report-interval", "0"],
                               stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        how = "orch sim"
    else:
        sim, how = None, "Node objects created through the API (admin token; no orch sim yet)"
        alloc: dict[str, Any] = {"cpu": NODE_CPU, "memory": NODE_MEMORY, "pods": str(NODE_PODS)}
        for i in range(nodes):
            status: dict[str, Any] = {"allocatable": alloc, "capacity": alloc,
                                      "conditions": [{"type": "Ready", "status": "True"}]}
            spec: dict[str, Any] = {}
            if gpus:
                status["allocatable"] = status["capacity"] = {**alloc, "nvidia.com/gpu": str(NODE_GPUS)}
                status["gpus"] = [{"index": j, "uuid": f"GPU-{i:04d}-{j}"} for j in range(NODE_GPUS)]
                spec["taints"] = [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]
            _post(srv, "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": f"bench-{i}"},
                                         "spec": spec, "status": status})
    deadline = time.time() + 120
    while _ready_nodes(srv) < nodes:
        if time.time() > deadline or (sim is not None and sim.poll() is not None):
            raise RuntimeError(f"only {_ready_nodes(srv)} of {nodes} nodes became Ready; see {srv.data_dir}")
        time.sleep(0.5)
    return how, sim


def end_to_end(nodes: int, pods: int, gpus: int, *, creators: int = 2, connections: int = 32) -> dict[str, Any]:
    with orch_server() as srv:
        how, sim = register_nodes(srv, nodes, gpus)
        try:
            time.sleep(1.0)  # let the scheduler's informers take in the last nodes
            rv = _get(srv, "/api/v1/namespaces/default/pods?limit=1")["metadata"]["resourceVersion"]
            ctx = mp.get_context("spawn")
            q = ctx.Queue()
            ready = srv.data_dir / "watch-ready"
            watcher = ctx.Process(target=_proc_run, args=(_watch, (srv.url, srv.token, rv, pods, str(ready), 300), q))
            watcher.start()
            while not ready.exists():
                time.sleep(0.05)
            share = [pods // creators + (1 if c < pods % creators else 0) for c in range(creators)]
            done = ctx.Queue()
            procs = [ctx.Process(target=_proc_run, args=(_create, (srv.url, srv.token, f"b{c}", share[c], gpus,
                                                                   connections), done))
                     for c in range(creators)]
            t0 = time.time()
            for p in procs:
                p.start()
            for p in procs:
                done.get()
                p.join()
            created_s = time.time() - t0
            seen = q.get()
            watcher.join()
            rss = srv.rss_mb()
        finally:
            if sim is not None:
                sim.terminate()
                sim.wait(30)
    added, bound = seen["added"], seen["bound"]
    if not bound:
        raise RuntimeError("no pod was seen bound")
    first, last = min(added.values()), max(bound.values())
    lat = [bound[n] - added[n] for n in bound if n in added]
    return {"how": how, "bound": len(bound), "pods": pods, "rate": len(bound) / (last - first),
            "create_rate": pods / created_s, "p50": pct(lat, 50), "p99": pct(lat, 99), "rss": rss}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a tenth of the sizes (a smoke run)")
    ap.add_argument("--pure-only", action="store_true", help="skip the end-to-end runs")
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--gpu-pods", type=int, default=5_000)
    args = ap.parse_args()
    scale = 10 if args.quick else 1
    nodes, pods, gpu_pods = args.nodes // scale, args.pods // scale, args.gpu_pods // scale

    print(f"== (a) pure placement: Planner.schedule, {nodes:,} nodes (kube's adaptive sample of nodes to score) ==")
    with_info, plan_only = pure(nodes, pods, 0)
    print(f"{pods:,} CPU/memory pods: {with_info:,.0f} pods/s incl. PodInfo ({plan_only:,.0f} pods/s plan alone)"
          "  target >= 1,000")
    with_info, plan_only = pure(nodes, gpu_pods, 1)
    print(f"{gpu_pods:,} one-GPU pods on GPU nodes ({NODE_GPUS} GPUs each): {with_info:,.0f} pods/s incl. PodInfo "
          f"({plan_only:,.0f} plan alone)")
    if args.pure_only:
        return

    for label, count, gpus, target, floor in (("CPU/memory pods", pods, 0, 500, K8S_PLAIN),
                                             ("one-GPU pods", gpu_pods, 1, 300, K8S_EXTENDED)):
        r = end_to_end(nodes, count, gpus)
        kind = f"{NODE_GPUS}-GPU nodes" if gpus else "nodes"
        print(f"\n== (b) end to end: {count:,} {label} on {nodes:,} {kind} ({r['how']}) ==")
        print(f"create -> bound (websocket watch): {r['rate']:,.0f} pods/s  ({r['bound']:,}/{r['pods']:,} bound; "
              f"target >= {target}; Kubernetes CI floor {floor} pods/s)")
        print(f"  per pod create -> bound: p50 {r['p50'] * 1000:.0f} ms, p99 {r['p99'] * 1000:.0f} ms; "
              f"creates went in at {r['create_rate']:,.0f}/s")
        print(f"  server RSS: {r['rss']:.0f} MB (aim < 500 MB)")


if __name__ == "__main__":
    main()
