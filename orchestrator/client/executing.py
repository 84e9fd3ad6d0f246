"""Exec: the client side of Kubernetes' websocket remote-command protocol.

    ws GET /api/v1/namespaces/NS/pods/NAME/exec?command=A&command=B&container=C&stdout=true&stderr=true
        [&stdin=true] [&tty=true, and no stderr], subprotocols v5.channel.k8s.io, v4 (see model.exec_protocol)
    -> channel 0 stdin, 4 resize, [255, 0] stdin ended (``ExecSession``, for -i / -t)
    <- channel 1 / 2 output (passed on as it comes), channel 3 one Status, then close

The Status gives the exit code (Success is 0; NonZeroExitCode carries N); any other
Status is raised as its typed ApiError, as is a refused upgrade.  aiohttp keeps the
body of a refused upgrade from us, so the request is repeated as a plain POST, which
the server checks the same way but never runs: its answer is the Status saying why
(403, 404, no command ...), as kubectl's SPDY fallback hears it.  A dropped connection or
no answer is Unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec

from orchestrator.client.responses import Unreachable, error_from_body, status_from_data
from orchestrator.model.errors import ApiError, ServiceUnavailable, error_from_status
from orchestrator.model.exec_protocol import (ERROR, PROTOCOLS, STDERR, STDIN, STDOUT, V5, close_frame, exit_code_of,
                                              frame, resize_frame)
from orchestrator.model.registry import REGISTRY

if TYPE_CHECKING:
    from orchestrator.client.clients import Client

HEARTBEAT_S = 30.0  # a server gone silent is noticed after about this long (the command may run for minutes)

Output = Callable[[int, bytes], None]  # (channel: 1 stdout or 2 stderr, data)


@dataclass(slots=True)
class ExecResult:
    exit_code: int
    stdout: bytes = b""  # what came on each channel, unless an `on_output` callback took it
    stderr: bytes = b""


class ExecSession:
    """One exec's websocket: stdin and resizes out (for -i / -t), output in until the Status."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *, url: str) -> None:
        self._ws, self._url = ws, url

    async def write_stdin(self, data: bytes) -> None:
        await self._ws.send_bytes(frame(STDIN, data))

    async def close_stdin(self) -> None:
        """Tell the command its input ended; v4 has no way to say it (the server must then close first)."""
        if self._ws.protocol == V5:
            await self._ws.send_bytes(close_frame(STDIN))

    async def resize(self, *, cols: int, rows: int) -> None:
        await self._ws.send_bytes(resize_frame(cols=cols, rows=rows))

    async def wait(self, on_output: Output | None = None) -> ExecResult:
        """The output until the server closes, then the command's result (errors raised as ApiErrors)."""
        out = {STDOUT: bytearray(), STDERR: bytearray(), ERROR: bytearray()}
        async for msg in self._ws:
            if msg.type == aiohttp.WSMsgType.ERROR:
                raise Unreachable(f"exec {self._url}: {self._ws.exception()}")
            if msg.type != aiohttp.WSMsgType.BINARY or not msg.data or msg.data[0] not in out:
                continue  # a channel this client did not ask for
            channel, data = msg.data[0], msg.data[1:]
            if on_output is not None and channel != ERROR:
                on_output(channel, data)
            else:
                out[channel] += data
        if self._ws.close_code not in (None, aiohttp.WSCloseCode.OK):
            raise Unreachable(f"exec {self._url}: the connection closed with code {self._ws.close_code} "
                              "before the command ended")
        return ExecResult(exit_code=_exit_code(bytes(out[ERROR])), stdout=bytes(out[STDOUT]),
                          stderr=bytes(out[STDERR]))


@contextlib.asynccontextmanager
async def exec_session(client: Client, name: str, command: list[str], *, namespace: str, container: str = "",
                       stdin: bool = False, tty: bool = False) -> AsyncIterator[ExecSession]:
    """The command started in the pod's container; with a tty its output is all stdout."""
    if not command:
        raise ValueError("exec needs a command")
    path = REGISTRY.by_kind("Pod").api_path(namespace, name) + "/exec"
    params = [*(("command", word) for word in command), ("stdout", "true")]
    params += [("stdin", "true")] if stdin else []
    params += [("tty", "true")] if tty else [("stderr", "true")]  # a tty merges them, so kubectl asks for no stderr
    if container:
        params.append(("container", container))
    url = client.url(path)
    try:
        async with asyncio.timeout(client.timeout):
            ws = await client.session.ws_connect(url, params=params, headers=client.headers, protocols=PROTOCOLS,
                                                 heartbeat=HEARTBEAT_S, max_msg_size=0)
    except aiohttp.WSServerHandshakeError as exc:
        raise await _refusal(client, path, params, exc) from None
    except TimeoutError:
        raise Unreachable(f"exec {url}: no answer within {client.timeout:g}s") from None
    except aiohttp.ClientConnectionError as exc:
        raise Unreachable(f"the connection to the server {client.base_url} failed: {exc}") from None
    async with ws:
        yield ExecSession(ws, url=url)


async def exec_command(client: Client, name: str, command: list[str], *, namespace: str, container: str = "",
                       on_output: Output | None = None) -> ExecResult:
    async with exec_session(client, name, command, namespace=namespace, container=container) as session:
        return await session.wait(on_output)


def _exit_code(status_bytes: bytes) -> int:
    if not status_bytes.strip():
        return 0  # no Status: success, as kubectl reads it
    try:
        data: Any = msgspec.json.decode(status_bytes)
    except msgspec.DecodeError:
        raise ServiceUnavailable(f"exec: the server's status is not JSON: {status_bytes[:200]!r}") from None
    if not isinstance(data, dict):
        raise ServiceUnavailable(f"exec: the server's status is not a Status: {status_bytes[:200]!r}")
    code = exit_code_of(data)
    if code is not None:
        return code
    status = status_from_data({**data, "kind": "Status"})  # Kubernetes leaves kind out on this channel
    assert status is not None
    raise error_from_status(status)


async def _refusal(client: Client, path: str, params: list[tuple[str, str]],
                   exc: aiohttp.WSServerHandshakeError) -> ApiError:
    """Why the upgrade was refused: the same request as a POST (which runs nothing) tells."""
    fallback = error_from_body(code=exc.status, body=(exc.message or "").encode())
    try:
        async with asyncio.timeout(client.timeout):
            async with client.session.post(client.url(path), params=params, headers=client.headers) as resp:
                if resp.status < 300:
                    return fallback
                told = error_from_body(code=resp.status, body=await resp.read(), http_reason=resp.reason or "")
    except (TimeoutError, aiohttp.ClientError):
        return fallback
    return told if told.code == exc.status else fallback  # another code: the POST met another problem
