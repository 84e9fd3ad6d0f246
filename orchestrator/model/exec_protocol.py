"""Exec's wire formats, shared by the server, the agent and the client (no I/O).

Client <-> server: Kubernetes' websocket remote-command protocol, as kubectl >= 1.30
speaks it.  The client offers the subprotocols ``v5.channel.k8s.io`` (and maybe
``v4.channel.k8s.io``); every binary message starts with its channel byte:

    0 stdin   1 stdout   2 stderr   3 error: one JSON Status, last   4 resize (tty)
    255 close: ``[255, channel]`` half-closes a channel (v5 only)

A resize message carries ``{"Width": cols, "Height": rows}``.  With ``stdin`` (``-i``) the
client's input comes on channel 0 for as long as the command runs; v4 has no way to say
that input ended, so a piped ``-i`` needs v5.

The Status on channel 3 says how the command ended: ``Success`` for exit 0; for exit N
a ``Failure`` with reason ``NonZeroExitCode`` and the cause ``ExitCode`` = N (kubectl
then exits with N); any other ``Failure`` is an error whose message a person reads.
The server closes the websocket after it; no Status at all also means success.

Server -> agent (orch's own hop), non-interactive: ``POST /exec/NS/POD/CONTAINER`` with an
``ExecRequest``; the answer's body is the output, ``EXIT_CODE_HEADER`` the exit code.
Interactive (stdin or tty): a v5 websocket ``GET`` on the same path with kubectl's query
(``command``, ``stdin``, ``tty``); the frames are kubectl's, relayed as they are both ways.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import msgspec

V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
PROTOCOLS = (V5, V4)  # preferred first; both frame and end a non-interactive exec the same way
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
EXIT_CODE_HEADER = "X-Orch-Exit-Code"
NON_ZERO_EXIT = "NonZeroExitCode"  # Kubernetes' reason for "ran, and exited with N"
_DIGITS = re.compile(r"[0-9]+")  # not str.isdigit: that takes "²"


class ExecRequest(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """The server's call to the agent: run ``command`` in the container, give up after the timeout."""

    command: Annotated[list[str], msgspec.Meta(min_length=1)]
    timeout_seconds: Annotated[float, msgspec.Meta(gt=0)]


class TerminalSize(msgspec.Struct, rename={"cols": "Width", "rows": "Height"}):
    cols: Annotated[int, msgspec.Meta(ge=0, le=65535)]
    rows: Annotated[int, msgspec.Meta(ge=0, le=65535)]


request_decoder = msgspec.json.Decoder(ExecRequest)
_size_decoder = msgspec.json.Decoder(TerminalSize)


def frame(channel: int, data: bytes) -> bytes:
    return bytes((channel,)) + data


def resize_frame(*, cols: int, rows: int) -> bytes:
    return frame(RESIZE, msgspec.json.encode(TerminalSize(cols=cols, rows=rows)))


def close_frame(channel: int) -> bytes:
    return bytes((CLOSE, channel))


def terminal_size(data: bytes) -> TerminalSize | None:
    """A resize message's size; None for one that does not parse (it is ignored, as Kubernetes does)."""
    try:
        return _size_decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def exit_status(command: Sequence[str], code: int) -> dict[str, Any]:
    """The channel-3 Status for a command that ran and exited with ``code`` (Kubernetes' wording)."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    shown = code if 0 < code < 256 else 255  # kubectl reads the code as one unsigned byte
    return {"metadata": {}, "status": "Failure", "reason": NON_ZERO_EXIT,
            "message": f"command terminated with non-zero exit code: error executing command "
                       f"[{' '.join(command)}], exit code {code}",
            "details": {"causes": [{"reason": "ExitCode", "message": str(shown)}]}}  # fmt: skip


def exit_code_of(status: Mapping[str, Any]) -> int | None:
    """The exit code a channel-3 Status reports, or None when it reports an error instead."""
    if status.get("status") == "Success":
        return 0
    if status.get("reason") != NON_ZERO_EXIT:
        return None
    details = status.get("details")
    causes = details.get("causes") if isinstance(details, dict) else None
    for cause in causes if isinstance(causes, list) else []:
        if not isinstance(cause, dict) or cause.get("reason") != "ExitCode":
            continue
        if _DIGITS.fullmatch(text := str(cause.get("message", ""))):
            return int(text)
    return None
