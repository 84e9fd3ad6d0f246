"""Interactive exec (stdin, tty): kubectl's websocket relayed to a websocket on the pod's agent.

    client --v5/v4 frames--> server --the same frames, v5, proxy token--> agent GET /exec/NS/POD/CONTAINER
    client <--1/2 output, 3 Status-- server <--as the agent sends them-- agent

Frames pass as they are (both hops speak the same channels; a v4 client just never sends
the close frame), so the server holds no per-session state but the two sockets.  It ends
when either side closes: the client leaving closes the agent's websocket, which detaches
the command's stdin; the agent closing (after its Status) closes the client's.  A failure
to reach the agent, or an agent that closed without a Status, is a Status of the server's.
No timeout: a shell may sit idle for hours; the heartbeat notices a vanished agent.
"""

from __future__ import annotations

import asyncio

import aiohttp
import structlog
from aiohttp import web
from multidict import MultiMapping

from orchestrator.model import codec
from orchestrator.model.errors import ApiError, ServiceUnavailable
from orchestrator.model.exec_protocol import ERROR, V5, frame
from orchestrator.server.node_agents import CONNECT_TIMEOUT_S, AgentTarget, proxy_headers
from orchestrator.server.state import ServerState

log = structlog.get_logger(__name__)

FLAGS = ("stdin", "stdout", "stderr", "tty")
HEARTBEAT_S = 30.0  # an agent gone silent is noticed after about this long
Socket = web.WebSocketResponse | aiohttp.ClientWebSocketResponse


async def relay(ws: web.WebSocketResponse, state: ServerState, agent: AgentTarget, *, path: tuple[str, str, str],
                query: MultiMapping[str]) -> None:
    """Relay between the upgraded client `ws` and the agent until one side closes; then close `ws`."""
    url = agent.url("/exec", *path)
    command = query.getall("command", [])
    params = [*(("command", word) for word in command), *((k, query[k]) for k in FLAGS if k in query)]
    limits = aiohttp.ClientTimeout(total=None, sock_connect=CONNECT_TIMEOUT_S)
    told, failure = False, None
    try:
        async with aiohttp.ClientSession(timeout=limits) as session:
            async with asyncio.timeout(2 * CONNECT_TIMEOUT_S):
                upstream = await session.ws_connect(url, params=params, headers=proxy_headers(state), protocols=(V5,),
                                                    heartbeat=HEARTBEAT_S, max_msg_size=0)
            async with upstream:
                told = await _both_ways(ws, upstream)
    except aiohttp.WSServerHandshakeError as exc:
        failure = ServiceUnavailable(f'the agent of node "{agent.node}" refused the exec session: HTTP {exc.status} '
                                     f"{exc.message}" + (" (the server's proxy token; it may have joined another "
                                                         "server)" if exc.status == 401 else ""))
    except TimeoutError:
        failure = ServiceUnavailable(f'the agent of node "{agent.node}" did not answer at {url}')
    except (aiohttp.ClientError, OSError) as exc:
        failure = ServiceUnavailable(f'cannot reach the agent of node "{agent.node}" at {url}: '
                                     f"{exc or type(exc).__name__}")
    if failure is None and not told and not ws.closed:  # (closed: the client left first, nobody to tell)
        failure = ServiceUnavailable(f'the agent of node "{agent.node}" ended the session without an exit status')
    log.info("exec session", pod=f"{path[0]}/{path[1]}", container=path[2], command=command[0],
             error=failure.message if failure else None)
    await _finish(ws, failure)


async def _finish(ws: web.WebSocketResponse, failure: ApiError | None) -> None:
    if failure is not None and not ws.closed:
        try:
            await ws.send_bytes(frame(ERROR, codec.encode(failure.to_status())))
        except ConnectionError:
            pass  # the client left while we sent; nobody is there to tell
    await ws.close()


async def _both_ways(client: web.WebSocketResponse, agent: aiohttp.ClientWebSocketResponse) -> bool:
    """Relay until either side closes; True when the agent's Status reached the client."""
    async with asyncio.TaskGroup() as tg:
        up = tg.create_task(_copy(client, agent), name="exec-relay-input")
        down = tg.create_task(_copy(agent, client), name="exec-relay-output")
        await asyncio.wait((up, down), return_when=asyncio.FIRST_COMPLETED)
        up.cancel()  # one side has closed: what the other still sends has nowhere to go
        down.cancel()
    return down.done() and not down.cancelled() and down.result()


async def _copy(source: Socket, target: Socket) -> bool:
    """Binary frames from `source` to `target` until `source` closes; True if a Status (channel 3) passed."""
    told = False
    try:
        async for msg in source:
            if msg.type == aiohttp.WSMsgType.BINARY and msg.data:
                await target.send_bytes(msg.data)
                told = told or msg.data[0] == ERROR
    except ConnectionError:
        pass  # `target` has gone: the other direction's end closes the session
    return told
