"""The node's signs of life on the API: its Lease and its Ready condition.

- Lease `kube-node-lease/<node>`: spec.renewTime patched every lease_renew_s (jittered).
  The node-lifecycle controller calls a node whose Lease is older than the grace period
  not live (Ready=Unknown, taint, eviction); the server also renews it for members that
  gossip says are alive. A deleted Lease is made again by joining again.
- Node status: Ready=True with lastHeartbeatTime, re-posted every `report_s` and at once
  when someone else (the node-lifecycle controller) set it to anything but True. A
  deleted Node is a reason to join again (kubelet re-registers the same way).
A failed call is logged and tried again next round: the loops never end on their own.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import NoReturn

import structlog

from orchestrator.client import Client
from orchestrator.model.base import Condition
from orchestrator.model.errors import ApiError, Conflict, NotFound

log = structlog.get_logger(__name__)

LEASE_NAMESPACE = "kube-node-lease"


def now_micro() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _age_s(stamp: str | None) -> float | None:
    if not stamp:
        return None
    try:
        then = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (datetime.now(timezone.utc) - then).total_seconds()


async def _pause(interval_s: float) -> None:
    await asyncio.sleep(interval_s * random.uniform(0.8, 1.0))  # never later than asked: leases are deadlines


async def renew_lease_once(*, client: Client, node_name: str) -> bool:
    """Patch renewTime; NotFound escapes (the Lease is gone: the caller joins again)."""
    try:
        await client.patch("Lease", node_name, {"spec": {"renewTime": now_micro(), "holderIdentity": node_name}},
                           namespace=LEASE_NAMESPACE)
        return True
    except NotFound:
        raise
    except ApiError as exc:
        log.warning("lease renewal failed", node=node_name, code=exc.code, error=exc.message)
    return False


async def renew_lease(*, client: Client, node_name: str, interval_s: float,
                      rejoin: Callable[[], Awaitable[None]]) -> NoReturn:
    while True:
        await _pause(interval_s)
        try:
            await renew_lease_once(client=client, node_name=node_name)
        except NotFound:
            log.warning("this node's Lease is gone; joining again (the join makes it)", node=node_name)
            await rejoin()


async def report_ready_once(*, client: Client, node_name: str, message: str, report_s: float) -> bool:
    """Post Ready=True when it is not True, or its heartbeat is older than report_s. NotFound escapes."""
    node = await client.get("Node", node_name)
    ready = next((c for c in node.status.conditions if c.type == "Ready"), None)
    if ready is not None and ready.status == "True":
        age = _age_s(ready.last_heartbeat_time)
        if age is not None and age < report_s:
            return False
    now = now_micro()
    was = ready.status if ready is not None else "missing"
    fresh = Condition(type="Ready", status="True", reason="AgentReady", message=message, last_heartbeat_time=now,
                      last_transition_time=ready.last_transition_time if was == "True" and ready else now)
    node.status.conditions = [c for c in node.status.conditions if c.type != "Ready"] + [fresh]
    await client.update_status(node)
    if was != "True":
        log.info("node ready again", node=node_name, was=was, reason=ready.reason if ready else "")
    return True


async def report_ready(*, client: Client, node_name: str, message: str, interval_s: float, report_s: float,
                       rejoin: Callable[[], Awaitable[None]]) -> NoReturn:
    while True:
        await _pause(interval_s)
        try:
            await report_ready_once(client=client, node_name=node_name, message=message, report_s=report_s)
        except NotFound:
            log.warning("this node's Node object is gone; joining again", node=node_name)
            await rejoin()
        except Conflict:
            pass  # changed under us: next round reads it again
        except ApiError as exc:
            log.warning("node status report failed", node=node_name, code=exc.code, error=exc.message)
