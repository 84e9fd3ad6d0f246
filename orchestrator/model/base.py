"""Struct configuration shared by every API type, and the object envelope.

Every API type is a msgspec Struct with Kubernetes field names (camelCase), keyword-only
construction, unknown fields rejected (the decoder reports the JSON path) and defaults
omitted on output so objects stay small on the wire and in the store.

Objects read from the store or a cache are shared: treat them as read-only and copy
(`msgspec.structs.replace` or `clone`) before changing anything.
"""

from __future__ import annotations

from typing import TypeVar

import msgspec

T = TypeVar("T", bound=msgspec.Struct)


class Spec(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True, forbid_unknown_fields=True):
    """Base for every nested API struct."""


class OwnerReference(Spec):
    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ObjectMeta(Spec):
    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    uid: str = ""
    resource_version: str = ""
    generation: int = 0
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    deletion_grace_period_seconds: int | None = None
    labels: dict[str, str] = msgspec.field(default_factory=dict)
    annotations: dict[str, str] = msgspec.field(default_factory=dict)
    owner_references: list[OwnerReference] = msgspec.field(default_factory=list)
    finalizers: list[str] = msgspec.field(default_factory=list)
    # Accepted so `kubectl get -o yaml` output applies unchanged; never interpreted.
    managed_fields: list[dict[str, object]] | None = None


class Object(Spec):
    """The envelope every kind shares. apiVersion/kind are filled in by the server."""

    api_version: str = ""
    kind: str = ""
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)


class ObjectReference(Spec):
    """core/v1 ObjectReference: points at one object (Event.involvedObject, Binding.target)."""

    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    api_version: str = ""
    resource_version: str = ""
    field_path: str = ""


class ListMeta(Spec):
    resource_version: str = ""
    # `continue` is a Python keyword: the attribute is `continue_`, the wire name `continue`.
    continue_: str = msgspec.field(default="", name="continue")
    remaining_item_count: int | None = None


class Condition(Spec):
    """The condition shape shared by Node, Pod, Deployment, Job and others."""

    type: str
    status: str  # "True" | "False" | "Unknown"
    reason: str = ""
    message: str = ""
    last_transition_time: str | None = None
    last_heartbeat_time: str | None = None
    last_probe_time: str | None = None
    last_update_time: str | None = None


def clone(obj: T) -> T:
    """A deep copy (msgspec round trip: fast, and exact for API types)."""
    return msgspec.json.decode(msgspec.json.encode(obj), type=type(obj))
