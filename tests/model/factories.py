"""Valid-by-default manifests (wire dicts) and decoded objects for the model tests."""

from __future__ import annotations

import copy
import json
from typing import Any

from orchestrator.model import codec
from orchestrator.model.registry import REGISTRY

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "web"}},
    "spec": {
        "containers": [{
            "name": "web",
            "image": "nginx:1.25",
            "ports": [{"containerPort": 80, "name": "http"}],
            "resources": {"requests": {"cpu": "250m", "memory": "128Mi"},
                          "limits": {"cpu": "500m", "memory": "256Mi"}},
        }],
    },
}

DEPLOYMENT: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
    "spec": {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "web"}},
        "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}]},
        },
    },
}

JOB: dict[str, Any] = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "pi", "namespace": "default"},
    "spec": {
        "template": {
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "pi", "image": "perl:5.34", "command": ["perl", "-e", "print 1"]}]},
        },
    },
}


def merged(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of base with overrides merged in (non-empty dicts recursively, anything else replaced)."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and value and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def decode(doc: dict[str, Any]) -> Any:
    kind = REGISTRY.by_kind(doc["kind"])
    return codec.decode(json.dumps(doc).encode(), kind.type, kind=kind.kind)


def make_pod(**overrides: Any) -> Any:
    return decode(merged(POD, overrides))


def make_deployment(**overrides: Any) -> Any:
    return decode(merged(DEPLOYMENT, overrides))


def make_job(**overrides: Any) -> Any:
    return decode(merged(JOB, overrides))


def container(**fields: Any) -> dict[str, Any]:
    return {"name": "c", "image": "busybox:1.36", **fields}
