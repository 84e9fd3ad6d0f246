"""Typed API errors, by what the caller should do.

    ApiError (code, reason)
    ├── BadRequest 400          malformed body, wrong query
    │   └── Invalid 422         well-formed but fails validation; carries field causes
    ├── Unauthorized 401        no or unknown bearer token
    ├── Forbidden 403           token known, action not allowed
    ├── NotFound 404
    ├── MethodNotAllowed 405
    ├── Conflict 409            stale resourceVersion (re-read and retry)
    │   └── AlreadyExists 409
    ├── Gone 410                watch/list revision compacted (re-list)
    ├── RequestEntityTooLarge 413
    ├── UnsupportedMediaType 415
    ├── TooManyRequests 429     a slow watcher cut off; resume from its last revision
    ├── InternalError 500       a bug; never raised for bad input
    └── ServiceUnavailable 503  shutting down, store not ready (retry)

The server maps an ApiError to a Kubernetes Status object in exactly one place; the
client maps a Status back to the same class in exactly one place.
"""

from __future__ import annotations

import msgspec

from orchestrator.model.base import ListMeta, Spec


class StatusCause(Spec):
    reason: str = ""
    message: str = ""
    field: str = ""


class StatusDetails(Spec):
    name: str = ""
    group: str = ""
    kind: str = ""
    uid: str = ""
    causes: list[StatusCause] = msgspec.field(default_factory=list)
    retry_after_seconds: int | None = None


class Status(Spec, omit_defaults=False):
    """Kubernetes' meta/v1 Status: the body of every error answer (kind and apiVersion always written)."""

    api_version: str = "v1"
    kind: str = "Status"
    metadata: ListMeta = msgspec.field(default_factory=ListMeta)
    status: str = "Failure"
    message: str = ""
    reason: str = ""
    details: StatusDetails | None = None
    code: int = 0


class ApiError(Exception):
    code: int = 500
    reason: str = "InternalError"

    def __init__(self, message: str, *, kind: str = "", name: str = "", causes: list[StatusCause] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.name = name
        self.causes = causes or []

    def to_status(self) -> Status:
        details = None
        if self.kind or self.name or self.causes:
            details = StatusDetails(name=self.name, kind=self.kind, causes=self.causes)
        return Status(message=self.message, reason=self.reason, code=self.code, details=details)


class BadRequest(ApiError):
    code, reason = 400, "BadRequest"


class Invalid(BadRequest):
    code, reason = 422, "Invalid"


class Unauthorized(ApiError):
    code, reason = 401, "Unauthorized"


class Forbidden(ApiError):
    code, reason = 403, "Forbidden"


class NotFound(ApiError):
    code, reason = 404, "NotFound"


class MethodNotAllowed(ApiError):
    code, reason = 405, "MethodNotAllowed"


class Conflict(ApiError):
    code, reason = 409, "Conflict"


class AlreadyExists(Conflict):
    code, reason = 409, "AlreadyExists"


class Gone(ApiError):
    code, reason = 410, "Expired"


class RequestEntityTooLarge(ApiError):
    code, reason = 413, "RequestEntityTooLarge"


class UnsupportedMediaType(ApiError):
    code, reason = 415, "UnsupportedMediaType"


class TooManyRequests(ApiError):
    code, reason = 429, "TooManyRequests"


class InternalError(ApiError):
    code, reason = 500, "InternalError"


class ServiceUnavailable(ApiError):
    code, reason = 503, "ServiceUnavailable"


_BY_REASON: dict[str, type[ApiError]] = {
    cls.reason: cls
    for cls in (BadRequest, Invalid, Unauthorized, Forbidden, NotFound, MethodNotAllowed, Conflict,
                AlreadyExists, Gone, RequestEntityTooLarge, UnsupportedMediaType, TooManyRequests,
                InternalError, ServiceUnavailable)
}
_BY_CODE: dict[int, type[ApiError]] = {}
for _cls in _BY_REASON.values():
    _BY_CODE.setdefault(_cls.code, _cls)


def error_from_status(status: Status) -> ApiError:
    """The one place a Status answer turns back into a typed error (used by the client)."""
    cls = _BY_REASON.get(status.reason) or _BY_CODE.get(status.code, ApiError)
    details = status.details or StatusDetails()
    err = cls(status.message or status.reason, kind=details.kind, name=details.name, causes=details.causes)
    if cls is ApiError:
        err.code, err.reason = status.code, status.reason
    return err
