"""Printing objects: tables (via columns.py), YAML, JSON, names. Objects become plain dicts here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

import yaml

from orchestrator.model.columns import columns_for
from orchestrator.cli.manifests import resource_label
from orchestrator.model.codec import to_builtins
from orchestrator.model.registry import Kind

OUTPUTS = ("wide", "yaml", "json", "name")


def as_dict(obj: Any, kind: Kind | None = None) -> dict[str, Any]:
    """The wire form of an object, apiVersion and kind first."""
    data = obj if isinstance(obj, dict) else to_builtins(obj)
    head = {"apiVersion": data.get("apiVersion") or (kind.api_version if kind else ""),
            "kind": data.get("kind") or (kind.kind if kind else "")}
    return {**head, **{k: v for k, v in data.items() if k not in head}}


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def table(kind: Kind, objs: Iterable[dict[str, Any]], *, wide: bool = False, all_namespaces: bool = False,
          kind_prefix: bool = False, now: datetime | None = None) -> tuple[list[str], list[list[str]]]:
    """(headers, rows). `kind_prefix` names rows `pod/web` (when several kinds are shown)."""
    now = now or now_utc()
    columns = columns_for(kind.kind, wide=wide)
    headers = [h for h, _ in columns]
    if all_namespaces and kind.namespaced:
        headers.insert(0, "NAMESPACE")
    rows: list[list[str]] = []
    for obj in objs:
        row = [_cell(cell, obj, now) for _, cell in columns]
        if kind_prefix and headers[1 if all_namespaces and kind.namespaced else 0] == "NAME":
            row[0] = resource_label(kind, row[0])
        if all_namespaces and kind.namespaced:
            row.insert(0, str((obj.get("metadata") or {}).get("namespace", "")))
        rows.append(row)
    return headers, rows


def _cell(cell: Any, obj: dict[str, Any], now: datetime) -> str:
    try:
        return str(cell(obj, now))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return "<error>"  # a field of an unexpected shape: show the rest of the row


def dump_yaml(data: Any) -> str:
    return str(yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True))


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def as_list(items: Sequence[dict[str, Any]], *, resource_version: str = "") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": resource_version},
            "items": list(items)}


def render_objects(items: Sequence[dict[str, Any]], *, output: str, single: bool) -> str:
    """-o yaml|json: one object as itself when one was asked for by name, else a List."""
    data = items[0] if single and len(items) == 1 else as_list(items)
    return dump_yaml(data).rstrip("\n") if output == "yaml" else dump_json(data)


def names(kind: Kind, items: Iterable[dict[str, Any]]) -> list[str]:
    return [resource_label(kind, str((o.get("metadata") or {}).get("name", ""))) for o in items]


def no_resources(namespace: str, *, all_namespaces: bool, namespaced: bool) -> str:
    if namespaced and not all_namespaces:
        return f"No resources found in {namespace} namespace."
    return "No resources found"
