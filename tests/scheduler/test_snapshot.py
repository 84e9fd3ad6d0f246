"""The snapshot: kept from pod and node events; assumed pods count until confirmed or forgotten."""

from __future__ import annotations

import msgspec

from orchestrator.scheduler.pods import pod_info
from tests.scheduler.factories import gpu_uuid, make_node, make_pod, snapshot_of


def bound(pod, node: str, devices=None, phase: str = "Pending"):  # type: ignore[no-untyped-def]
    meta = msgspec.structs.replace(pod.metadata, resource_version=str(int(pod.metadata.resource_version) + 1000),
                                   annotations={"orch.io/gpu-devices": ",".join(devices)} if devices else {})
    return msgspec.structs.replace(pod, metadata=meta, spec=msgspec.structs.replace(pod.spec, node_name=node),
                                   status=msgspec.structs.replace(pod.status, phase=phase))


def test_assume_then_confirm_counts_once() -> None:
    snap = snapshot_of(make_node("gpu-0", gpus=4))
    pod = make_pod("nb", cpu="1", gpus=1)
    info = pod_info(pod)
    snap.assume(info, "gpu-0", (gpu_uuid("gpu-0", 0),))
    node = snap.nodes["gpu-0"]
    assert (node.cpu, node.gpus, node.free_gpus, node.pod_count) == (1000, 1, 3, 1)
    assert snap.update_pod(pod) is False  # a pending event while the binding is in flight: still counted
    assert node.pod_count == 1
    snap.update_pod(bound(pod, "gpu-0", [gpu_uuid("gpu-0", 0)]))
    assert not snap.assumed
    assert (node.cpu, node.gpus, node.free_gpus, node.pod_count) == (1000, 1, 3, 1)
    snap.forget(info.key)  # a late failure report changes nothing once confirmed
    assert node.pod_count == 1


def test_forget_releases_an_assumption() -> None:
    snap = snapshot_of(make_node("gpu-0", gpus=4))
    info = pod_info(make_pod("nb", gpus=1))
    snap.assume(info, "gpu-0", (gpu_uuid("gpu-0", 0),))
    snap.forget(info.key)
    node = snap.nodes["gpu-0"]
    assert (node.gpus, node.free_gpus, node.pod_count, node.devices_used) == (0, 4, 0, {})


def test_the_server_wins_over_the_assumption() -> None:
    snap = snapshot_of(make_node("a"), make_node("b"))
    pod = make_pod("p", cpu="1")
    snap.assume(pod_info(pod), "a", ())
    snap.update_pod(bound(pod, "b"))  # someone else bound it to b
    assert (snap.nodes["a"].pod_count, snap.nodes["b"].pod_count) == (0, 1)


def test_finished_and_deleted_pods_free_their_node() -> None:
    pod = bound(make_pod("p", cpu="1", gpus=1), "gpu-0", [gpu_uuid("gpu-0", 1)], phase="Running")
    snap = snapshot_of(make_node("gpu-0", gpus=2), pods=(pod,))
    node = snap.nodes["gpu-0"]
    assert node.free_devices() == [gpu_uuid("gpu-0", 0)]
    assert snap.update_pod(bound(pod, "gpu-0", [gpu_uuid("gpu-0", 1)], phase="Succeeded")) is True
    assert node.free_devices() == [gpu_uuid("gpu-0", 0), gpu_uuid("gpu-0", 1)] and node.cpu == 0
    assert snap.delete_pod(pod) is False  # already released


def test_pods_on_an_unknown_node_count_once_it_arrives() -> None:
    pod = bound(make_pod("p", cpu="3"), "late", phase="Running")
    snap = snapshot_of(pods=(pod,))
    assert len(snap) == 0 and snap.schedulable_nodes() == []
    snap.set_node(make_node("late", cpu="4"))
    assert snap.nodes["late"].cpu == 3000 and len(snap) == 1
    snap.remove_node("late")
    assert "late" in snap.nodes and snap.nodes["late"].node is None  # still holds its pod
    snap.delete_pod(pod)
    assert "late" not in snap.nodes


def test_generation_moves_only_on_changes_filters_see() -> None:
    snap = snapshot_of(make_node("n"))
    gen = snap.generation
    same = make_node("n")  # a new resourceVersion, same content (a heartbeat)
    assert snap.set_node(same) is False and snap.generation == gen
    assert snap.set_node(make_node("n", unschedulable=True)) is True and snap.generation == gen + 1
    assert snap.set_node(make_node("n", unschedulable=True, labels={"a": "b"})) is True


def test_host_ports_and_owners_are_tracked() -> None:
    p = bound(make_pod("p", host_port=80, owner="web"), "n", phase="Running")
    snap = snapshot_of(make_node("n"), pods=(p,))
    node = snap.nodes["n"]
    assert node.ports == {("TCP", 80): {"0.0.0.0": 1}} and node.owners == {"uid-web": 1}
    snap.delete_pod(p)
    assert node.ports == {} and node.owners == {}
