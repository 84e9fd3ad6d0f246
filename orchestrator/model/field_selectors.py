"""Field selectors (`fieldSelector`): `=`, `==`, `!=` on a fixed set of fields.

    spec.nodeName=node-1,status.phase!=Succeeded

The fields are `FIELDS` (metadata.name, metadata.namespace, spec.nodeName, status.phase
and a few more Kubernetes supports for pods, nodes and events); anything else is a
SelectorError naming the field and listing the supported ones. A value compares as text
(booleans as "true"/"false", absent as ""); `\\,` and `\\=` escape in values. Matching
works on a Struct or on its wire dict. Parsing is cached; FieldSelector is immutable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from orchestrator.model.selectors import SelectorError

def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _getter(wire: str, attrs: tuple[str, ...]) -> Callable[[Any], str]:
    parts = wire.split(".")

    def get(obj: Any) -> str:
        if isinstance(obj, dict):
            for p in parts:
                obj = obj.get(p) if isinstance(obj, dict) else None
        else:
            for a in attrs:
                obj = getattr(obj, a, None)
        return _text(obj)

    return get


_FIELD_ATTRS: dict[str, tuple[str, ...]] = {
    "metadata.name": ("metadata", "name"),
    "metadata.namespace": ("metadata", "namespace"),
    "spec.nodeName": ("spec", "node_name"),
    "spec.schedulerName": ("spec", "scheduler_name"),
    "spec.serviceAccountName": ("spec", "service_account_name"),
    "spec.restartPolicy": ("spec", "restart_policy"),
    "spec.unschedulable": ("spec", "unschedulable"),
    "status.phase": ("status", "phase"),
    "status.podIP": ("status", "pod_ip"),
    "status.nominatedNodeName": ("status", "nominated_node_name"),
    "involvedObject.kind": ("involved_object", "kind"),
    "involvedObject.namespace": ("involved_object", "namespace"),
    "involvedObject.name": ("involved_object", "name"),
    "involvedObject.uid": ("involved_object", "uid"),
    "involvedObject.apiVersion": ("involved_object", "api_version"),
    "involvedObject.fieldPath": ("involved_object", "field_path"),
    "reason": ("reason",),
    "type": ("type",),
    "reportingComponent": ("reporting_component",),
}
FIELDS: dict[str, Callable[[Any], str]] = {w: _getter(w, a) for w, a in _FIELD_ATTRS.items()}


def field_value(obj: Any, field: str) -> str:
    """The value a field selector compares (a Struct or its wire dict); "" when absent."""
    try:
        return FIELDS[field](obj)
    except KeyError:
        raise _unknown_field(field) from None


def _unknown_field(field: str) -> SelectorError:
    return SelectorError(f'field selector: "{field}" is not a supported field; supported fields: {", ".join(FIELDS)}')


class FieldSelector:
    """Terms ANDed; each is (field, equal?, value)."""

    __slots__ = ("terms", "_checks")

    def __init__(self, terms: tuple[tuple[str, bool, str], ...] = ()) -> None:
        self.terms = terms
        self._checks = tuple((FIELDS[f], eq, v) for f, eq, v in terms)

    def empty(self) -> bool:
        return not self.terms

    def matches(self, obj: Any) -> bool:
        for get, eq, value in self._checks:
            if (get(obj) == value) is not eq:
                return False
        return True

    def __str__(self) -> str:
        return ",".join(f"{f}{'=' if eq else '!='}{v}" for f, eq, v in self.terms)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"


_UNESCAPED_COMMA = re.compile(r"(?<!\\),")
_FIELD_TERM = re.compile(r"\s*([^=!\s]+)\s*(==|!=|=)(.*)", re.S)


@lru_cache(maxsize=1024)
def parse_field_selector(text: str) -> FieldSelector:
    """`spec.nodeName=n1,status.phase!=Succeeded` -> FieldSelector; "" selects everything."""
    if not text.strip():
        return _ALL_FIELDS
    terms: list[tuple[str, bool, str]] = []
    for part in _UNESCAPED_COMMA.split(text):
        m = _FIELD_TERM.fullmatch(part)
        if m is None:
            raise SelectorError(f'invalid field selector "{text}": "{part}" is not <field>=<value> or <field>!=<value>')
        field, op, value = m.group(1), m.group(2), m.group(3).strip()
        if field not in FIELDS:
            raise _unknown_field(field)
        value = value.replace("\\,", ",").replace("\\=", "=").replace("\\\\", "\\")
        terms.append((field, op != "!=", value))
    return FieldSelector(tuple(terms))


_ALL_FIELDS = FieldSelector()
