"""A Deployment scaled 0 -> 1,000 replicas on 100 simulated nodes: time until all Running.

    .venv/bin/python scripts/bench/deployment.py [--replicas 1000] [--nodes 100]

Real `orch server --no-agent` (controllers + scheduler in process) and `orch sim` nodes;
"Running" is observed over a websocket watch of the pods. Target: all within 10 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import aiohttp  # noqa: E402

from scripts.bench.common import orch_server  # noqa: E402
from scripts.bench.scheduler import _post, register_nodes  # noqa: E402


def deployment(replicas: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "scale"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "scale"}},
                     "strategy": {"rollingUpdate": {"maxSurge": "100%"}},
                     "template": {"metadata": {"labels": {"app": "scale"}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox",
                                                           "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}}


async def scale_and_watch(url: str, token: str, replicas: int) -> dict[str, float]:
    hdrs = {"Authorization": f"Bearer {token}"}
    running: set[str] = set()
    marks: dict[str, float] = {}
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(f"{url}/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dscale",
                                headers=hdrs, max_msg_size=0) as ws:
            body = json.dumps({"spec": {"replicas": replicas}})
            start = time.perf_counter()
            async with s.patch(f"{url}/apis/apps/v1/namespaces/default/deployments/scale/scale", data=body,
                               headers={**hdrs, "Content-Type": "application/merge-patch+json"}) as r:
                assert r.status == 200, await r.text()
            async with asyncio.timeout(120):
                async for msg in ws:
                    ev = json.loads(msg.data)
                    pod = ev["object"]
                    name = pod["metadata"]["name"]
                    if ev["type"] != "DELETED" and pod.get("status", {}).get("phase") == "Running":
                        running.add(name)
                    else:
                        running.discard(name)
                    for mark in (replicas // 10, replicas // 2, replicas):
                        if len(running) >= mark and str(mark) not in marks:
                            marks[str(mark)] = time.perf_counter() - start
                    if len(running) >= replicas:
                        return marks
    return marks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=1000)
    ap.add_argument("--nodes", type=int, default=100)
    args = ap.parse_args()
    with orch_server() as srv:
        how, sim = register_nodes(srv, args.nodes, 0)
        try:
            _post(srv, "/apis/apps/v1/namespaces/default/deployments", deployment(0))
            marks = asyncio.run(scale_and_watch(srv.url, srv.token, args.replicas))
            print(f"== Deployment scaled 0 -> {args.replicas:,} on {args.nodes} nodes ({how}) ==")
            print("  ".join(f"{k} Running after {v:.2f} s" for k, v in marks.items()) +
                  f"   (target: all within 10 s)   server RSS {srv.rss_mb():.0f} MB")
        finally:
            if sim is not None:
                sim.terminate()
                sim.wait(30)


if __name__ == "__main__":
    main()
