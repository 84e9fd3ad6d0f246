"""`orch server`: flags + ORCH_* env -> Settings -> orchestrator.server.main.serve()."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from orchestrator.cli.common import CliError, env, env_flag
from orchestrator.settings import ApiSettings, NodeSettings, Settings, StoreSettings

SYNC_MODES = ("full", "normal", "off")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("server", help="run the API server, store, controllers and scheduler",
                       description="Run the API server with its store, controllers, scheduler and (unless "
                                   "--no-agent) an embedded agent for this machine.")
    p.add_argument("--data-dir", default=env("ORCH_DATA_DIR", ".orch"),
                   help="state, tokens and client config (env ORCH_DATA_DIR, default ./.orch)")
    p.add_argument("--listen", default=env("ORCH_LISTEN", "127.0.0.1:6443"),
                   help="HOST:PORT to serve the API on (env ORCH_LISTEN)")
    p.add_argument("--kube-port", type=int, default=_env_number("ORCH_KUBE_PORT", int),
                   help="HTTPS port for Kubernetes tools (kubectl --kubeconfig DATA_DIR/kubeconfig); "
                        "default: --listen port + 1; 0 turns it off (env ORCH_KUBE_PORT)")
    p.add_argument("--node-grace-period", type=float, default=_env_number("ORCH_NODE_GRACE_PERIOD", float),
                   help="seconds without a lease renewal before a node is NotReady/Unknown and its pods become "
                        "eligible for eviction (env ORCH_NODE_GRACE_PERIOD, default 40)")
    p.add_argument("--lease-renew", type=float, default=_env_number("ORCH_LEASE_RENEW", float),
                   help="seconds between the embedded agent's lease renewals (env ORCH_LEASE_RENEW, default 10)")
    p.add_argument("--gossip-interval", type=float, default=_env_number("ORCH_GOSSIP_INTERVAL", float),
                   help="seconds between membership exchanges (env ORCH_GOSSIP_INTERVAL, default 1)")
    p.add_argument("--gossip-fanout", type=int, default=_env_number("ORCH_GOSSIP_FANOUT", int),
                   help="peers contacted each gossip round (env ORCH_GOSSIP_FANOUT, default 3)")
    p.add_argument("--suspect-after", type=float, default=_env_number("ORCH_SUSPECT_AFTER", float),
                   help="seconds of silence before a member is suspect (env ORCH_SUSPECT_AFTER, default 5)")
    p.add_argument("--advertise-url", default=env("ORCH_ADVERTISE_URL", ""),
                   help="URL clients and agents are told (env ORCH_ADVERTISE_URL; default from --listen)")
    p.add_argument("--log-format", choices=("console", "json"), default=env("ORCH_LOG_FORMAT", "console"),
                   help="(env ORCH_LOG_FORMAT)")
    p.add_argument("--no-agent", action="store_true", default=env_flag("ORCH_NO_AGENT"),
                   help="do not run an embedded agent (env ORCH_NO_AGENT=1)")
    p.add_argument("--sync", choices=SYNC_MODES, default=env("ORCH_SYNC", "full").lower(),
                   help="SQLite synchronous mode (env ORCH_SYNC, default full)")
    p.add_argument("--event-log-retain", type=int, default=_env_number("ORCH_EVENT_LOG_RETAIN", int),
                   help="events kept for watch resume before compaction (env ORCH_EVENT_LOG_RETAIN)")
    p.add_argument("--compact-interval", type=float,
                   default=_env_number("ORCH_COMPACT_INTERVAL", float),
                   help="seconds between compaction steps (env ORCH_COMPACT_INTERVAL)")
    p.add_argument("--snapshot-interval", type=float, default=_env_number("ORCH_SNAPSHOT_INTERVAL", float),
                   help="seconds between automatic store snapshots into DATA_DIR/snapshots; 0 turns them off "
                        "(env ORCH_SNAPSHOT_INTERVAL, default 43200 = 12 h)")
    p.add_argument("--snapshot-retain", type=int, default=_env_number("ORCH_SNAPSHOT_RETAIN", int),
                   help="automatic snapshots kept (env ORCH_SNAPSHOT_RETAIN, default 5)")
    p.set_defaults(handler=run, default_log_level="info")


def _env_number(name: str, type_: type[int] | type[float]) -> int | float | None:
    raw = env(name)
    if not raw:
        return None
    try:
        return type_(raw)
    except ValueError:
        raise CliError(f"{name}={raw!r} is not a number") from None


def parse_listen(text: str) -> tuple[str, int]:
    """`HOST:PORT`, `:PORT` (loopback), `[::1]:PORT`."""
    host, sep, port = text.rpartition(":")
    if not sep:
        raise CliError(f"--listen {text!r}: expected HOST:PORT")
    host = host.strip("[]") or "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise CliError(f"--listen {text!r}: the port {port!r} is not a number") from None
    if not 0 <= number <= 65535:
        raise CliError(f"--listen {text!r}: the port must be 0-65535")
    return host, number


def settings_from(args: argparse.Namespace) -> Settings:
    host, port = parse_listen(args.listen)
    data_dir = Path(args.data_dir).expanduser()
    store = StoreSettings(path=data_dir / "state.db", synchronous=args.sync.upper())
    if args.event_log_retain is not None:
        store.event_log_retain = args.event_log_retain
    if args.compact_interval is not None:
        store.compact_interval_s = args.compact_interval
    if args.snapshot_interval is not None:
        if args.snapshot_interval < 0:
            raise CliError(f"--snapshot-interval {args.snapshot_interval:g}: must be 0 (off) or more seconds")
        store.snapshot_interval_s = args.snapshot_interval
    if args.snapshot_retain is not None:
        if args.snapshot_retain < 1:
            raise CliError(f"--snapshot-retain {args.snapshot_retain}: keep at least 1")
        store.snapshot_retain = args.snapshot_retain
    nodes = NodeSettings()
    for flag, attr in (("node_grace_period", "grace_s"), ("lease_renew", "lease_renew_s"),
                       ("gossip_interval", "gossip_interval_s"), ("gossip_fanout", "gossip_fanout"),
                       ("suspect_after", "suspect_after_s")):
        if getattr(args, flag) is not None:
            setattr(nodes, attr, getattr(args, flag))
    return Settings(
        nodes=nodes,
        data_dir=data_dir,
        log_format=args.log_format,
        log_level=args.log_level or "info",
        embedded_agent=not args.no_agent,
        store=store,
        api=ApiSettings(listen_host=host, listen_port=port, advertise_url=args.advertise_url,
                        kube_port=args.kube_port),
    )


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    try:
        from orchestrator.server.main import serve
    except ModuleNotFoundError as exc:
        if exc.name not in ("orchestrator.server.main",):
            raise
        raise CliError("this build has no API server (orchestrator.server.main is missing)") from None
    from orchestrator.store.guard import StoreCorrupt, StoreLocked
    try:
        asyncio.run(serve(settings))
    except (StoreLocked, StoreCorrupt) as exc:
        raise CliError(str(exc)) from None
    return 0
