"""check_response's mapping: Status bodies to their typed errors, anything else by HTTP code."""

from __future__ import annotations

import json

from orchestrator.client.responses import error_from_body
from orchestrator.model import errors


def status(code: int, reason: str, message: str, **details: object) -> bytes:
    body = {"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": code, "reason": reason,
            "message": message, "extraFieldFromANewerServer": True}
    if details:
        body["details"] = details
    return json.dumps(body).encode()


def test_status_bodies_become_their_typed_errors() -> None:
    err = error_from_body(code=404, body=status(404, "NotFound", 'pods "x" not found', name="x", kind="pods"))
    assert isinstance(err, errors.NotFound) and err.message == 'pods "x" not found' and err.name == "x"
    assert type(error_from_body(code=409, body=status(409, "AlreadyExists", "exists"))) is errors.AlreadyExists
    assert type(error_from_body(code=409, body=status(409, "Conflict", "stale"))) is errors.Conflict
    assert isinstance(error_from_body(code=410, body=status(410, "Expired", "too old")), errors.Gone)
    assert isinstance(error_from_body(code=410, body=status(410, "Gone", "too old")), errors.Gone)
    invalid = error_from_body(code=422, body=status(422, "Invalid", "bad", causes=[
        {"reason": "FieldValueInvalid", "message": "unknown field", "field": "spec.x"}]))
    assert isinstance(invalid, errors.Invalid) and invalid.causes[0].field == "spec.x"


def test_other_bodies_keep_the_code_and_text() -> None:
    err = error_from_body(code=404, body=b"404: Not Found")
    assert isinstance(err, errors.NotFound) and err.message == "404: Not Found"
    odd = error_from_body(code=418, body=b"<html>teapot</html>")
    assert type(odd) is errors.ApiError and odd.code == 418 and "teapot" in odd.message
    empty = error_from_body(code=502, body=b"", http_reason="Bad Gateway")
    assert empty.code == 502 and empty.message == "Bad Gateway"
    assert error_from_body(code=503, body=b'{"kind": "Status", "reason": "ServiceUnavailable"}').code == 503
