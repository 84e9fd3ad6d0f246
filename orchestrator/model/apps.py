"""STUB: apps/v1 (to be completed)."""
from __future__ import annotations
import msgspec
from orchestrator.model.base import Object, Spec


class DeploymentSpec(Spec):
    replicas: int | None = None


class Deployment(Object):
    spec: DeploymentSpec = msgspec.field(default_factory=DeploymentSpec)


class ReplicaSet(Object):
    spec: DeploymentSpec = msgspec.field(default_factory=DeploymentSpec)


class DaemonSet(Object):
    spec: DeploymentSpec = msgspec.field(default_factory=DeploymentSpec)
