"""Simulated node descriptions, lease spreading and `orch sim` flags (pure, no I/O)."""

from __future__ import annotations

import argparse
import re

import pytest

from orchestrator.agent.sim.heartbeating import first_due, micro_now
from orchestrator.agent.sim.nodes import NODE_IPS, gpu_uuid, join_body, node_ip, node_names, prefix_offset
from orchestrator.agent.sim.settings import NodeShape
from orchestrator.cli import sim as sim_cli
from orchestrator.cli.common import CliError

UUID = r"GPU-[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def test_gpu_ids_are_nvidia_style_and_deterministic() -> None:
    assert re.fullmatch(UUID, gpu_uuid(node="gpu-0", index=0))
    assert gpu_uuid(node="gpu-0", index=0) == gpu_uuid(node="gpu-0", index=0)
    ids = {gpu_uuid(node=f"gpu-{n}", index=i) for n in range(50) for i in range(8)}
    assert len(ids) == 400


def test_join_body_describes_the_node_like_an_agent() -> None:
    shape = NodeShape(cpu_millis=4000, memory_bytes=2**34, max_pods=50, gpus_per_node=2, labels={"zone": "a"})
    body = join_body(name="gpu-3", ip=node_ip(3), shape=shape)
    assert body["name"] == "gpu-3" and body["role"] == "sim" and body["runtime"] == "sim"
    assert (body["cpuMillis"], body["memoryBytes"], body["maxPods"], body["labels"]) == (4000, 2**34, 50, {"zone": "a"})
    assert [(g["index"], g["uuid"], g["model"], g["memoryMiB"]) for g in body["gpus"]] == [
        (i, gpu_uuid(node="gpu-3", index=i), "NVIDIA H100 80GB HBM3", 81559) for i in range(2)]
    assert body["address"] == "172.16.0.4"  # no port: the server is never told of an endpoint to call
    assert join_body(name="c", ip="172.16.0.1", shape=NodeShape())["gpus"] == []


def test_node_names_and_addresses() -> None:
    assert node_names(prefix="sim", count=3) == ["sim-0", "sim-1", "sim-2"]
    ips = [node_ip(i) for i in range(70_000)]
    assert len(set(ips)) == len(ips) and ips[0] == "172.16.0.1" and ips[-1].startswith("172.17.")
    with pytest.raises(ValueError):
        node_ip(-1)
    # another prefix starts elsewhere, and wraps around inside 172.16.0.0/12
    offset = prefix_offset("gpu", space=NODE_IPS)
    assert offset == prefix_offset("gpu", space=NODE_IPS) != prefix_offset("cpu", space=NODE_IPS)
    assert node_ip(0, offset=offset) != node_ip(0)
    assert node_ip(NODE_IPS - 1) == "172.31.255.254" and node_ip(1, offset=NODE_IPS - 1) == "172.16.0.1"


def test_first_renewals_spread_over_one_interval() -> None:
    dues = [first_due(index=i, count=1000, interval_s=10.0, now=100.0) for i in range(1000)]
    assert dues[0] == 100.0 and max(dues) < 110.0
    per_second = [sum(100 + s <= d < 101 + s for d in dues) for s in range(10)]
    assert per_second == [100] * 10
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", micro_now())


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    sim_cli.register(parser.add_subparsers())
    return parser.parse_args(["sim", *argv])


def test_flags_make_settings() -> None:
    s = sim_cli.settings_from(parse("--join", "http://127.0.0.1:1/", "--token", "t", "--nodes", "5", "--cpu", "500m",
                                    "--memory", "1Gi", "--gpus-per-node", "8", "--label", "zone=a", "--label",
                                    "tier=", "--control", "127.0.0.1:0", "--job-seconds", "0.5"))
    assert s.join_url == "http://127.0.0.1:1" and s.nodes == 5 and s.job_seconds == 0.5
    assert (s.shape.cpu_millis, s.shape.memory_bytes, s.shape.gpus_per_node) == (500, 2**30, 8)
    assert s.shape.labels == {"zone": "a", "tier": ""} and s.control == ("127.0.0.1", 0)


def test_env_twins(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"ORCH_SIM_JOIN": "http://h:1", "ORCH_SIM_TOKEN": "t", "ORCH_SIM_NODES": "7",
                        "ORCH_SIM_LABELS": "a=1,b=2", "ORCH_SIM_LEASE_INTERVAL": "2.5",
                        "ORCH_SIM_GPU_MODEL": "NVIDIA A100"}.items():
        monkeypatch.setenv(name, value)
    s = sim_cli.settings_from(parse())
    assert (s.join_url, s.join_token, s.nodes, s.lease_interval_s) == ("http://h:1", "t", 7, 2.5)
    assert s.shape.labels == {"a": "1", "b": "2"} and s.shape.gpu_model == "NVIDIA A100"


@pytest.mark.parametrize("argv, message", [
    ((), "--join URL is required"),
    (("--join", "http://h:1"), "--token is required"),
    (("--join", "http://h:1", "--token", "t", "--label", "nokey"), "expected KEY=VALUE"),
    (("--join", "http://h:1", "--token", "t", "--control", "0.0.0.0:9000"), "loopback"),
    (("--join", "http://h:1", "--token", "t", "--cleanup"), "--admin-token"),
    (("--join", "http://h:1", "--token", "t", "--cpu", "lots"), "lots"),
    (("--join", "http://h:1", "--token", "t", "--nodes", "0"), "--nodes must be at least 1"),
])
def test_bad_flags_are_refused(argv: tuple[str, ...], message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ORCH_SIM_JOIN", "ORCH_SIM_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(CliError, match=re.escape(message)):
        sim_cli.settings_from(parse(*argv))


def test_ready_is_set_true_keeping_other_conditions() -> None:
    from orchestrator.agent.sim.nodekeeping import ready_status, with_ready
    from orchestrator.model.base import Condition
    from orchestrator.model.nodes import Node
    node = Node()
    node.status.conditions = [Condition(type="MemoryPressure", status="False"),
                              Condition(type="Ready", status="Unknown", reason="NodeStatusUnknown")]
    fixed = with_ready(node, now="2026-11-28T16:00:00Z")
    assert ready_status(node) == "Unknown" and ready_status(fixed) == "True"
    assert [c.type for c in fixed.status.conditions] == ["MemoryPressure", "Ready"]
    assert ready_status(Node()) == ""
