"""describe's pages: common metadata, per-kind sections, and the events about the object."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from orchestrator.cli.describing import describe, events_for
from orchestrator.cli.merging import LAST_APPLIED

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)

POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "namespace": "demo", "uid": "u1", "labels": {"app": "web", "tier": "front"},
                 "annotations": {LAST_APPLIED: "{}", "note": "hi"}, "creationTimestamp": "2024-05-01T11:00:00Z",
                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "r",
                                      "controller": True}]},
    "spec": {"nodeName": "n1", "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "60"],
                                                "resources": {"limits": {"nvidia.com/gpu": "1"}}}],
             "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}]},
    "status": {"phase": "Running", "podIP": "10.0.0.9", "hostIP": "192.168.1.2",
               "conditions": [{"type": "Ready", "status": "True"}],
               "containerStatuses": [{"name": "main", "ready": True, "restartCount": 1,
                                      "state": {"running": {"startedAt": "2024-05-01T11:00:05Z"}}}]},
}

EVENTS: list[dict[str, Any]] = [
    {"metadata": {"name": "e2", "namespace": "demo"}, "involvedObject": {"kind": "Pod", "name": "web", "uid": "u1"},
     "type": "Normal", "reason": "Started", "message": "started", "lastTimestamp": "2024-05-01T11:59:00Z",
     "source": {"component": "agent", "host": "n1"}},
    {"metadata": {"name": "e1", "namespace": "demo"}, "involvedObject": {"kind": "Pod", "name": "web"},
     "type": "Normal", "reason": "Scheduled", "message": "assigned demo/web to n1", "count": 3,
     "firstTimestamp": "2024-05-01T11:00:00Z", "lastTimestamp": "2024-05-01T11:58:00Z",
     "source": {"component": "scheduler"}},
    {"metadata": {"name": "x"}, "involvedObject": {"kind": "Pod", "name": "other"}, "reason": "Nope"},
    {"metadata": {"name": "y"}, "involvedObject": {"kind": "Pod", "name": "web", "uid": "old"}, "reason": "Stale"},
    {"metadata": {"name": "z"}, "involvedObject": {"kind": "Deployment", "name": "web"}, "reason": "Other kind"},
]


def test_events_for_picks_this_objects_events_oldest_first() -> None:
    assert [e["reason"] for e in events_for(POD, EVENTS)] == ["Scheduled", "Started"]


def test_pod_page() -> None:
    text = describe(POD, events=events_for(POD, EVENTS), now=NOW)
    lines = text.splitlines()
    assert lines[0].split() == ["Name:", "web"] and lines[1].split() == ["Namespace:", "demo"]
    assert lines[0].index("web") == lines[1].index("demo")  # values line up
    assert "app=web" in lines[2] and lines[3].strip() == "tier=front"
    assert LAST_APPLIED not in text and "note: hi" in text
    for expected in ("Controlled By:", "ReplicaSet/web-abc", "Node:", "n1/192.168.1.2", "Status:", "Running",
                     "IP:", "10.0.0.9", "Image:", "busybox", "State:", "Started:", "Restart Count:",
                     "nvidia.com/gpu: 1", "Tolerations:", "gpu:NoSchedule op=Exists"):
        assert expected in text, expected
    events = text[text.index("Events:"):].splitlines()
    assert events[1].split() == ["Type", "Reason", "Age", "From", "Message"]
    assert events[2].split() == ["----", "------", "---", "----", "-------"]
    assert "Scheduled" in events[3] and "2m (x3 over 60m)" in events[3] and "scheduler" in events[3]
    assert "agent, n1" in events[4]


def test_node_page_has_capacity_gpus_taints_and_pods() -> None:
    node = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "g1", "labels": {"node-role.kubernetes.io/gpu": ""}},
            "spec": {"taints": [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]},
            "status": {"capacity": {"cpu": "8", "nvidia.com/gpu": "2"}, "allocatable": {"cpu": "7"},
                       "gpus": [{"index": 0, "uuid": "GPU-1", "model": "H100", "memoryMiB": 81920}],
                       "conditions": [{"type": "Ready", "status": "True", "reason": "AgentReady"}],
                       "nodeInfo": {"osImage": "Debian 12"}}}
    text = describe(node, events=[], now=NOW, pods=[POD])
    for expected in ("Roles:", "gpu", "Taints:", "gpu=true:NoSchedule", "Capacity:", "nvidia.com/gpu: 2",
                     "Allocatable:", "GPUs:", "GPU-1", "81920MiB", "AgentReady", "OsImage:", "Debian 12",
                     "Non-terminated Pods (1 in total):", "Events:"):
        assert expected in text, expected


def test_node_page_says_what_is_allocated_and_who_holds_each_gpu() -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "g1"},
            "status": {"allocatable": {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": "2"}}}
    busy = {**POD, "metadata": {**POD["metadata"], "annotations": {"orch.io/gpu-devices": "GPU-7"}},
            "spec": {**POD["spec"], "containers": [{"name": "main", "image": "busybox", "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "1", "nvidia.com/gpu": "1"}}}]}}
    text = describe(node, events=[], now=NOW, pods=[busy, POD])
    lines = text.splitlines()
    row = next(line for line in lines if line.split()[:2] == ["demo", "web"])
    assert "500m (12%)" in row and "1Gi (12%)" in row and "Running" in row
    allocated = lines[lines.index(next(x for x in lines if x.startswith("Allocated resources"))) + 3:]
    assert allocated[0].split()[:5] == ["cpu", "500m", "(12%)", "1", "(25%)"]
    assert allocated[1].split()[:3] == ["memory", "1Gi", "(12%)"]
    assert allocated[2].split() == ["nvidia.com/gpu", "2", "(100%)", "2", "(100%)"]  # a GPU limit is a request
    assert any(x.split() == ["GPU-7", "demo/web"] for x in lines)


def test_unknown_kinds_show_their_fields_as_a_tree() -> None:
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "n1"},
             "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40}}
    text = describe(lease, events=[], now=NOW)
    assert "Spec:" in text and "holderIdentity:" in text and "40" in text
    assert text.rstrip().endswith("Events:           <none>".split()[-1])


def test_deployment_and_job_pages_survive_missing_fields() -> None:
    for kind in ("Deployment", "ReplicaSet", "DaemonSet", "Job", "ConfigMap", "Secret", "Namespace", "Event"):
        text = describe({"kind": kind, "metadata": {"name": "x"}}, events=[], now=NOW)
        assert text.startswith("Name:")
