"""`orch apply --wait`: follow applied objects until they are up, printing progress.

Polls each object that is not up yet (cheap GETs from the server's cache) and prints a
line whenever its progress changes, so a person sees a rollout move rather than a
silent prompt. Ends with a summary; exit 1 when something failed or time ran out.
"""

from __future__ import annotations

import asyncio
import time

from orchestrator.cli.common import out
from orchestrator.cli.manifests import resource_label
from orchestrator.cli.readiness import readiness
from orchestrator.client import Client
from orchestrator.model.errors import NotFound
from orchestrator.model.registry import Kind

POLL_S = 0.5


async def wait_until_up(client: Client, targets: list[tuple[Kind, str, str]], *, timeout: float) -> int:
    started = time.monotonic()
    pending = {(k.kind, ns, name): (k, ns, name) for k, ns, name in targets}
    shown: dict[tuple[str, str, str], str] = {}
    failures: list[str] = []
    while pending:
        for key, (kind, ns, name) in list(pending.items()):
            label = resource_label(kind, name)
            try:
                obj = await client.get(kind, name, namespace=ns)
            except NotFound:
                failures.append(f"{label}: deleted while waiting")
                del pending[key]
                continue
            state = readiness(kind.kind, obj)
            if state.failed:
                failures.append(f"{label}: {state.failed}")
                out(f"{label}: failed: {state.failed}")
                del pending[key]
            elif state.done:
                out(f"{label}: ready{f' ({state.progress})' if state.progress else ''}")
                del pending[key]
            elif shown.get(key) != state.progress:
                shown[key] = state.progress
                out(f"{label}: waiting: {state.progress}")
        if not pending:
            break
        if time.monotonic() - started > timeout:
            waiting_for = ", ".join(resource_label(k, n) for k, _, n in pending.values())
            failures.append(f"timed out after {timeout:g}s waiting for {waiting_for}")
            break
        await asyncio.sleep(POLL_S)
    elapsed = time.monotonic() - started
    if failures:
        for f in failures:
            out(f"error: {f}")
        return 1
    out(f"all {len(targets)} objects are up ({elapsed:.1f}s)")
    return 0
