"""The one place an HTTP answer turns into a typed error.

A 2xx answer passes through; anything else becomes the ApiError subclass its Status
names (`error_from_status`). A body that is not a Status (a proxy's HTML page, aiohttp's
plain `404: Not Found`) still becomes the class for its HTTP code, carrying the text.
Transport failures (refused, reset, timed out) become `Unreachable`, a
ServiceUnavailable: the caller should retry later.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import msgspec

from orchestrator.model.errors import (ApiError, ServiceUnavailable, Status, StatusCause, StatusDetails,
                                       error_from_status)


class Unreachable(ServiceUnavailable):
    """The server could not be reached or did not answer in time (nothing came back)."""


async def check_response(resp: aiohttp.ClientResponse) -> bytes:
    """The body of a 2xx answer; raises the typed ApiError for any other."""
    body = await resp.read()
    if 200 <= resp.status < 300:
        return body
    raise error_from_body(code=resp.status, body=body, http_reason=resp.reason or "")


def error_from_body(*, code: int, body: bytes, http_reason: str = "") -> ApiError:
    status = status_from_data(_json_or_none(body))
    if status is None:
        text = body.decode("utf-8", "replace").strip() or http_reason or f"HTTP {code}"
        status = Status(code=code, message=text[:2000])
    elif not status.code:
        status = msgspec.structs.replace(status, code=code)
    return error_from_status(status)


def status_from_data(data: Any) -> Status | None:
    """A Status out of already-parsed JSON, tolerant of fields this client does not know."""
    if not isinstance(data, dict) or data.get("kind") != "Status":
        return None
    details = data.get("details")
    causes: list[StatusCause] = []
    if isinstance(details, dict):
        for c in details.get("causes") or []:
            if isinstance(c, dict):
                causes.append(StatusCause(reason=str(c.get("reason", "")), message=str(c.get("message", "")),
                                          field=str(c.get("field", ""))))
    return Status(
        status=str(data.get("status", "Failure")),
        message=str(data.get("message", "")),
        reason=str(data.get("reason", "")),
        code=int(data.get("code") or 0),
        details=StatusDetails(name=str(details.get("name", "")), kind=str(details.get("kind", "")), causes=causes)
        if isinstance(details, dict) else None,
    )


def _json_or_none(body: bytes) -> Any:
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
