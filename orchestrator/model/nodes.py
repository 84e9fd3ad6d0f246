"""STUB: core/v1 Node (to be completed)."""
from __future__ import annotations
import msgspec
from orchestrator.model.base import Object, Spec


class NodeSpec(Spec):
    unschedulable: bool = False


class NodeStatus(Spec):
    capacity: dict[str, str] = msgspec.field(default_factory=dict)


class Node(Object):
    spec: NodeSpec = msgspec.field(default_factory=NodeSpec)
    status: NodeStatus = msgspec.field(default_factory=NodeStatus)
