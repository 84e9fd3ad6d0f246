"""The embedded agent: `orch server` runs a node agent for its own machine, like k3s.

Unless `--no-agent` (settings.embedded_agent), this component runs the same agent as
`orch agent`, in this process: named after the host, runtime docker when its engine
answers else process, data in `<data-dir>/agent`, listening on the API's host at a free
port, labelled control-plane, joining through this server's own URL with the data dir's
join token (a restart rejoins with `<data-dir>/agent/node.json`).

`server` and `agent` are independent layers (neither imports the other), so the agent
is loaded by name here, the way the CLI loads its verbs: the server package does not
depend on the agent's modules, and a build without them runs as if `--no-agent`. The
server stops it by cancelling it (it leaves its containers running). A failing agent is
logged and does not take the API server down with it.
"""

from __future__ import annotations

import asyncio
import importlib

import structlog

from orchestrator.server.state import ServerState

log = structlog.get_logger(__name__)

AGENT_MODULE = "orchestrator.agent.main"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"


async def run(state: ServerState) -> None:
    settings = state.settings
    if not settings.embedded_agent:
        return
    try:
        agent = importlib.import_module(AGENT_MODULE)
    except ModuleNotFoundError as exc:
        log.warning("no agent in this build; running without an embedded agent", missing=exc.name)
        return
    from orchestrator.server.main import server_url  # main imports components, which import this module

    options = agent.AgentOptions(
        join_url=server_url(settings),
        join_token=(settings.data_dir / "join-token").read_text().strip(),
        listen=f"{settings.api.listen_host}:0",
        data_dir=settings.data_dir / "agent",
        runtime="auto",
        labels={CONTROL_PLANE_LABEL: "true"},
        nodes=settings.nodes,
    )
    try:
        await agent.run_agent(options, stop=asyncio.Event())  # the server cancels its components to stop
    except Exception:  # noqa: BLE001 - the API server outlives a broken embedded agent
        log.exception("the embedded agent failed; the server keeps running without it")
