"""Pod status writes: the newest status per pod, one write in flight per pod.

Pod sync hands over a status only when it changed (``submit``); if a write for that
pod is already in flight, the newer status waits and replaces any older one still
waiting, so bursts coalesce into the fewest writes.  Many pods are written at once
(up to ``concurrency``).  Each write is one JSON patch on ``pods/NAME/status`` that
first tests ``metadata.uid``: a status never lands on a newer pod of the same name.
A pod that is gone (404, or the uid test fails) is dropped; other failures are
retried with back-off while no newer status replaces them.
"""

from __future__ import annotations

import asyncio
from typing import Any, NoReturn

import structlog

from orchestrator.aio.backoff import backoff_delay
from orchestrator.model import codec
from orchestrator.model.api import ObjectAPI
from orchestrator.model.errors import Invalid, NotFound
from orchestrator.model.pods import Pod, PodStatus

log = structlog.get_logger(__name__)


def status_patch(uid: str, status: PodStatus) -> list[dict[str, Any]]:
    return [{"op": "test", "path": "/metadata/uid", "value": uid},
            {"op": "add", "path": "/status", "value": codec.to_builtins(status)}]  # fmt: skip


class StatusWriter:
    def __init__(self, *, api: ObjectAPI, timeout: float = 10.0, concurrency: int = 16) -> None:
        self._api = api
        self._timeout = timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._latest: dict[str, tuple[Pod, PodStatus]] = {}
        self._busy: set[str] = set()
        self._wake = asyncio.Event()
        self.writes = 0
        self.failures = 0

    def submit(self, pod: Pod, status: PodStatus) -> None:
        self._latest[pod.metadata.uid] = (pod, status)
        self._wake.set()

    def forget(self, uid: str) -> None:
        self._latest.pop(uid, None)

    def pending(self) -> int:
        return len(self._latest) + len(self._busy)

    async def run(self) -> NoReturn:
        async with asyncio.TaskGroup() as group:
            while True:
                await self._wake.wait()
                self._wake.clear()
                for uid in [u for u in self._latest if u not in self._busy]:
                    pod, status = self._latest.pop(uid)
                    self._busy.add(uid)
                    group.create_task(self._write(uid, pod, status), name=f"status-{pod.metadata.name}")
        raise AssertionError("unreachable")

    async def _write(self, uid: str, pod: Pod, status: PodStatus) -> None:
        meta = pod.metadata
        attempt = 0
        try:
            while True:
                try:
                    async with self._slots, asyncio.timeout(self._timeout):
                        await self._api.patch("pods", meta.name, status_patch(uid, status), namespace=meta.namespace,
                                              patch_type="json", subresource="status")
                    self.writes += 1
                    return
                except (NotFound, Invalid):
                    log.debug("status not written: the pod is gone", pod=meta.name, uid=uid)
                    return
                except Exception as exc:  # noqa: BLE001 - transient: retry unless superseded
                    self.failures += 1
                    delay = backoff_delay(attempt, base=0.2, cap=10.0)
                    attempt += 1
                    log.warning("status write failed; retrying", pod=meta.name, error=str(exc) or type(exc).__name__,
                                retry_in_s=round(delay, 2))
                    await asyncio.sleep(delay)
                    if uid in self._latest:
                        return  # a newer status replaces this one
        finally:
            self._busy.discard(uid)
            if uid in self._latest:
                self._wake.set()
