"""The informers the controllers share (one per kind, started once) and their indexes.

Indexes: `controller` (uid of the controlling owner), `owner` (uid of every owner),
`orphan` (namespace, for objects with no controller: adoption candidates) and, for pods,
`node` (spec.nodeName).
"""

from __future__ import annotations

from typing import Any

from orchestrator.client.informers import Indexer, Informer
from orchestrator.controllers.owners import controller_ref, controller_uid, owner_uids
from orchestrator.model.api import ObjectAPI

NODE_LEASE_NAMESPACE = "kube-node-lease"
# Kinds the garbage collector follows (dependents and owners).
GC_KINDS = ("Pod", "ReplicaSet", "Deployment", "DaemonSet", "Job", "ConfigMap", "Secret", "Lease", "Node")


def _controller(obj: Any) -> list[str]:
    uid = controller_uid(obj)
    return [uid] if uid else []


def _orphan(obj: Any) -> list[str]:
    return [obj.metadata.namespace] if controller_ref(obj) is None else []


def _node(obj: Any) -> list[str]:
    return [obj.spec.node_name] if obj.spec.node_name else []


OWNED: dict[str, Indexer] = {"controller": _controller, "owner": owner_uids, "orphan": _orphan}


class SharedInformers:
    """One informer per kind on one ObjectAPI; `run()` each of `all()` once."""

    def __init__(self, api: ObjectAPI) -> None:
        self.api = api
        self._by_kind: dict[str, Informer] = {}

    def get(self, kind: str) -> Informer:
        inf = self._by_kind.get(kind)
        if inf is None:
            indexers = dict(OWNED)
            if kind == "Pod":
                indexers["node"] = _node
            inf = self._by_kind[kind] = Informer(self.api, kind, indexers=indexers)
        return inf

    @property
    def pods(self) -> Informer:
        return self.get("Pod")

    @property
    def replicasets(self) -> Informer:
        return self.get("ReplicaSet")

    @property
    def deployments(self) -> Informer:
        return self.get("Deployment")

    @property
    def daemonsets(self) -> Informer:
        return self.get("DaemonSet")

    @property
    def jobs(self) -> Informer:
        return self.get("Job")

    @property
    def nodes(self) -> Informer:
        return self.get("Node")

    @property
    def leases(self) -> Informer:
        return self.get("Lease")

    def all(self) -> list[Informer]:
        return list(self._by_kind.values())
