"""Settings of the controllers (one dataclass; `Settings.controllers` once the lead wires it).

Units are in the names (`_s` = seconds). Defaults are Kubernetes' where it has one.
"""

from __future__ import annotations

from dataclasses import dataclass


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
