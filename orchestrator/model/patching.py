"""JSON merge patch (RFC 7386) and JSON patch (RFC 6902) over plain JSON values. Pure.

Errors are BadRequest/Invalid with the failing operation and path, never a crash.
"""

from __future__ import annotations

import copy
from typing import Any

from orchestrator.model.errors import BadRequest, Invalid, StatusCause


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def _split(pointer: str, where: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise BadRequest(f"{where}: path {pointer!r} must start with '/'")
    return [_unescape(t) for t in pointer[1:].split("/")]


def _parent(doc: Any, tokens: list[str], where: str) -> tuple[Any, str]:
    node = doc
    for token in tokens[:-1]:
        node = _child(node, token, where)
    return node, tokens[-1]


def _child(node: Any, token: str, where: str) -> Any:
    if isinstance(node, dict):
        if token not in node:
            raise Invalid(f"{where}: path element {token!r} does not exist",
                          causes=[StatusCause(reason="FieldValueNotFound", field=token)])
        return node[token]
    if isinstance(node, list):
        idx = _index(token, len(node) - 1, where)
        return node[idx]
    raise Invalid(f"{where}: cannot descend into a {type(node).__name__} at {token!r}")


def _index(token: str, upper: int, where: str) -> int:
    if not token.isdigit():
        raise Invalid(f"{where}: {token!r} is not a valid array index")
    idx = int(token)
    if idx > upper:
        raise Invalid(f"{where}: array index {idx} is out of range")
    return idx


def _get(doc: Any, pointer: str, where: str) -> Any:
    node = doc
    for token in _split(pointer, where):
        node = _child(node, token, where)
    return node


def json_patch(doc: Any, ops: Any) -> Any:
    if not isinstance(ops, list):
        raise BadRequest("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for i, op in enumerate(ops):
        where = f"operation {i}"
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise BadRequest(f"{where}: each JSON patch operation needs 'op' and 'path'")
        kind, path = op["op"], op["path"]
        if not isinstance(path, str):
            raise BadRequest(f"{where}: 'path' must be a string")
        where = f"operation {i} ({kind} {path})"
        if kind in ("add", "replace", "test") and "value" not in op:
            raise BadRequest(f"{where}: 'value' is required")
        if kind == "test":
            if _get(doc, path, where) != op["value"]:
                raise Invalid(f"{where}: test failed")
            continue
        if kind in ("move", "copy"):
            src = op.get("from")
            if not isinstance(src, str):
                raise BadRequest(f"{where}: 'from' is required")
            value = copy.deepcopy(_get(doc, src, where))
            if kind == "move":
                doc = _remove(doc, src, where)
            doc = _add(doc, path, value, where)
            continue
        if kind == "add":
            doc = _add(doc, path, op["value"], where)
        elif kind == "remove":
            doc = _remove(doc, path, where)
        elif kind == "replace":
            doc = _remove(doc, path, where)
            doc = _add(doc, path, op["value"], where)
        else:
            raise BadRequest(f"{where}: unknown operation {kind!r}")
    return doc


def _add(doc: Any, pointer: str, value: Any, where: str) -> Any:
    tokens = _split(pointer, where)
    if not tokens:
        return value
    parent, last = _parent(doc, tokens, where)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            parent.insert(_index(last, len(parent), where), value)
    else:
        raise Invalid(f"{where}: cannot add to a {type(parent).__name__}")
    return doc


def _remove(doc: Any, pointer: str, where: str) -> Any:
    tokens = _split(pointer, where)
    if not tokens:
        raise Invalid(f"{where}: cannot remove the whole document")
    parent, last = _parent(doc, tokens, where)
    if isinstance(parent, dict):
        if last not in parent:
            raise Invalid(f"{where}: path does not exist")
        del parent[last]
    elif isinstance(parent, list):
        del parent[_index(last, len(parent) - 1, where)]
    else:
        raise Invalid(f"{where}: cannot remove from a {type(parent).__name__}")
    return doc
