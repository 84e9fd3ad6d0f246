"""The pure parts of watching: the events a re-list emits, and the back-off."""

from __future__ import annotations

from orchestrator.client.watching import ADDED, DELETED, MODIFIED, RETRY_CAP_S, relist_events, retry_delay
from orchestrator.model.base import ObjectMeta
from orchestrator.model.pods import Pod
from orchestrator.model.registry import REGISTRY

PODS = REGISTRY.by_kind("Pod")
NODES = REGISTRY.by_kind("Node")


def pod(name: str, rv: str, ns: str = "default") -> Pod:
    return Pod(metadata=ObjectMeta(name=name, namespace=ns, resource_version=rv))


def test_relist_adds_new_modifies_changed_deletes_vanished_and_skips_the_same() -> None:
    seen = {"default/same": "3", "default/changed": "4", "default/gone": "5"}
    events = relist_events(kind=PODS, seen=seen, items=[pod("same", "3"), pod("changed", "9"), pod("new", "10")])
    assert [(e.type, e.object.metadata.name) for e in events] == [
        (MODIFIED, "changed"), (ADDED, "new"), (DELETED, "gone")]
    gone = events[-1].object
    assert (gone.kind, gone.api_version, gone.metadata.namespace, gone.metadata.resource_version) == (
        "Pod", "v1", "default", "5")
    assert seen == {"default/same": "3", "default/changed": "9", "default/new": "10"}


def test_relist_of_a_cluster_scoped_kind() -> None:
    seen = {"n1": "1"}
    [event] = relist_events(kind=NODES, seen=seen, items=[])
    assert (event.type, event.object.kind, event.object.metadata.name, event.object.metadata.namespace) == (
        DELETED, "Node", "n1", "")
    assert seen == {}


def test_reconnect_delay_is_jittered_and_capped() -> None:
    assert all(0.1 <= retry_delay(0) <= 0.2 for _ in range(100))
    assert all(RETRY_CAP_S / 2 <= retry_delay(40) <= RETRY_CAP_S for _ in range(100))
    assert len({retry_delay(3) for _ in range(20)}) > 1
