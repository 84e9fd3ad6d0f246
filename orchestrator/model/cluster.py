"""core/v1 Namespace and Event, coordination/v1 Lease.

Event is core/v1's shape (fields at the top level, no spec/status), so `kubectl get
events`-style tooling reads it unchanged. Lease holds node heartbeats and leader
election; times are RFC 3339 strings with microseconds, as Kubernetes writes them.
"""

from __future__ import annotations

from typing import Any

import msgspec

from orchestrator.model.base import Condition, Object, ObjectReference, Spec

Loose = dict[str, Any]

EVENT_TYPES = ("Normal", "Warning")


class NamespaceSpec(Spec):
    finalizers: list[str] = msgspec.field(default_factory=list)


class NamespaceStatus(Spec):
    phase: str = ""  # Active | Terminating
    conditions: list[Condition] = msgspec.field(default_factory=list)


class Namespace(Object):
    spec: NamespaceSpec = msgspec.field(default_factory=NamespaceSpec)
    status: NamespaceStatus = msgspec.field(default_factory=NamespaceStatus)


class EventSource(Spec):
    component: str = ""
    host: str = ""


class EventSeries(Spec):
    count: int = 0
    last_observed_time: str | None = None


class Event(Object):
    involved_object: ObjectReference = msgspec.field(default_factory=ObjectReference)
    reason: str = ""
    message: str = ""
    type: str = ""  # Normal | Warning
    count: int = 0
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    event_time: str | None = None
    series: EventSeries | None = None
    source: EventSource = msgspec.field(default_factory=EventSource)
    reporting_component: str = ""
    reporting_instance: str = ""
    action: str = ""
    related: ObjectReference | None = None


class LeaseSpec(Spec):
    holder_identity: str | None = None
    lease_duration_seconds: int | None = None
    acquire_time: str | None = None
    renew_time: str | None = None
    lease_transitions: int | None = None
    strategy: str | None = None
    preferred_holder: str | None = None


class Lease(Object):
    spec: LeaseSpec = msgspec.field(default_factory=LeaseSpec)
