"""The kind table: kind <-> group/version/plural/namespaced.

One table drives the server's routes, discovery, store keys, the client and the CLI.
Store keys are `<resource>/<namespace>/<name>` for namespaced kinds and
`<resource>/<name>` for cluster-scoped ones, where resource is the plural, qualified
with the group for non-core kinds (`deployments.apps`), so one prefix lists a kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.model import apps, batch, cluster, config, nodes, pods, policy
from orchestrator.model.base import Object
from orchestrator.model.errors import NotFound

VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True, slots=True)
class Kind:
    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool
    type: type[Object]
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "binding", "log", "exec", "eviction", "scale"
    categories: tuple[str, ...] = ()
    singular: str = field(default="", init=True)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def key(self, namespace: str, name: str) -> str:
        return f"{self.resource}/{namespace}/{name}" if self.namespaced else f"{self.resource}/{name}"

    def prefix(self, namespace: str = "") -> str:
        """The store prefix listing this kind, in one namespace or all."""
        if self.namespaced and namespace:
            return f"{self.resource}/{namespace}/"
        return f"{self.resource}/"

    def api_path(self, namespace: str = "", name: str = "") -> str:
        """The URL path of a collection (no name) or an object."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            root += f"/namespaces/{namespace}"
        root += f"/{self.plural}"
        return f"{root}/{name}" if name else root


def _kind(kind: str, group: str, plural: str, namespaced: bool, type_: type[Object], *,
          short: tuple[str, ...] = (), sub: tuple[str, ...] = (), cats: tuple[str, ...] = ()) -> Kind:
    return Kind(kind=kind, group=group, version="v1", plural=plural, namespaced=namespaced, type=type_,
                short_names=short, subresources=sub, categories=cats, singular=kind.lower())


KINDS: tuple[Kind, ...] = (
    _kind("Namespace", "", "namespaces", False, cluster.Namespace, short=("ns",), sub=("status",)),
    _kind("Node", "", "nodes", False, nodes.Node, short=("no",), sub=("status",)),
    _kind("Pod", "", "pods", True, pods.Pod, short=("po",), sub=("status", "binding", "log", "exec", "eviction"),
          cats=("all",)),
    _kind("Event", "", "events", True, cluster.Event, short=("ev",)),
    _kind("ConfigMap", "", "configmaps", True, config.ConfigMap, short=("cm",)),
    _kind("Secret", "", "secrets", True, config.Secret),
    _kind("Lease", "coordination.k8s.io", "leases", True, cluster.Lease),
    _kind("Deployment", "apps", "deployments", True, apps.Deployment, short=("deploy",), sub=("status", "scale"), cats=("all",)),
    _kind("ReplicaSet", "apps", "replicasets", True, apps.ReplicaSet, short=("rs",), sub=("status", "scale"), cats=("all",)),
    _kind("DaemonSet", "apps", "daemonsets", True, apps.DaemonSet, short=("ds",), sub=("status",), cats=("all",)),
    _kind("Job", "batch", "jobs", True, batch.Job, sub=("status",), cats=("all",)),
    _kind("PodDisruptionBudget", "policy", "poddisruptionbudgets", True, policy.PodDisruptionBudget, short=("pdb",),
          sub=("status",)),
)


class Registry:
    def __init__(self, kinds: tuple[Kind, ...]) -> None:
        self.kinds = kinds
        self._by_kind = {k.kind: k for k in kinds}
        self._by_resource = {(k.group, k.plural): k for k in kinds}
        self._by_store_resource = {k.resource: k for k in kinds}
        self._by_name: dict[str, Kind] = {}
        for k in kinds:
            for alias in (k.kind.lower(), k.plural, k.singular, k.resource, *k.short_names):
                self._by_name.setdefault(alias, k)

    def by_kind(self, kind: str) -> Kind:
        try:
            return self._by_kind[kind]
        except KeyError:
            raise NotFound(f'no kind "{kind}" is registered') from None

    def by_resource(self, group: str, plural: str) -> Kind:
        try:
            return self._by_resource[(group, plural)]
        except KeyError:
            where = f"{group}/" if group else ""
            raise NotFound(f'the server could not find the requested resource "{where}{plural}"') from None

    def by_key(self, key: str) -> Kind:
        """The kind a store key belongs to."""
        return self._by_store_resource[key.partition("/")[0]]

    def lookup(self, name: str) -> Kind:
        """A kind by any of the names a person types: Pod, pods, pod, po, deployments.apps."""
        try:
            return self._by_name[name.lower()]
        except KeyError:
            raise NotFound(f'the server doesn\'t have a resource type "{name}"') from None

    def groups(self) -> dict[str, list[Kind]]:
        out: dict[str, list[Kind]] = {}
        for k in self.kinds:
            out.setdefault(k.group, []).append(k)
        return out


REGISTRY = Registry(KINDS)
