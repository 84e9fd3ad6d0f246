"""Field errors as Kubernetes words them, and the Invalid error that carries them.

Each helper returns a `StatusCause(reason, message, field)`; the message is what
follows `<field>: ` in Kubernetes' text (`Required value`, `Invalid value: "X": why`,
`Unsupported value: "X": supported values: "a", "b"`, `Duplicate value: "x"`,
`Forbidden: why`). `invalid_error` joins causes the way the Kubernetes API does:

    Pod "web" is invalid: spec.containers[0].image: Required value
    Deployment "web" is invalid: [spec.replicas: ..., spec.selector: Required value]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import msgspec

from orchestrator.model.errors import Invalid, StatusCause

REQUIRED = "FieldValueRequired"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
DUPLICATE = "FieldValueDuplicate"
FORBIDDEN = "FieldValueForbidden"
NOT_FOUND = "FieldValueNotFound"
TOO_LONG = "FieldValueTooLong"


def show(value: object) -> str:
    """A value the way Kubernetes quotes it: strings and maps as JSON, numbers bare."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return msgspec.json.encode(value).decode()


def required(field: str, detail: str = "") -> StatusCause:
    return StatusCause(reason=REQUIRED, field=field, message=f"Required value: {detail}" if detail else "Required value")


def invalid(field: str, value: object, detail: str) -> StatusCause:
    return StatusCause(reason=INVALID, field=field, message=f"Invalid value: {show(value)}: {detail}")


def not_supported(field: str, value: object, supported: Iterable[str]) -> StatusCause:
    listed = ", ".join(f'"{s}"' for s in supported)
    return StatusCause(reason=NOT_SUPPORTED, field=field,
                       message=f"Unsupported value: {show(value)}: supported values: {listed}")


def duplicate(field: str, value: object) -> StatusCause:
    return StatusCause(reason=DUPLICATE, field=field, message=f"Duplicate value: {show(value)}")


def not_found(field: str, value: object) -> StatusCause:
    return StatusCause(reason=NOT_FOUND, field=field, message=f"Not found: {show(value)}")


def forbidden(field: str, detail: str) -> StatusCause:
    return StatusCause(reason=FORBIDDEN, field=field, message=f"Forbidden: {detail}")


def too_long(field: str, limit: int) -> StatusCause:
    return StatusCause(reason=TOO_LONG, field=field, message=f"Too long: must have at most {limit} bytes")


def plain(field: str, message: str) -> StatusCause:
    """A cause whose message is already complete (e.g. a QuantityError's text)."""
    return StatusCause(reason=INVALID, field=field, message=message)


def describe(cause: StatusCause) -> str:
    return f"{cause.field}: {cause.message}" if cause.field else cause.message


def invalid_error(kind: str, name: str, causes: Sequence[StatusCause]) -> Invalid:
    """The 422 error for a failed validation, message joined as Kubernetes joins it."""
    texts = [describe(c) for c in causes]
    joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    label = f'{kind} "{name}"' if name else (kind or "object")
    return Invalid(f"{label} is invalid: {joined}", kind=kind, name=name, causes=list(causes))
