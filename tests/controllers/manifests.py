"""Typed objects to create through the API in reconcile tests (valid by default)."""

from __future__ import annotations

from typing import Any

from orchestrator.model import codec
from orchestrator.model.registry import REGISTRY


def typed(doc: dict[str, Any]) -> Any:
    kind = REGISTRY.by_kind(doc["kind"])
    return codec.convert(doc, kind.type, kind=kind.kind)


def container(image: str) -> dict[str, Any]:
    return {"name": "main", "image": image, "command": ["sleep", "3600"]}


def deployment(name: str = "web", *, replicas: int = 5, image: str = "nginx:1.25", **spec: Any) -> Any:
    return typed({"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
                  "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                           "template": {"metadata": {"labels": {"app": name}},
                                        "spec": {"containers": [container(image)]}}, **spec}})


def replicaset(name: str = "rs", *, replicas: int = 3, **spec: Any) -> Any:
    return typed({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "default"},
                  "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                           "template": {"metadata": {"labels": {"app": name}},
                                        "spec": {"containers": [container("busybox")]}}, **spec}})


def job(name: str = "pi", *, completions: int = 4, parallelism: int = 2, labels: dict[str, str] | None = None,
        **spec: Any) -> Any:
    return typed({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": "default"},
                  "spec": {"completions": completions, "parallelism": parallelism,
                           "template": {"metadata": {"labels": dict(labels or {})},
                                        "spec": {"restartPolicy": "Never", "containers": [container("perl")]}},
                           **spec}})


def daemonset(name: str = "agent", **pod_spec: Any) -> Any:
    return typed({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name, "namespace": "default"},
                  "spec": {"selector": {"matchLabels": {"app": name}},
                           "template": {"metadata": {"labels": {"app": name}},
                                        "spec": {"containers": [container("agent")], **pod_spec}}}})


def configmap(name: str, *, owners: list[Any] = ()) -> Any:  # type: ignore[assignment]
    refs = [{"apiVersion": o.api_version, "kind": o.kind, "name": o.metadata.name, "uid": o.metadata.uid}
            for o in owners]
    return typed({"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": name, "namespace": "default", "ownerReferences": refs}, "data": {"k": "v"}})
