"""Server-side printing: `kubectl get` asks for a meta.k8s.io/v1 Table and prints its rows.

The columns are the same ones `orch get` prints (`model/columns.py`); wide-only columns
get priority 1, so kubectl shows them only with `-o wide`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from orchestrator.model import codec
from orchestrator.model.columns import columns_for
from orchestrator.model.registry import Kind


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "")


def table(kind: Kind, objects: list[Any], *, resource_version: int, continue_: str = "") -> bytes:
    docs = [codec.to_builtins(o) for o in objects]
    return codec.encode(table_doc(kind, docs, resource_version=resource_version, continue_=continue_))


def table_doc(kind: Kind, docs: list[dict[str, Any]], *, resource_version: int | str, continue_: str = "",
              with_definitions: bool = True) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    narrow = len(columns_for(kind.kind))
    columns = columns_for(kind.kind, wide=True)
    rows = [{"cells": [cell(doc, now) for _, cell in columns],
             "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": doc.get("metadata", {})}} for doc in docs]
    meta: dict[str, Any] = {"resourceVersion": str(resource_version)}
    if continue_:
        meta["continue"] = continue_
    out: dict[str, Any] = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "rows": rows}
    if with_definitions:
        out["columnDefinitions"] = [{"name": title, "type": "string", "format": "name" if title == "NAME" else "",
                                     "description": "", "priority": 0 if i < narrow else 1}
                                    for i, (title, _) in enumerate(columns)]
    return out


def table_event(kind: Kind, line: bytes, *, first: bool) -> bytes:
    """A watch line re-shaped for a Table watcher (kubectl get -w): the object becomes a
    one-row Table; BOOKMARK and ERROR lines pass unchanged."""
    event = codec.loads(line)
    if event.get("type") in ("BOOKMARK", "ERROR"):
        return line
    doc = event.get("object") or {}
    rv = (doc.get("metadata") or {}).get("resourceVersion", "")
    return codec.encode({"type": event["type"],
                         "object": table_doc(kind, [doc], resource_version=rv, with_definitions=first)})
