"""API benchmark: creates/s, GETs/s, watch delivery latency, decode+validate, vs SQLite's ceiling.

    .venv/bin/python scripts/bench/api.py [--quick]

Server and load run on this machine in one run (server in its own process, load in
others). Figures are medians of several rounds; the SQLite ceiling (batched inserts,
WAL, synchronous=FULL) is measured in the same run so the ratio shows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sqlite3
import sys
import tempfile
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import aiohttp  # noqa: E402
import msgspec  # noqa: E402

from scripts.bench.common import median, orch_server, pct  # noqa: E402

POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "web", "tier": "frontend"},
                 "annotations": {"team": "platform"}},
    "spec": {"restartPolicy": "Always", "nodeSelector": {"disk": "ssd"},
             "containers": [{"name": "web", "image": "nginx:1.25", "command": ["nginx"], "args": ["-g", "daemon off;"],
                             "env": [{"name": "MODE", "value": "prod"}, {"name": "LEVEL", "value": "info"}],
                             "ports": [{"containerPort": 80, "protocol": "TCP"}],
                             "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                                           "limits": {"cpu": "500m", "memory": "512Mi"}},
                             "readinessProbe": {"httpGet": {"path": "/", "port": 80}, "periodSeconds": 5}}]},
}


def sqlite_ceiling(rows_per_commit: int, total: int) -> float:
    with tempfile.TemporaryDirectory() as d:
        db = sqlite3.connect(os.path.join(d, "c.db"), isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB)")
        value = b"x" * 600
        start = time.perf_counter()
        for i in range(0, total, rows_per_commit):
            db.execute("BEGIN")
            db.executemany("INSERT INTO t VALUES (?, ?)", [(f"k{j}", value) for j in range(i, i + rows_per_commit)])
            db.execute("COMMIT")
        elapsed = time.perf_counter() - start
        db.close()
    return total / elapsed


def decode_validate_us() -> float:
    from orchestrator.model import codec, defaults, validation
    from orchestrator.model.pods import Pod
    raw = json.dumps(POD).encode()

    def once() -> None:
        obj = codec.decode(raw, Pod, kind="Pod")
        defaults.apply_defaults("Pod", obj)
        assert not validation.validate("Pod", obj)

    n = 20_000
    return min(timeit.repeat(once, number=n, repeat=5)) / n * 1e6


async def _create_load(url: str, token: str, prefix: str, seconds: float, concurrency: int) -> int:
    done = 0
    deadline = time.perf_counter() + seconds
    body = dict(POD)
    hdrs = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    conn = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=conn) as s:
        async def worker(w: int) -> None:
            nonlocal done
            i = 0
            while time.perf_counter() < deadline:
                body["metadata"] = {**POD["metadata"], "name": f"{prefix}-{w}-{i}"}
                async with s.post(f"{url}/api/v1/namespaces/default/pods", data=json.dumps(body), headers=hdrs) as r:
                    await r.read()
                    if r.status != 201:
                        raise RuntimeError(f"create answered {r.status}")
                done += 1
                i += 1
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return done


async def _get_load(url: str, token: str, names: list[str], seconds: float, concurrency: int) -> int:
    done = 0
    deadline = time.perf_counter() + seconds
    hdrs = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:
        async def worker(w: int) -> None:
            nonlocal done
            i = w
            while time.perf_counter() < deadline:
                async with s.get(f"{url}/api/v1/namespaces/default/pods/{names[i % len(names)]}", headers=hdrs) as r:
                    await r.read()
                done += 1
                i += concurrency
        await asyncio.gather(*(worker(w) for w in range(concurrency)))
    return done


def _proc_run(fn, args, q) -> None:  # type: ignore[no-untyped-def]
    q.put(asyncio.run(fn(*args)))


def in_processes(fn, arg_sets: list[tuple]) -> list:  # type: ignore[no-untyped-def,type-arg]
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_proc_run, args=(fn, a, q)) for a in arg_sets]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    return results


class _Sent(msgspec.Struct):
    data: dict[str, str] = {}


class _Ev(msgspec.Struct):
    type: str
    object: _Sent


async def _watchers(url: str, token: str, n: int, expect: int, ready_path: str) -> list[float]:
    latencies: list[float] = []
    dec = msgspec.json.Decoder(_Ev)
    hdrs = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as s:
        async def one() -> None:
            got = 0
            async with s.ws_connect(f"{url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=1",
                                    headers=hdrs, max_msg_size=0) as ws:
                opened.append(1)
                if len(opened) == n:
                    Path(ready_path).write_text("ok")
                async for msg in ws:
                    ev = dec.decode(msg.data)
                    sent = ev.object.data.get("sent")
                    if ev.type == "ADDED" and sent:
                        latencies.append(time.time() - float(sent))
                        got += 1
                        if got == expect:
                            return
        opened: list[int] = []
        try:
            async with asyncio.timeout(120):
                await asyncio.gather(*(one() for _ in range(n)))
        except TimeoutError:
            pass
    return latencies


async def _paced_creates(url: str, token: str, rate: int, total: int) -> float:
    hdrs = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession() as s:
        start = time.perf_counter()
        tasks = []
        for i in range(total):
            target = start + i / rate
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = {"metadata": {"name": f"w{i}"}, "data": {"sent": repr(time.time())}}
            tasks.append(asyncio.create_task(s.post(f"{url}/api/v1/namespaces/default/configmaps",
                                                    data=json.dumps(body), headers=hdrs)))
        for r in await asyncio.gather(*tasks):
            r.release()
        return total / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="shorter rounds (a smoke run)")
    args = ap.parse_args()
    seconds, rounds = (2.0, 1) if args.quick else (5.0, 3)

    print("== SQLite ceiling (Python sqlite3, WAL, synchronous=FULL, 600-byte rows) ==")
    one = sqlite_ceiling(1, 1500)
    hundred = sqlite_ceiling(100, 60_000)
    print(f"1 row/commit: {one:,.0f} commits/s    100 rows/commit: {hundred:,.0f} rows/s")

    us = decode_validate_us()
    print(f"\n== decode + defaults + validate of a typical Pod: {us:.1f} us (target <= 20 us) ==")

    with orch_server() as srv:
        create_rates = []
        for r in range(rounds):
            counts = in_processes(_create_load, [(srv.url, srv.token, f"r{r}p{p}", seconds, 32) for p in range(2)])
            create_rates.append(sum(counts) / seconds)
        print(f"\n== creates over HTTP (2 client processes x 32 connections, synchronous=FULL) ==")
        rate = median(create_rates)
        print(f"median {rate:,.0f} creates/s over {rounds} rounds {[round(x) for x in create_rates]} (target >= 2,000)")
        print(f"  = {rate / one:.2f}x SQLite's one-commit-per-row rate, {rate / hundred:.1%} of its batched ceiling "
              "(each create is also an HTTP request, a decode, validation and a watch fan-out)")
        names = [f"r0p0-0-{i}" for i in range(50)]
        get_rates = []
        for _ in range(rounds):
            counts = in_processes(_get_load, [(srv.url, srv.token, names, seconds, 32) for _ in range(2)])
            get_rates.append(sum(counts) / seconds)
        print(f"\n== GETs over HTTP (2 client processes x 32 connections) ==")
        print(f"median {median(get_rates):,.0f} GETs/s {[round(x) for x in get_rates]} (target >= 5,000)")
        print(f"server RSS after {sum(create_rates) * seconds:,.0f} pods: {srv.rss_mb():.0f} MB")

    with orch_server() as srv:
        total, rate, watchers = (1000, 500, 40) if args.quick else (5000, 500, 40)
        ready = Path(tempfile.mkdtemp()) / "ready"
        ctx = mp.get_context("spawn")
        q = ctx.Queue()
        wp = ctx.Process(target=_proc_run, args=(_watchers, (srv.url, srv.token, watchers, total, str(ready)), q))
        wp.start()
        while not ready.exists():
            time.sleep(0.05)
        achieved = asyncio.run(_paced_creates(srv.url, srv.token, rate, total))
        lat = q.get()
        wp.join()
        print(f"\n== watch delivery: create sent -> websocket watcher received ({watchers} watchers, "
              f"{achieved:,.0f} events/s, {total} events) ==")
        print(f"p50 {pct(lat, 50) * 1000:.1f} ms  p99 {pct(lat, 99) * 1000:.1f} ms  max {max(lat) * 1000:.1f} ms  "
              f"({len(lat):,} deliveries; target p99 <= 50 ms; includes the HTTP create and its commit)")


if __name__ == "__main__":
    main()
