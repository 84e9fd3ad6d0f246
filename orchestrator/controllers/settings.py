"""Settings of the controllers (one dataclass; `Settings.controllers` once the lead wires it).

Units are in the names (`_s` = seconds). Defaults are Kubernetes' where it has one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass(slots=True)
class ControllerSettings:
    workers: int = 4                      # reconcile workers per controller
    resync_s: float = 30.0                # every key is reconciled at least this often
    node_grace_period_s: float = 40.0     # a node lease not renewed for this long -> Ready=Unknown
    node_monitor_period_s: float = 5.0    # how often node health is re-checked at most
    default_toleration_s: float = 300.0   # how long pods stay on a not-ready/unreachable node by default
    unhealthy_threshold: float = 0.55     # evictions pause when this share of nodes (>= 2) is unhealthy
    burst: int = 500                      # pods created or deleted per reconcile at most
    observe_timeout_s: float = 10.0       # how long a controller waits to see its own writes in its cache
    job_backoff_s: float = 10.0           # a failed Job pod is replaced after this, doubling per failure
    job_backoff_max_s: float = 360.0      # ... up to this


# The ORCH_* environment twins of the settings (flags, once wired, take precedence).
ENV: dict[str, str] = {
    "workers": "ORCH_CONTROLLER_WORKERS",
    "resync_s": "ORCH_CONTROLLER_RESYNC",
    "node_grace_period_s": "ORCH_NODE_GRACE_PERIOD",
    "node_monitor_period_s": "ORCH_NODE_MONITOR_PERIOD",
    "default_toleration_s": "ORCH_DEFAULT_TOLERATION_SECONDS",
    "unhealthy_threshold": "ORCH_UNHEALTHY_THRESHOLD",
    "burst": "ORCH_CONTROLLER_BURST",
    "job_backoff_s": "ORCH_JOB_BACKOFF",
    "job_backoff_max_s": "ORCH_JOB_BACKOFF_MAX",
}


def from_env(environ: Mapping[str, str] | None = None) -> ControllerSettings:
    """Defaults overridden by the ORCH_* variables in ENV; a malformed value is a ValueError
    that names the variable."""
    environ = os.environ if environ is None else environ
    out = ControllerSettings()
    for f in fields(ControllerSettings):
        name = ENV.get(f.name)
        raw = environ.get(name, "") if name else ""
        if not raw:
            continue
        try:
            setattr(out, f.name, int(raw) if f.type in ("int", int) else float(raw))
        except ValueError:
            raise ValueError(f"{name}={raw!r} is not a number") from None
    return out
