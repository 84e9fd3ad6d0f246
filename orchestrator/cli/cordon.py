"""`orch cordon|uncordon NODE...` and `orch drain NODE`, with kubectl's wording.

cordon sets `spec.unschedulable` (the scheduler then places nothing new there), uncordon
clears it. drain cordons, then evicts the node's pods (the eviction subresource, which
honours PodDisruptionBudgets: a pod whose budget has no disruption left is tried again
every few seconds, as kubectl does) and waits until they are gone: DaemonSet pods are left
alone (their controller would put them right back); pods no controller owns are only
evicted with --force (nothing would re-create them elsewhere).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from orchestrator.cli.common import CliError, add_client_flags, out, run_client
from orchestrator.client import Client
from orchestrator.model.errors import ApiError, NotFound, TooManyRequests
from orchestrator.model.registry import REGISTRY

POLL_S = 0.5
EVICT_RETRY_S = 5.0  # kubectl drain's pause after a refused eviction


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for verb, text in (("cordon", "mark nodes unschedulable"), ("uncordon", "mark nodes schedulable again")):
        p = sub.add_parser(verb, help=text, description=f"{text[0].upper()}{text[1:]} (spec.unschedulable).")
        p.add_argument("nodes", nargs="*", metavar="NODE")
        add_client_flags(p)
        p.set_defaults(handler=run_cordon, unschedulable=verb == "cordon")
    p = sub.add_parser("drain", help="cordon a node and delete its pods (not DaemonSet pods)",
                       description="Cordon NODE, delete its pods except DaemonSet-managed ones, and wait until "
                                   "they are gone. Pods without a controller need --force.")
    p.add_argument("node", metavar="NODE")
    p.add_argument("--force", action="store_true", help="also delete pods that no controller manages")
    p.add_argument("--grace-period", type=int, default=None,
                   help="seconds each pod gets to stop (default: the pod's own terminationGracePeriodSeconds)")
    p.add_argument("--timeout", type=float, default=0.0, help="give up after this many seconds (0: never)")
    add_client_flags(p)
    p.set_defaults(handler=run_drain)


def run_cordon(args: argparse.Namespace) -> int:
    if not args.nodes:
        raise CliError(f"give at least one node: orch {'cordon' if args.unschedulable else 'uncordon'} NODE...")
    async def go(client: Client, a: argparse.Namespace) -> int:
        failed = False
        for name in a.nodes:
            try:
                await set_unschedulable(client, name, a.unschedulable)
            except NotFound:
                print(f'Error from server (NotFound): nodes "{name}" not found', file=sys.stderr)
                failed = True
        return 1 if failed else 0

    return run_client(args, go)


async def set_unschedulable(client: Client, name: str, unschedulable: bool) -> None:
    verb = "cordoned" if unschedulable else "uncordoned"
    node = await client.get("nodes", name)
    if node.spec.unschedulable == unschedulable:
        out(f"node/{name} already {verb}")
        return
    await client.patch("nodes", name, {"spec": {"unschedulable": unschedulable}})
    out(f"node/{name} {verb}")


def _controller(pod: Any) -> Any | None:
    return next((r for r in pod.metadata.owner_references if r.controller), None)


def plan_drain(pods: list[Any], *, force: bool) -> tuple[list[Any], list[Any], list[Any]]:
    """(to delete, DaemonSet pods left alone, unmanaged pods that block without --force)."""
    delete, daemons, unmanaged = [], [], []
    for pod in pods:
        ref = _controller(pod)
        if ref is not None and ref.kind == "DaemonSet":
            daemons.append(pod)
        elif ref is None and not force and pod.status.phase not in ("Succeeded", "Failed"):
            unmanaged.append(pod)
        else:
            delete.append(pod)
    return delete, daemons, unmanaged


def _names(pods: list[Any]) -> str:
    return ", ".join(f"{p.metadata.namespace}/{p.metadata.name}" for p in pods)


def run_drain(args: argparse.Namespace) -> int:
    return run_client(args, _drain)


async def _drain(client: Client, args: argparse.Namespace) -> int:
    name = args.node
    await set_unschedulable(client, name, True)
    pods = (await client.list_all("pods", field_selector=f"spec.nodeName={name}")).items
    delete, daemons, unmanaged = plan_drain(pods, force=args.force)
    if unmanaged:
        raise CliError(f'unable to drain node "{name}" due to error: cannot delete Pods that declare no '
                       f"controller (use --force to override): {_names(unmanaged)}")
    if daemons:
        print(f"Warning: ignoring DaemonSet-managed Pods: {_names(daemons)}", file=sys.stderr)
    deadline = time.monotonic() + args.timeout if args.timeout > 0 else None
    waiting: dict[tuple[str, str], str] = {}
    for pod in delete:
        out(f"evicting pod {pod.metadata.namespace}/{pod.metadata.name}")
        waiting[(pod.metadata.namespace, pod.metadata.name)] = pod.metadata.uid
    try:
        async with asyncio.TaskGroup() as tg:  # all at once: one pod held by its budget holds up no other
            for pod in delete:
                tg.create_task(_evict(client, pod.metadata.namespace, pod.metadata.name,
                                      grace=args.grace_period, deadline=deadline))
    except* CliError as failed:
        raise failed.exceptions[0] from None
    await _wait_gone(client, name, waiting, timeout=args.timeout)
    out(f"node/{name} drained")
    return 0


async def _evict(client: Client, ns: str, name: str, *, grace: int | None, deadline: float | None) -> None:
    """POST pods/NAME/eviction; while a disruption budget says no (429), say so and retry."""
    body: dict[str, Any] = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name, "namespace": ns}}
    if grace is not None and grace >= 0:
        body["deleteOptions"] = {"gracePeriodSeconds": grace}
    path = REGISTRY.by_kind("Pod").api_path(ns, name) + "/eviction"
    while True:
        try:
            await client.request("POST", path, body=json.dumps(body).encode())
            return
        except NotFound:
            return
        except TooManyRequests as exc:
            if deadline is not None and time.monotonic() > deadline:
                raise CliError(f"evicting pod {ns}/{name}: {exc.message} (gave up at --timeout)") from None
            print(f"error when evicting pods/\"{name}\" -n \"{ns}\" (will retry after {EVICT_RETRY_S:g}s): "
                  f"{exc.message}", file=sys.stderr)
            await asyncio.sleep(EVICT_RETRY_S)
        except ApiError as exc:
            raise CliError(f"evicting pod {ns}/{name}: {exc.message}") from None


async def _wait_gone(client: Client, node: str, waiting: dict[tuple[str, str], str], *, timeout: float) -> None:
    """Until none of these pods (same uid) is left on the node, printing each as it goes."""
    deadline = time.monotonic() + timeout if timeout > 0 else None
    while waiting:
        left = (await client.list_all("pods", field_selector=f"spec.nodeName={node}")).items
        present = {(p.metadata.namespace, p.metadata.name): p.metadata.uid for p in left}
        for key in [k for k, uid in waiting.items() if present.get(k) != uid]:
            out(f"pod/{key[1]} evicted")
            del waiting[key]
        if not waiting:
            return
        if deadline is not None and time.monotonic() > deadline:
            raise CliError(f"drain did not complete within {timeout:g}s; pods still on node/{node}: "
                           + ", ".join(f"{ns}/{n}" for ns, n in waiting))
        await asyncio.sleep(POLL_S)
