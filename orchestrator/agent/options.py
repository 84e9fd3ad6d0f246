"""What an agent is told to be: built by `orch agent` (flags + ORCH_* env) or by the server
for its embedded agent. Units are in the names; defaults are the CLI's."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.settings import NodeSettings

DEFAULT_LISTEN = "0.0.0.0:10250"


@dataclass(slots=True, kw_only=True)
class AgentOptions:
    join_url: str                     # the API server or any agent already in the cluster
    join_token: str = ""              # needed only when there is no node.json yet
    name: str = ""                    # "" -> node.json's name, else the hostname (made a valid node name)
    listen: str = DEFAULT_LISTEN      # host:port of this agent's own listener (port 0: any free port)
    advertise: str = ""               # host:port others reach the listener at ("" -> derived)
    data_dir: Path = Path(".orch-agent")
    runtime: str = "auto"             # auto | docker | process | sim
    gpus: str = "auto"                # auto | none | SPEC (2xH100-80GB)
    labels: dict[str, str] = field(default_factory=dict)
    nodes: NodeSettings = field(default_factory=NodeSettings)
    request_timeout_s: float = 10.0   # every API call of the agent's own loops
