"""STUB: core/v1 Pod (to be completed)."""
from __future__ import annotations
import msgspec
from orchestrator.model.base import Object, Spec


class Container(Spec):
    name: str
    image: str = ""
    command: list[str] = msgspec.field(default_factory=list)
    args: list[str] = msgspec.field(default_factory=list)


class PodSpec(Spec):
    containers: list[Container] = msgspec.field(default_factory=list)
    node_name: str = ""


class PodStatus(Spec):
    phase: str = ""


class Pod(Object):
    spec: PodSpec = msgspec.field(default_factory=PodSpec)
    status: PodStatus = msgspec.field(default_factory=PodStatus)
