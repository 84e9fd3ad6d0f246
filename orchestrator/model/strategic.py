"""Strategic merge patch (what `kubectl apply`, `kubectl edit` and `kubectl patch` send by
default for built-in kinds). Pure, over plain JSON values.

It is a JSON merge patch, except that some lists merge element by element on a key
(containers by `name`, ports by `containerPort`, conditions by `type`, ...) instead of being
replaced, and that the patch may carry directives:

- `$patch: replace | delete | merge` on a map or on a list element;
- `$retainKeys: [...]` keeps only those keys of the merged map;
- `$setElementOrder/FIELD: [...]` orders the merged list FIELD;
- `$deleteFromPrimitiveList/FIELD: [...]` removes values from a merged list of scalars.

The merge keys are Kubernetes' `patchMergeKey` tags for the kinds orch serves. They are
looked up by field name: within those kinds each name below means one thing, and free-form
maps (labels, annotations, ConfigMap data) hold strings, never lists.
"""

from __future__ import annotations

import copy
from typing import Any

from orchestrator.model.errors import BadRequest, Invalid, StatusCause

MERGE_KEYS: dict[str, str] = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name",
    "volumes": "name", "imagePullSecrets": "name", "resourceClaims": "name", "schedulingGates": "name",
    "hostAliases": "ip", "podIPs": "ip", "hostIPs": "ip", "topologySpreadConstraints": "topologyKey",
    "env": "name", "ports": "containerPort", "volumeMounts": "mountPath", "volumeDevices": "devicePath",
    "resizePolicy": "resourceName", "conditions": "type", "addresses": "type", "ownerReferences": "uid",
    "volumesAttached": "name",
}
# Lists of scalars whose patch adds to the set rather than replacing it.
MERGED_SCALAR_LISTS = frozenset({"finalizers"})

SET_ORDER, DELETE_FROM = "$setElementOrder/", "$deleteFromPrimitiveList/"
_DELETE = object()


def strategic_merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        raise BadRequest("a strategic merge patch must be a JSON object")
    merged = _merge_map(target if isinstance(target, dict) else {}, patch, "")
    if merged is _DELETE:
        raise Invalid("a strategic merge patch cannot delete the whole object ($patch: delete at the top)")
    return merged


def _invalid(path: str, message: str) -> Invalid:
    return Invalid(f"{path or 'patch'}: {message}",
                   causes=[StatusCause(reason="FieldValueInvalid", field=path, message=message)])


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _merge_map(original: dict[str, Any], patch: dict[str, Any], path: str) -> Any:
    directive = patch.get("$patch", "merge")
    if directive == "delete":
        return _DELETE
    if directive == "replace":
        return _merge_map({}, {k: v for k, v in patch.items() if k != "$patch"}, path)
    if directive != "merge":
        raise _invalid(_join(path, "$patch"), f"unknown directive {directive!r} (replace, delete or merge)")
    result = dict(original)
    orders: dict[str, Any] = {}
    removals: dict[str, Any] = {}
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith(SET_ORDER):
            orders[key[len(SET_ORDER):]] = value
            continue
        if key.startswith(DELETE_FROM):
            removals[key[len(DELETE_FROM):]] = value
            continue
        if key.startswith("$"):
            raise _invalid(_join(path, key), "unknown strategic merge patch directive")
        here = _join(path, key)
        old = result.get(key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(old if isinstance(old, dict) else {}, value, here)
            if merged is _DELETE:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _merge_list(key, old if isinstance(old, list) else [], value, here)
        else:
            result[key] = value
    for field, values in removals.items():
        if not isinstance(values, list):
            raise _invalid(_join(path, DELETE_FROM + field), "must be a list")
        if isinstance(result.get(field), list):
            result[field] = [v for v in result[field] if v not in values]
    for field, order in orders.items():
        if not isinstance(order, list):
            raise _invalid(_join(path, SET_ORDER + field), "must be a list")
        if isinstance(result.get(field), list):
            result[field] = _ordered(field, result[field], order)
    if "$retainKeys" in patch:
        keep = patch["$retainKeys"]
        if not isinstance(keep, list):
            raise _invalid(_join(path, "$retainKeys"), "must be a list of field names")
        result = {k: v for k, v in result.items() if k in keep}
    return result


def _merge_list(field: str, original: list[Any], patch: list[Any], path: str) -> list[Any]:
    key = MERGE_KEYS.get(field)
    if field in MERGED_SCALAR_LISTS and not any(isinstance(v, (dict, list)) for v in patch):
        return [*original, *(v for v in dict.fromkeys(patch) if v not in original)]
    if key is None:
        return copy.deepcopy(patch)  # an atomic list: the patch's list is the new list
    if any(isinstance(e, dict) and e.get("$patch") == "replace" for e in patch):
        patch, original = [e for e in patch if not (isinstance(e, dict) and e.get("$patch") == "replace")], []
    out = list(original)
    for i, elem in enumerate(patch):
        here = f"{path}[{i}]"
        if not isinstance(elem, dict):
            raise _invalid(here, f"must be an object (this list merges on {key!r})")
        if key not in elem:
            raise _invalid(_join(here, key), f"Required value: the merge key of {field}")
        at = next((j for j, e in enumerate(out) if isinstance(e, dict) and e.get(key) == elem[key]), None)
        merged = _merge_map(out[at] if at is not None else {}, elem, here)
        if merged is _DELETE:
            out = [e for e in out if not (isinstance(e, dict) and e.get(key) == elem[key])]
        elif at is None:
            out.append(merged)
        else:
            out[at] = merged
    return out


def _ordered(field: str, items: list[Any], order: list[Any]) -> list[Any]:
    """Items named in `order` first, in that order; the rest after, as they were."""
    key = MERGE_KEYS.get(field)

    def ident(item: Any) -> Any:
        value = item.get(key) if key and isinstance(item, dict) else item
        return repr(value)

    rank = {ident(o): i for i, o in enumerate(order)}
    indexed = list(enumerate(items))
    indexed.sort(key=lambda pair: (0, rank[ident(pair[1])]) if ident(pair[1]) in rank else (1, pair[0]))
    return [item for _, item in indexed]
