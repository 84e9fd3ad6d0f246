"""`orch agent`: flags + ORCH_* env -> AgentOptions -> orchestrator.agent.main.run_agent().

SIGTERM/SIGINT stop the agent cleanly; its containers keep running, and the next start
(same data dir) rejoins as the same node and adopts them.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.cli.common import CliError, env
from orchestrator.settings import NodeSettings

if TYPE_CHECKING:
    from orchestrator.agent.options import AgentOptions

RUNTIMES = ("auto", "docker", "process", "sim")
TIMING = (  # flag, env twin, NodeSettings field, type, help
    ("--lease-renew", "ORCH_LEASE_RENEW", "lease_renew_s", float, "how often the node's Lease is renewed"),
    ("--gossip-interval", "ORCH_GOSSIP_INTERVAL", "gossip_interval_s", float, "seconds between gossip rounds"),
    ("--gossip-fanout", "ORCH_GOSSIP_FANOUT", "gossip_fanout", int, "peers contacted each gossip round"),
    ("--suspect-after", "ORCH_SUSPECT_AFTER", "suspect_after_s", float, "silence before a member is suspect"),
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("agent", help="run a node agent that joins a cluster",
                       description="Join a cluster through its server or any agent already in it, report this "
                                   "machine's CPU, memory and GPUs, and run the pods bound to it.")
    p.add_argument("--join", default=env("ORCH_JOIN"), metavar="URL",
                   help="the API server, or any agent already joined: http://HOST:PORT (env ORCH_JOIN)")
    p.add_argument("--token", default=env("ORCH_TOKEN"),
                   help="join token; not needed once DATA_DIR/node.json exists (env ORCH_TOKEN)")
    p.add_argument("--name", default=env("ORCH_NODE_NAME"),
                   help="node name (env ORCH_NODE_NAME; default: node.json's, else the hostname)")
    p.add_argument("--listen", default=env("ORCH_LISTEN", "0.0.0.0:10250"), metavar="HOST:PORT",
                   help="this agent's listener for joins, gossip and logs (env ORCH_LISTEN; default 0.0.0.0:10250)")
    p.add_argument("--advertise", default=env("ORCH_ADVERTISE"), metavar="HOST:PORT",
                   help="where others reach the listener (env ORCH_ADVERTISE; default from --listen)")
    p.add_argument("--data-dir", default=env("ORCH_DATA_DIR", ".orch-agent"),
                   help="node.json, container state and logs (env ORCH_DATA_DIR; default ./.orch-agent)")
    p.add_argument("--runtime", choices=RUNTIMES, default=env("ORCH_RUNTIME", "auto"),
                   help="container runtime; auto = docker when its engine answers, else process (env ORCH_RUNTIME)")
    p.add_argument("--gpus", default=env("ORCH_GPUS", "auto"),
                   help="auto (NVML, then nvidia-smi), none, or a declaration like 2xH100-80GB (env ORCH_GPUS)")
    p.add_argument("--label", action="append", default=None, metavar="KEY=VALUE",
                   help="a node label; repeat for more (env ORCH_LABELS=k=v,k2=v2)")
    p.add_argument("--log-format", choices=("console", "json"), default=env("ORCH_LOG_FORMAT", "console"),
                   help="(env ORCH_LOG_FORMAT)")
    timing = p.add_argument_group("timing (seconds; the server's settings should match)")
    defaults = NodeSettings()
    for flag, var, attr, kind, help_ in TIMING:
        timing.add_argument(flag, type=kind, default=None, dest=attr,
                            help=f"{help_} (env {var}, default {getattr(defaults, attr):g})")
    p.set_defaults(handler=run, default_log_level="info")


def node_settings(args: argparse.Namespace) -> NodeSettings:
    """Flags, else their env twins, else the defaults; every value must be positive."""
    nodes = NodeSettings()
    for flag, var, attr, kind, _help in TIMING:
        value = getattr(args, attr)
        if value is None and (raw := env(var)):
            try:
                value = kind(raw)
            except ValueError:
                raise CliError(f"{var}={raw!r} is not a number") from None
        if value is not None:
            if value <= 0:
                raise CliError(f"{flag} (env {var}) must be positive, not {value}")
            setattr(nodes, attr, value)
    return nodes


def parse_labels(items: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise CliError(f"--label {item!r}: expected KEY=VALUE")
        labels[key.strip()] = value.strip()
    return labels


def options_from(args: argparse.Namespace) -> AgentOptions:
    from orchestrator.agent.options import AgentOptions

    if not args.join:
        raise CliError("--join URL is required (env ORCH_JOIN): the server's URL or any joined agent's")
    join = args.join if "://" in args.join else f"http://{args.join}"
    raw_labels = args.label if args.label is not None else [x for x in env("ORCH_LABELS").split(",") if x.strip()]
    nodes = node_settings(args)
    return AgentOptions(join_url=join.rstrip("/"), join_token=args.token.strip(), name=args.name,
                        listen=args.listen, advertise=args.advertise, data_dir=Path(args.data_dir).expanduser(),
                        runtime=args.runtime, gpus=args.gpus, labels=parse_labels(raw_labels), nodes=nodes)


def run(args: argparse.Namespace) -> int:
    from orchestrator.agent.joining import JoinRefused
    from orchestrator.agent.main import run_agent
    from orchestrator.runtime import RuntimeError_

    options = options_from(args)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await run_agent(options, stop=stop)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    try:
        asyncio.run(main())
    except JoinRefused as exc:
        raise CliError(str(exc)) from None
    except RuntimeError_ as exc:
        raise CliError(f"container runtime {options.runtime!r}: {exc.message}") from None
    except (OSError, ValueError) as exc:
        raise CliError(str(exc)) from None
    return 0
