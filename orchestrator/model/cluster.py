"""STUB: Namespace, Event, Lease (to be completed)."""
from __future__ import annotations
import msgspec
from orchestrator.model.base import Object, Spec


class NamespaceSpec(Spec):
    finalizers: list[str] = msgspec.field(default_factory=list)


class NamespaceStatus(Spec):
    phase: str = ""


class Namespace(Object):
    spec: NamespaceSpec = msgspec.field(default_factory=NamespaceSpec)
    status: NamespaceStatus = msgspec.field(default_factory=NamespaceStatus)


class Event(Object):
    reason: str = ""
    message: str = ""


class LeaseSpec(Spec):
    holder_identity: str | None = None


class Lease(Object):
    spec: LeaseSpec = msgspec.field(default_factory=LeaseSpec)
