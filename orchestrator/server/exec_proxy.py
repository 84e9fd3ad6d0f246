"""pods/NAME/exec: the server runs a command through the pod's agent.

One output stream wanted (stdout or stderr, no stdin, no tty):

    kubectl / orch exec --websocket, v5.channel.k8s.io or v4, its own token--> server
        --(proxy token)--> agent POST /exec/NS/POD/CONTAINER {"command", "timeoutSeconds"}
        <-- the whole output and the exit code (runtime.exec collects until the command ends)
    <-- channel 1 the output, channel 3 the Status (Success / NonZeroExitCode / error), close

Interactive (``stdin`` or ``tty``), or both ``stdout`` and ``stderr`` wanted (what kubectl and
orch ask for without a tty): after the same checks and the upgrade, the frames are relayed
both ways to a websocket on the agent (``exec_relay``), with no timeout. There stdout and
stderr stay apart and stream as the command writes them (`kubectl cp` reads a tar from
stdout while tar talks on stderr), as Kubernetes does.

Query: ``command`` (repeated, one per argv word), ``container`` (default: the first),
``stdin``, ``stdout``, ``stderr``, ``tty``.  Only admins get here (``auth.authorize``).

What the server can judge before running anything (unknown pod, bad container,
no command, no agent, not a websocket) is a Status with its HTTP code before the
upgrade.  kubectl then retries with SPDY (a POST), gets the same Status and prints it, as
it does against Kubernetes for a bad container name; a POST that passes every check is
told to use a websocket and runs nothing.  What happens once running (the agent's
answer, a timeout) travels as the Status on channel 3.  The output comes on stdout's
channel (stderr's when only stderr was asked for): the runtime gives one merged stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any
from dataclasses import dataclass

import aiohttp
import msgspec
import structlog
from aiohttp import web

from orchestrator.model import codec
from orchestrator.model.errors import ApiError, BadRequest, ServiceUnavailable
from orchestrator.model.exec_protocol import (ERROR, EXIT_CODE_HEADER, PROTOCOLS, STDERR, STDOUT, ExecRequest,
                                              exit_status, frame)
from orchestrator.model.registry import REGISTRY
from orchestrator.server import exec_relay
from orchestrator.server.node_agents import (CONNECT_TIMEOUT_S, AgentTarget, agent_error, agent_of, pod_container,
                                             proxy_headers)
from orchestrator.server.state import ServerState

log = structlog.get_logger(__name__)

PODS = REGISTRY.by_kind("Pod")
AGENT_SLACK_S = 40.0  # beyond the exec timeout: the agent's runtime has its own call limit (30 s) on top
CHUNK = 64 * 1024  # output is sent in messages of at most this size
NEEDS_WEBSOCKET = ("exec needs a websocket client speaking the Kubernetes remote-command protocol "
                   f"({' or '.join(PROTOCOLS)}), as kubectl >= 1.30 and `orch exec` do; SPDY and plain "
                   "HTTP requests are not supported")


@dataclass(frozen=True, slots=True)
class Ran:
    exit_code: int
    output: bytes


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("true", "1", "yes")


async def serve_exec(request: web.Request, state: ServerState, *, namespace: str, name: str) -> web.StreamResponse:
    pod = state.objects.get(PODS, namespace, name).obj
    container = pod_container(pod, request.query.get("container", ""), name=name)
    command = request.query.getall("command", [])
    if not command:
        raise BadRequest("you must specify at least one command for the container")
    interactive = _flag(request, "stdin") or _flag(request, "tty")
    to_stdout, to_stderr = _flag(request, "stdout"), _flag(request, "stderr")
    if not (to_stdout or to_stderr or interactive):
        raise BadRequest("you must specify at least 1 of stdin, stdout, stderr")
    agent = agent_of(state, pod, name=name, unbound="nothing runs in it yet",
                     unreachable="exec cannot reach its containers")
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    ready = ws.can_prepare(request)
    if request.method != "GET" or not ready.ok:
        raise BadRequest(NEEDS_WEBSOCKET)
    if ready.protocol is None:
        raise BadRequest(f"exec over a websocket needs the subprotocol {' or '.join(PROTOCOLS)}; none was offered")
    await ws.prepare(request)
    if interactive or (to_stdout and to_stderr):  # no timeout: it lasts as long as the command or the client
        await exec_relay.relay(ws, state, agent, path=(namespace, name, container), query=request.query)
        return ws
    timeout = state.settings.api.exec_timeout_s
    run = _run(state, agent, timeout=timeout, command=command, path=(namespace, name, container))
    await _relay(ws, run, command=command, channel=STDOUT if to_stdout else STDERR,
                 pod=f"{namespace}/{name}", container=container)
    return ws


async def _relay(ws: web.WebSocketResponse, run: Coroutine[Any, Any, Ran | ApiError], *, command: list[str],
                 channel: int, pod: str, container: str) -> None:
    """Run while answering the client's pings; send the outcome and close. A client that
    leaves first cancels the run (a command already started in the container runs on)."""
    async with asyncio.TaskGroup() as tg:
        listening = tg.create_task(_until_closed(ws), name="exec-client")
        running = tg.create_task(run, name="exec-agent-call")
        await asyncio.wait((listening, running), return_when=asyncio.FIRST_COMPLETED)
        if not running.done():
            running.cancel()
            log.info("exec abandoned: the client went away", pod=pod, container=container, command=command[0])
            return
        outcome = running.result()
        if isinstance(outcome, Ran):
            log.info("exec", pod=pod, container=container, command=command[0], exit_code=outcome.exit_code)
            frames = [frame(channel, outcome.output[i:i + CHUNK]) for i in range(0, len(outcome.output), CHUNK)]
            frames.append(frame(ERROR, codec.encode(exit_status(command, outcome.exit_code))))
        else:
            log.info("exec failed", pod=pod, container=container, command=command[0], error=outcome.message)
            frames = [frame(ERROR, codec.encode(outcome.to_status()))]
        try:
            for data in frames:
                await ws.send_bytes(data)
        except ConnectionError:
            pass  # the client left while we sent; nobody is there to tell
        await ws.close()  # also ends `listening`; the client may hang up at once, which cancels this handler


async def _until_closed(ws: web.WebSocketResponse) -> None:
    async for _ in ws:  # stdin and close-channel messages mean nothing without -i; pings get pongs
        pass


async def _run(state: ServerState, agent: AgentTarget, *, timeout: float, command: list[str],
               path: tuple[str, str, str]) -> Ran | ApiError:
    url = agent.url("/exec", *path)
    body = msgspec.json.encode(ExecRequest(command=command, timeout_seconds=timeout))
    limits = aiohttp.ClientTimeout(total=timeout + AGENT_SLACK_S, sock_connect=CONNECT_TIMEOUT_S)
    headers = {**proxy_headers(state), "Content-Type": "application/json"}
    try:
        async with aiohttp.ClientSession(timeout=limits) as session:
            async with session.post(url, data=body, headers=headers) as upstream:
                if upstream.status != 200:
                    return await agent_error(upstream, node=agent.node, url=url)
                code_text = upstream.headers.get(EXIT_CODE_HEADER, "")
                output = await upstream.read()
    except TimeoutError:
        return ServiceUnavailable(f'the agent of node "{agent.node}" did not answer within '
                                  f"{timeout + AGENT_SLACK_S:g}s")
    except (aiohttp.ClientError, OSError) as exc:
        return ServiceUnavailable(f'cannot reach the agent of node "{agent.node}" at {url}: '
                                  f"{exc or type(exc).__name__}")
    try:
        return Ran(exit_code=int(code_text), output=output)
    except ValueError:
        return ServiceUnavailable(f'the agent of node "{agent.node}" answered without an exit code')
