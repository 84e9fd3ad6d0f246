"""What `orch apply` sends: create, configure (a three-way merge) or nothing.

Like kubectl, the last configuration applied is kept on the object, in the annotation
`orch.io/last-applied-configuration`, so that a field removed from the manifest is
removed from the object while fields the server or controllers own (status, defaults,
resourceVersion, annotations others added) are kept:

    merged = live, then for each field: set what the manifest sets,
             drop what the last applied manifest set and this one no longer does.

Unchanged means: the manifest is what was applied last and every field it sets already
has that value in the live object. Plain dicts in, plain dicts out; no I/O.
"""

from __future__ import annotations

import json
from typing import Any

LAST_APPLIED = "orch.io/last-applied-configuration"
SERVER_OWNED_META = ("uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
                     "deletionGracePeriodSeconds", "managedFields", "selfLink")

CREATE, CONFIGURE, UNCHANGED = "created", "configured", "unchanged"


def desired_config(doc: dict[str, Any]) -> dict[str, Any]:
    """The manifest as the user owns it: no status, no server-owned metadata, no last-applied note."""
    out = {k: v for k, v in doc.items() if k != "status"}
    meta = dict(out.get("metadata") or {})
    for key in SERVER_OWNED_META:
        meta.pop(key, None)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    out["metadata"] = meta
    return out


def plan_apply(*, live: dict[str, Any] | None, desired: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """(CREATE, body) | (CONFIGURE, body) | (UNCHANGED, None). `desired` from desired_config()."""
    if live is None:
        return CREATE, _noted(desired, desired)
    last = last_applied(live)
    if last == desired and is_subset(desired, live):
        return UNCHANGED, None
    body_in = {k: v for k, v in live.items() if k != "status"}
    merged = three_way(live=body_in, last=last or {}, desired=desired)
    meta = merged.setdefault("metadata", {})
    for key in SERVER_OWNED_META:
        if key in (live.get("metadata") or {}):
            meta[key] = live["metadata"][key]
    if "status" in live:
        merged["status"] = live["status"]
    return CONFIGURE, _noted(merged, desired)


def last_applied(live: dict[str, Any]) -> dict[str, Any] | None:
    note = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not note:
        return None
    try:
        value = json.loads(note)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def three_way(*, live: dict[str, Any], last: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    out = dict(live)
    for key, value in desired.items():
        current, before = live.get(key), last.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            out[key] = three_way(live=current, last=before if isinstance(before, dict) else {}, desired=value)
        else:
            out[key] = value
    for key in last:
        if key not in desired:
            out.pop(key, None)
    return out


def is_subset(want: Any, have: Any) -> bool:
    """Every field `want` sets has that value in `have` (lists: same length, item by item)."""
    if isinstance(want, dict):
        return isinstance(have, dict) and all(k in have and is_subset(v, have[k]) for k, v in want.items())
    if isinstance(want, list):
        return isinstance(have, list) and len(want) == len(have) and all(map(is_subset, want, have))
    return bool(want == have)


def _noted(body: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    out = dict(body)
    meta = dict(out.get("metadata") or {})
    meta["annotations"] = {**(meta.get("annotations") or {}),
                           LAST_APPLIED: json.dumps(desired, sort_keys=True, separators=(",", ":"))}
    out["metadata"] = meta
    return out
