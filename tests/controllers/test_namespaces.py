"""Namespace termination: Terminating, contents deleted through the API (pods gracefully,
finalizers honoured), conditions saying what remains, then the namespace goes."""

from __future__ import annotations

from typing import Any

from orchestrator.controllers.namespaces import termination_conditions
from orchestrator.model.errors import Forbidden, NotFound
from tests.controllers.conftest import Cluster, eventually
from tests.controllers.manifests import deployment, typed


def test_conditions_say_what_remains_and_keep_their_transition_time() -> None:
    first = termination_conditions([], remaining={"pods": 2, "configmaps": 1}, held={"example.com/hold": 1},
                                   now="2026-01-01T00:00:00Z")
    content, finalizers = first
    assert (content.type, content.status, content.reason) == ("NamespaceContentRemaining", "True",
                                                              "SomeResourcesRemain")
    assert content.message == ("Some resources are remaining: configmaps has 1 resource instances, "
                               "pods has 2 resource instances")
    assert finalizers.message == "Some content in the namespace has finalizers remaining: example.com/hold in 1 " \
                                 "resource instances"
    later = termination_conditions(first, remaining={"pods": 1}, held={}, now="2026-01-01T00:00:05Z")
    assert later[0].last_transition_time == "2026-01-01T00:00:00Z"  # still True
    assert (later[1].status, later[1].reason, later[1].last_transition_time) == (
        "False", "ContentHasNoFinalizers", "2026-01-01T00:00:05Z")


async def _gone(c: Cluster, name: str) -> bool:
    try:
        await c.api.get("Namespace", name)
    except NotFound:
        return True
    return False


async def test_a_deleted_namespace_is_emptied_then_removed(cluster: Cluster) -> None:
    await cluster.kubelet.add_node("n1")
    await cluster.api.create(typed({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}))
    web = deployment("web", replicas=2)
    web.metadata.namespace = "team"
    await cluster.api.create(web)
    held = typed({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "held", "namespace": "team", "finalizers": ["example.com/hold"]}})
    await cluster.api.create(held)

    async def running() -> Any:
        pods = (await cluster.api.list("Pod", namespace="team")).items
        return len(pods) == 2 and all(p.status.phase == "Running" for p in pods)

    await eventually(running, what="2 running pods in team")
    await cluster.api.delete("Namespace", "team")

    async def stuck_on_the_finalizer() -> Any:
        ns = await cluster.api.get("Namespace", "team")
        by_type = {c.type: c for c in ns.status.conditions}
        left = by_type.get("NamespaceContentRemaining")
        return ns.status.phase == "Terminating" and left is not None and left.message == \
            "Some resources are remaining: configmaps has 1 resource instances" and by_type.get(
                "NamespaceFinalizersRemaining")

    await eventually(stuck_on_the_finalizer, what="only the held ConfigMap left, said in the conditions")
    assert not (await cluster.api.list("Pod", namespace="team")).items
    try:
        await cluster.api.create(typed({"apiVersion": "v1", "kind": "ConfigMap",
                                        "metadata": {"name": "late", "namespace": "team"}}))
        raise AssertionError("a terminating namespace must refuse new content")
    except Forbidden:
        pass
    await cluster.api.patch("ConfigMap", "held", {"metadata": {"finalizers": []}}, namespace="team")
    await eventually(lambda: _gone(cluster, "team"), what="the namespace to go")
