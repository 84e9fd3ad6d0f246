"""Events from pod sync, written off the hot path by one owned task.

``emit`` never waits and never raises: events are information, not control, so a
container start is not held up by an Event write, and a full queue drops the newest
(logged).  Repeats of one (object, reason, message) within ``repeat_s`` are dropped
here; the recorder folds the rest into ``count`` on one Event, as Kubernetes does.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, NoReturn, Protocol

import structlog

log = structlog.get_logger(__name__)


class Recorder(Protocol):
    async def record(self, obj: Any, *, reason: str, message: str, type_: str = "Normal") -> None: ...


class EventSink:
    def __init__(self, recorder: Recorder | None, *, size: int = 1000, timeout: float = 10.0,
                 repeat_s: float = 10.0) -> None:
        self._recorder = recorder
        self._queue: asyncio.Queue[tuple[Any, str, str, str]] = asyncio.Queue(maxsize=size)
        self._timeout = timeout
        self._repeat_s = repeat_s
        self._recent: dict[tuple[str, str, str], float] = {}
        self.dropped = 0

    def emit(self, obj: Any, *, reason: str, message: str, type_: str = "Normal") -> None:
        log.debug("pod event", pod=obj.metadata.name, reason=reason, message=message)
        if self._recorder is None:
            return
        key = (obj.metadata.uid, reason, message)
        now = time.monotonic()
        if now - self._recent.get(key, -1e9) < self._repeat_s:
            return
        self._recent[key] = now
        if len(self._recent) > 5000:
            self._recent = {k: t for k, t in self._recent.items() if now - t < self._repeat_s}
        try:
            self._queue.put_nowait((obj, reason, message, type_))
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("event dropped: queue full", pod=obj.metadata.name, reason=reason)

    async def run(self) -> NoReturn:
        while True:
            obj, reason, message, type_ = await self._queue.get()
            if self._recorder is None:
                continue
            try:
                async with asyncio.timeout(self._timeout):
                    await self._recorder.record(obj, reason=reason, message=message, type_=type_)
            except Exception as exc:  # noqa: BLE001 - never let an Event stop pod sync
                log.info("event not recorded", pod=obj.metadata.name, reason=reason, error=str(exc))
