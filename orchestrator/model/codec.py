"""JSON encoding and typed decoding, with errors a person can act on.

msgspec reports `Object contains unknown field `imagee` - at `$.spec.containers[0]``;
we turn that into `spec.containers[0].imagee: unknown field` (the Kubernetes way) and
an Invalid (422) error carrying the field path as a cause. Malformed JSON is a
BadRequest (400). One Decoder per type, made once.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, TypeVar

import msgspec

from orchestrator.model.errors import BadRequest, Invalid, StatusCause

T = TypeVar("T")

_encoder = msgspec.json.Encoder()
encode = _encoder.encode

_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")


@cache
def decoder(type_: type[T]) -> msgspec.json.Decoder[T]:
    return msgspec.json.Decoder(type_)


def field_error(exc: msgspec.ValidationError) -> tuple[str, str]:
    """(field path, message) out of a msgspec validation error."""
    m = _AT.match(str(exc))
    what, path = (m.group("what"), (m.group("path") or "")) if m else (str(exc), "")
    path = path.lstrip(".")
    if u := _UNKNOWN.match(what):
        return _join(path, u.group("field")), "unknown field"
    if r := _MISSING.match(what):
        return _join(path, r.group("field")), "required value"
    return path, what[0].lower() + what[1:] if what else what


def _join(path: str, field: str) -> str:
    return f"{path}.{field}" if path else field


def invalid_from(exc: msgspec.ValidationError, *, kind: str = "", name: str = "") -> Invalid:
    path, msg = field_error(exc)
    label = f"{kind} \"{name}\"" if name else (kind or "object")
    text = f"{path}: {msg}" if path else msg
    return Invalid(f"{label} is invalid: {text}", kind=kind, name=name,
                   causes=[StatusCause(reason="FieldValueInvalid", message=msg, field=path)])


def decode(data: bytes | str, type_: type[T], *, kind: str = "") -> T:
    """Decode and type-check JSON bytes; raises BadRequest (malformed) or Invalid (wrong shape)."""
    try:
        return decoder(type_).decode(data)
    except msgspec.ValidationError as exc:
        raise invalid_from(exc, kind=kind, name=_name_of(data)) from None
    except msgspec.DecodeError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None


def convert(data: Any, type_: type[T], *, kind: str = "") -> T:
    """Type-check already-parsed data (a YAML document, a patched dict)."""
    try:
        return msgspec.convert(data, type_)
    except msgspec.ValidationError as exc:
        raise invalid_from(exc, kind=kind, name=_meta_name(data)) from None


def _name_of(data: bytes | str) -> str:
    """metadata.name of a body that failed typed decoding (error path only), or ""."""
    try:
        return _meta_name(msgspec.json.decode(data))
    except msgspec.DecodeError:
        return ""


def _meta_name(doc: Any) -> str:
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) else ""


def to_builtins(obj: Any) -> Any:
    return msgspec.to_builtins(obj)


def loads(data: bytes | str) -> Any:
    """Untyped JSON (for patches); BadRequest on malformed input."""
    try:
        return msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise BadRequest(f"the request body is not valid JSON: {exc}") from None
