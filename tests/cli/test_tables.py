"""get's tables: kubectl's AGE, aligned columns, per-kind cells tolerant of missing fields."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from orchestrator.model import columns
from orchestrator.cli.printing import as_list, names, no_resources, render_objects, table
from orchestrator.model.tables import age, dig, human_duration, render
from orchestrator.model.registry import REGISTRY

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def ago(**delta: float) -> str:
    return (NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (45, "45s"), (119, "119s"), (120, "2m"), (192, "3m12s"), (600, "10m"), (179 * 60, "179m"),
    (3 * 3600, "3h"), (5 * 3600 + 30 * 60, "5h30m"), (10 * 3600, "10h"), (47 * 3600, "47h"),
    (2 * 86400, "2d"), (2 * 86400 + 5 * 3600, "2d5h"), (20 * 86400, "20d"), (800 * 86400, "2y70d"),
    (9 * 365 * 86400, "9y"), (-0.5, "0s"), (-5, "<invalid>"),
])
def test_human_duration_matches_kubectl(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_age_of_timestamps() -> None:
    assert age(ago(seconds=45), NOW) == "45s"
    assert age("2024-05-01T11:56:48.123456Z", NOW) == "3m11s"
    assert age(None, NOW) == "<unknown>"
    assert age("garbage", NOW) == "<unknown>"


def test_render_aligns_with_three_spaces_and_no_trailing_blanks() -> None:
    lines = render(["NAME", "READY", "AGE"], [["web-1", "1/1", "5s"], ["a", "0/1", "10m"]])
    assert lines == ["NAME    READY   AGE", "web-1   1/1     5s", "a       0/1     10m"]


def pod(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "web", "namespace": "demo", "creationTimestamp": ago(seconds=30)},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"}, "status": status}


def test_pod_columns() -> None:
    p = pod(phase="Running", podIP="10.0.0.5", containerStatuses=[
        {"name": "a", "ready": True, "restartCount": 2, "state": {"running": {}}},
        {"name": "b", "ready": False, "restartCount": 1, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}])
    headers, rows = table(REGISTRY.lookup("po"), [p], now=NOW, wide=True)
    assert headers == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert rows == [["web", "1/2", "CrashLoopBackOff", "3", "30s", "10.0.0.5", "n1"]]


def test_pod_columns_survive_missing_fields() -> None:
    bare = {"metadata": {"name": "x"}}
    _, rows = table(REGISTRY.lookup("pods"), [bare], now=NOW, wide=True)
    assert rows == [["x", "0/0", "Pending", "0", "<unknown>", "<none>", "<none>"]]
    terminating = pod(phase="Running")
    terminating["metadata"]["deletionTimestamp"] = ago(seconds=1)
    assert columns.pod_status(terminating, NOW) == "Terminating"


def test_all_namespaces_adds_a_namespace_column_and_kind_prefix_names_rows() -> None:
    headers, rows = table(REGISTRY.lookup("pod"), [pod(phase="Running")], now=NOW, all_namespaces=True,
                          kind_prefix=True)
    assert headers[:2] == ["NAMESPACE", "NAME"]
    assert rows[0][:2] == ["demo", "pod/web"]
    _, rows = table(REGISTRY.lookup("deploy"), [{"metadata": {"name": "d"}}], now=NOW, kind_prefix=True)
    assert rows[0][0] == "deployment.apps/d"


def test_deployment_replicaset_daemonset_job_columns() -> None:
    d = {"metadata": {"name": "web", "creationTimestamp": ago(hours=5)}, "spec": {"replicas": 3},
         "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    headers, rows = table(REGISTRY.lookup("deployments"), [d], now=NOW)
    assert headers == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert rows == [["web", "2/3", "3", "2", "5h"]]
    _, rows = table(REGISTRY.lookup("rs"), [{"metadata": {"name": "r"}, "spec": {"replicas": 0}}], now=NOW)
    assert rows == [["r", "0", "0", "0", "<unknown>"]]
    headers, _ = table(REGISTRY.lookup("ds"), [], now=NOW)
    assert headers == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"]
    job = {"metadata": {"name": "pi"}, "spec": {"completions": 4},
           "status": {"succeeded": 4, "startTime": ago(minutes=5), "completionTime": ago(minutes=3, seconds=48)}}
    headers, rows = table(REGISTRY.lookup("job"), [job], now=NOW)
    assert headers == ["NAME", "COMPLETIONS", "DURATION", "AGE"]
    assert rows == [["pi", "4/4", "72s", "<unknown>"]]


def test_node_columns_show_status_roles_and_gpus() -> None:
    node = {"metadata": {"name": "gpu-1", "creationTimestamp": ago(days=2),
                         "labels": {"node-role.kubernetes.io/worker": "", "nvidia.com/gpu.product": "NVIDIA-H100"}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                       "capacity": {"cpu": "64", "memory": "512Gi", "nvidia.com/gpu": "8"},
                       "addresses": [{"type": "InternalIP", "address": "10.1.2.3"}],
                       "nodeInfo": {"kubeletVersion": "orch-0.1.0", "osImage": "Debian", "kernelVersion": "6.1",
                                    "containerRuntimeVersion": "docker://24"}}}
    headers, rows = table(REGISTRY.lookup("no"), [node], now=NOW, wide=True)
    assert headers == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "CPU", "MEMORY", "GPU",
                       "INTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert rows == [["gpu-1", "Ready,SchedulingDisabled", "worker", "2d", "orch-0.1.0", "64", "512Gi",
                     "8x NVIDIA-H100", "10.1.2.3", "Debian", "6.1", "docker://24"]]
    plain = {"metadata": {"name": "cpu-1"}, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    _, rows = table(REGISTRY.lookup("nodes"), [plain], now=NOW)
    assert rows == [["cpu-1", "NotReady", "<none>", "<unknown>", "<none>", "<none>", "<none>", "<none>"]]
    from_devices = {"metadata": {"name": "g"}, "status": {"gpus": [{"index": 0, "uuid": "u", "model": "A100"}]}}
    assert columns.node_gpus(from_devices, NOW) == "1x A100"


def test_other_kinds_and_the_generic_fallback() -> None:
    cm = {"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}}
    assert table(REGISTRY.lookup("cm"), [cm], now=NOW) == (["NAME", "DATA", "AGE"], [["c", "2", "<unknown>"]])
    ev = {"metadata": {"name": "e"}, "type": "Warning", "reason": "FailedScheduling", "message": "0/3 nodes",
          "lastTimestamp": ago(seconds=10), "involvedObject": {"kind": "Pod", "name": "web"}}
    assert table(REGISTRY.lookup("ev"), [ev], now=NOW)[1] == [["10s", "Warning", "FailedScheduling", "pod/web",
                                                              "0/3 nodes"]]
    assert table(REGISTRY.lookup("ns"), [{"metadata": {"name": "x"}}], now=NOW)[1] == [["x", "Active", "<unknown>"]]
    assert table(REGISTRY.lookup("leases"), [{"metadata": {"name": "l"}}], now=NOW)[0] == ["NAME", "HOLDER", "AGE"]
    assert columns.columns_for("SomethingNew") == [columns.NAME, columns.AGE]


def test_a_cell_that_breaks_shows_error_not_a_traceback() -> None:
    odd = {"metadata": {"name": "x"}, "status": {"containerStatuses": [{"restartCount": "many"}]}}
    _, rows = table(REGISTRY.lookup("pods"), [odd], now=NOW)
    assert rows[0][3] == "<error>"


def test_yaml_json_and_name_outputs() -> None:
    items = [{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}]
    assert render_objects(items, output="yaml", single=True).startswith("apiVersion: v1\nkind: Pod\n")
    assert '"kind": "List"' in render_objects(items, output="json", single=False)
    assert as_list(items)["items"] == items
    assert names(REGISTRY.lookup("deploy"), [{"metadata": {"name": "w"}}]) == ["deployment.apps/w"]
    assert no_resources("default", all_namespaces=False, namespaced=True) == "No resources found in default namespace."
    assert no_resources("default", all_namespaces=True, namespaced=True) == "No resources found"


def test_dig() -> None:
    assert dig({"a": [{"b": 1}]}, "a", 0, "b") == 1
    assert dig({"a": [{"b": 1}]}, "a", 3, "b", default="x") == "x"
    assert dig({"a": None}, "a", default=5) == 5
    assert dig("nope", "a") is None
