"""STUB: ConfigMap, Secret (to be completed)."""
from __future__ import annotations
import msgspec
from orchestrator.model.base import Object


class ConfigMap(Object):
    data: dict[str, str] = msgspec.field(default_factory=dict)


class Secret(Object):
    data: dict[str, str] = msgspec.field(default_factory=dict)
    type: str = ""
