"""`orch sim`: simulated nodes (like kwok), flags + ORCH_SIM_* env -> SimSettings -> run_sim."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from orchestrator.agent.sim.controlling import ControlError, is_loopback
from orchestrator.agent.sim.joining import JoinFailed
from orchestrator.agent.sim.running import run_sim
from orchestrator.agent.sim.settings import DEFAULT_GPU_MEMORY_MIB, DEFAULT_GPU_MODEL, NodeShape, SimSettings
from orchestrator.cli.common import CliError, env, env_flag, out
from orchestrator.client import Unreachable
from orchestrator.model.errors import Unauthorized
from orchestrator.model.quantities import QuantityError, parse_bytes, parse_cpu_millis

EPILOG = """\
Rejoining: with --data-dir the node credentials are saved there, and a restarted sim
with the same prefix rejoins with them. Without it, a restart within the lease grace
(40 s) is refused with 409 "held by a live node": wait, or use another --name-prefix.

Failing a node on purpose (tests): --control 127.0.0.1:PORT serves
POST /nodes/NAME/stop-lease and /start-lease, GET /nodes and GET /stats.

Pods: run until deleted; Job-owned pods and restartPolicy Never/OnFailure pods succeed
after --job-seconds. Per pod, the annotation orch.io/sim-run-seconds sets the run time
and orch.io/sim-exit-code a non-zero exit (the pod fails)."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("sim", help="run simulated nodes (no containers) for tests and benchmarks",
                       description="Join N simulated nodes through the API, keep their leases fresh, and "
                                   "move the pods bound to them through Pending -> Running (-> Succeeded).",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--join", default=env("ORCH_SIM_JOIN"), metavar="URL", help="a server (env ORCH_SIM_JOIN)")
    p.add_argument("--token", default=env("ORCH_SIM_TOKEN"), help="the join token (env ORCH_SIM_TOKEN)")
    p.add_argument("--nodes", type=int, default=_int("ORCH_SIM_NODES", 1), help="how many (env ORCH_SIM_NODES)")
    p.add_argument("--name-prefix", default=env("ORCH_SIM_NAME_PREFIX", "sim"),
                   help="nodes are PREFIX-0 ... PREFIX-(N-1) (env ORCH_SIM_NAME_PREFIX, default sim)")
    p.add_argument("--cpu", default=env("ORCH_SIM_CPU", "8"), help="CPU per node (env ORCH_SIM_CPU, default 8)")
    p.add_argument("--memory", default=env("ORCH_SIM_MEMORY", "32Gi"),
                   help="memory per node (env ORCH_SIM_MEMORY, default 32Gi)")
    p.add_argument("--max-pods", type=int, default=_int("ORCH_SIM_MAX_PODS", 110),
                   help="pods per node (env ORCH_SIM_MAX_PODS, default 110)")
    p.add_argument("--gpus-per-node", type=int, default=_int("ORCH_SIM_GPUS_PER_NODE", 0),
                   help="simulated GPUs per node (env ORCH_SIM_GPUS_PER_NODE, default 0)")
    p.add_argument("--gpu-model", default=env("ORCH_SIM_GPU_MODEL", DEFAULT_GPU_MODEL),
                   help=f"(env ORCH_SIM_GPU_MODEL, default {DEFAULT_GPU_MODEL})")
    p.add_argument("--gpu-memory", type=int, default=_int("ORCH_SIM_GPU_MEMORY", DEFAULT_GPU_MEMORY_MIB),
                   metavar="MIB", help=f"memory per GPU (env ORCH_SIM_GPU_MEMORY, default {DEFAULT_GPU_MEMORY_MIB})")
    p.add_argument("--label", action="append", default=None, metavar="K=V",
                   help="node label, repeatable (env ORCH_SIM_LABELS, comma-separated)")
    p.add_argument("--job-seconds", type=float, default=_float("ORCH_SIM_JOB_SECONDS", 1.0),
                   help="run-to-completion pods succeed after this (env ORCH_SIM_JOB_SECONDS, default 1)")
    p.add_argument("--lease-interval", type=float, default=_float("ORCH_SIM_LEASE_INTERVAL", 10.0),
                   help="seconds between a node's lease renewals (env ORCH_SIM_LEASE_INTERVAL, default 10)")
    p.add_argument("--concurrency", type=int, default=_int("ORCH_SIM_CONCURRENCY", 64),
                   help="pod writes and joins in flight (env ORCH_SIM_CONCURRENCY, default 64)")
    p.add_argument("--data-dir", default=env("ORCH_SIM_DATA_DIR"),
                   help="keep node credentials here to rejoin after a restart (env ORCH_SIM_DATA_DIR)")
    p.add_argument("--control", default=env("ORCH_SIM_CONTROL"), metavar="HOST:PORT",
                   help="loopback control listener, port 0 picks one (env ORCH_SIM_CONTROL)")
    p.add_argument("--cleanup", action="store_true", default=env_flag("ORCH_SIM_CLEANUP"),
                   help="delete our Nodes and Leases on SIGTERM; needs --admin-token (env ORCH_SIM_CLEANUP=1)")
    p.add_argument("--admin-token", default=env("ORCH_SIM_ADMIN_TOKEN"),
                   help="an admin token, for --cleanup (env ORCH_SIM_ADMIN_TOKEN)")
    p.add_argument("--report-interval", type=float, default=_float("ORCH_SIM_REPORT_INTERVAL", 10.0),
                   help="seconds between progress lines, 0 for none (env ORCH_SIM_REPORT_INTERVAL)")
    p.add_argument("--log-format", choices=("console", "json"), default=env("ORCH_LOG_FORMAT", "console"),
                   help="(env ORCH_LOG_FORMAT)")
    p.set_defaults(handler=run, default_log_level="warning")


def _int(name: str, default: int) -> int:
    raw = env(name)
    try:
        return int(raw) if raw else default
    except ValueError:
        raise CliError(f"{name}={raw!r} is not a whole number") from None


def _float(name: str, default: float) -> float:
    raw = env(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        raise CliError(f"{name}={raw!r} is not a number") from None


def parse_labels(items: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items:
        key, sep, value = item.strip().partition("=")
        if not sep or not key:
            raise CliError(f"--label {item!r}: expected KEY=VALUE")
        labels[key] = value
    return labels


def parse_control(text: str) -> tuple[str, int] | None:
    if not text:
        return None
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not sep or not port.isdigit() or int(port) > 65535:
        raise CliError(f"--control {text!r}: expected HOST:PORT")
    if not is_loopback(host):
        raise CliError(f"--control {text!r}: the control listener has no authentication; use a loopback address")
    return host, int(port)


def settings_from(args: argparse.Namespace) -> SimSettings:
    if not args.join:
        raise CliError("--join URL is required (env ORCH_SIM_JOIN): the server to join through")
    if not args.token:
        raise CliError("--token is required (env ORCH_SIM_TOKEN): the join token (DATA_DIR/join-token)")
    for flag, value in (("--nodes", args.nodes), ("--concurrency", args.concurrency),
                        ("--max-pods", args.max_pods)):
        if value < 1:
            raise CliError(f"{flag} must be at least 1")
    if args.gpus_per_node < 0 or args.job_seconds < 0 or args.lease_interval <= 0:
        raise CliError("--gpus-per-node and --job-seconds must not be negative, --lease-interval must be positive")
    if args.cleanup and not args.admin_token:
        raise CliError("--cleanup needs --admin-token (env ORCH_SIM_ADMIN_TOKEN): a node may not delete its Node")
    try:
        cpu, memory = parse_cpu_millis(args.cpu), parse_bytes(args.memory)
    except QuantityError as exc:
        raise CliError(str(exc)) from None
    label_items = args.label if args.label is not None else [x for x in env("ORCH_SIM_LABELS").split(",") if x]
    shape = NodeShape(cpu_millis=cpu, memory_bytes=memory, max_pods=args.max_pods, gpus_per_node=args.gpus_per_node,
                      gpu_model=args.gpu_model, gpu_memory_mib=args.gpu_memory, labels=parse_labels(label_items))
    return SimSettings(join_url=args.join.rstrip("/"), join_token=args.token, nodes=args.nodes,
                       name_prefix=args.name_prefix, shape=shape, job_seconds=args.job_seconds,
                       lease_interval_s=args.lease_interval, concurrency=args.concurrency,
                       data_dir=Path(args.data_dir).expanduser() if args.data_dir else None,
                       control=parse_control(args.control), cleanup=args.cleanup, admin_token=args.admin_token,
                       report_interval_s=max(0.0, args.report_interval))


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    try:
        asyncio.run(run_sim(settings, say=out))
    except ControlError as exc:
        raise CliError(str(exc)) from None
    except JoinFailed as exc:
        if isinstance(exc.error, Unreachable):
            raise CliError(f"joining node {exc.node}: {exc.error.message}") from None
        hint = " (is --token the join token?)" if isinstance(exc.error, Unauthorized) else ""
        raise CliError(f"joining node {exc.node} through {settings.join_url}: Error from server "
                       f"({exc.error.reason}): {exc.error.message}{hint}") from None
    return 0
