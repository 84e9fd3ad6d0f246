"""One probe attempt: exec, httpGet or tcpSocket, each under the probe's timeout.

Pure I/O with no state; thresholds and timing live in ``probes_workers.py``.  Where a
probe connects: ``probe.host`` when given, else the container's IP, else (the
``process`` runtime, whose containers share the node's network) 127.0.0.1, on the
container port, or on its hostPort when one is published and there is no container IP.
httpGet succeeds on 200-399 (redirects are not followed, as the kubelet counts a 3xx
from another host as success too); a timeout or a refused connection is a failure.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import aiohttp

from orchestrator.model.containers import Container, Probe
from orchestrator.runtime import ContainerRuntime, ExecTimeout, RuntimeError_
from orchestrator.runtime.base import ContainerInfo

MAX_MESSAGE = 512  # bytes of probe output kept in an Unhealthy event


@dataclass(frozen=True, slots=True)
class ProbeResult:
    ok: bool
    message: str = ""


def resolve_port(container: Container, port: int | str) -> int | None:
    """A probe's port: a number, a numeric string, or the name of a container port."""
    if isinstance(port, int):
        return port
    if port.isdigit():
        return int(port)
    for p in container.ports:
        if p.name == port:
            return p.container_port
    return None


def target(container: Container, info: ContainerInfo, *, host: str, port: int) -> tuple[str, int]:
    """(host, port) a network probe connects to."""
    if host:
        return host, port
    if info.ip:
        return info.ip, port
    for p in container.ports:
        if p.container_port == port and p.host_port:
            return "127.0.0.1", p.host_port
    return "127.0.0.1", port


async def run_probe(probe: Probe, *, container: Container, info: ContainerInfo, runtime: ContainerRuntime,
                    session: aiohttp.ClientSession) -> ProbeResult:
    timeout = float(probe.timeout_seconds or 1)
    if probe.exec is not None:
        return await _exec(probe.exec.command, info=info, runtime=runtime, timeout=timeout)
    if probe.http_get is not None:
        get = probe.http_get
        port = resolve_port(container, get.port)
        if port is None:
            return ProbeResult(False, f"httpGet: no container port named {get.port!r}")
        host, port = target(container, info, host=get.host, port=port)
        scheme = (get.scheme or "HTTP").lower()
        path = get.path or "/"
        url = f"{scheme}://{_host(host)}:{port}{path if path.startswith('/') else '/' + path}"
        headers = {h.name: h.value for h in get.http_headers}
        return await _http(url, headers=headers, session=session, timeout=timeout)
    if probe.tcp_socket is not None:
        port = resolve_port(container, probe.tcp_socket.port)
        if port is None:
            return ProbeResult(False, f"tcpSocket: no container port named {probe.tcp_socket.port!r}")
        host, port = target(container, info, host=probe.tcp_socket.host, port=port)
        return await _tcp(host, port, timeout=timeout)
    if probe.grpc is not None:
        return ProbeResult(True, "grpc probes are not supported by orch; counted as success")
    return ProbeResult(True, "probe has no handler")


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


async def _exec(command: list[str], *, info: ContainerInfo, runtime: ContainerRuntime,
                timeout: float) -> ProbeResult:
    if not command:
        return ProbeResult(False, "exec: empty command")
    try:
        async with asyncio.timeout(timeout + 5.0):  # the runtime's own limit, plus slack
            code, output = await runtime.exec(info.id, command, timeout)
    except ExecTimeout:
        return ProbeResult(False, f"command {command!r} timed out after {timeout:g}s")
    except TimeoutError:
        return ProbeResult(False, f"command {command!r}: the runtime did not answer")
    except RuntimeError_ as exc:
        return ProbeResult(False, f"command {command!r}: {exc.message}")
    text = output[-MAX_MESSAGE:].decode("utf-8", "replace").strip()
    if code == 0:
        return ProbeResult(True, text)
    return ProbeResult(False, f"command {command!r} exited with {code}" + (f": {text}" if text else ""))


async def _http(url: str, *, headers: dict[str, str], session: aiohttp.ClientSession,
                timeout: float) -> ProbeResult:
    try:
        async with asyncio.timeout(timeout):
            async with session.get(url, headers=headers, allow_redirects=False) as resp:
                body = await resp.content.read(MAX_MESSAGE)
    except TimeoutError:
        return ProbeResult(False, f"Get {url!r}: context deadline exceeded (timeout {timeout:g}s)")
    except (aiohttp.ClientError, OSError) as exc:
        return ProbeResult(False, f"Get {url!r}: {exc or type(exc).__name__}")
    if 200 <= resp.status < 400:
        return ProbeResult(True, f"HTTP {resp.status}")
    text = body.decode("utf-8", "replace").strip()
    return ProbeResult(False, f"HTTP probe failed with statuscode: {resp.status}" + (f": {text}" if text else ""))


async def _tcp(host: str, port: int, *, timeout: float) -> ProbeResult:
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return ProbeResult(False, f"dial tcp {host}:{port}: i/o timeout")
    except OSError as exc:
        return ProbeResult(False, f"dial tcp {host}:{port}: {exc.strerror or exc}")
    writer.close()
    try:
        async with asyncio.timeout(1.0):
            await writer.wait_closed()
    except (TimeoutError, OSError):
        pass
    return ProbeResult(True, f"tcp {host}:{port} open")
