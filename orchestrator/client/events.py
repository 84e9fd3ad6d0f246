"""Recording Events about objects (what `orch describe` shows under Events:).

Repeats of the same (object, reason, message) within a few minutes bump `count` and
`lastTimestamp` on one Event instead of creating another, as Kubernetes does; writes
never raise into the caller (an event is information, not control).
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime, timezone
from typing import Any

import structlog

from orchestrator.model.api import ObjectAPI
from orchestrator.model.base import ObjectReference
from orchestrator.model.cluster import Event, EventSource
from orchestrator.model.errors import ApiError, NotFound

log = structlog.get_logger(__name__)
DEDUP_S = 600.0


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    def __init__(self, api: ObjectAPI, *, component: str, host: str = "") -> None:
        self.api, self.component, self.host = api, component, host
        self._recent: dict[str, tuple[float, int, str]] = {}  # dedup key -> (monotonic, count, event name)

    async def record(self, obj: Any, *, reason: str, message: str, type_: str = "Normal") -> None:
        m = obj.metadata
        namespace = m.namespace or "default"
        digest = hashlib.sha1(f"{m.uid}/{reason}/{message}".encode()).hexdigest()[:10]
        now = time.monotonic()
        seen = self._recent.get(digest)
        try:
            if seen is not None and now - seen[0] < DEDUP_S:
                count = seen[1] + 1
                await self.api.patch("Event", seen[2], {"count": count, "lastTimestamp": _now()}, namespace=namespace)
                self._recent[digest] = (now, count, seen[2])
                return
            name = f"{m.name}.{digest}"
            ev = Event(
                involved_object=ObjectReference(kind=obj.kind or type(obj).__name__, namespace=m.namespace,
                                                name=m.name, uid=m.uid, api_version=obj.api_version,
                                                resource_version=m.resource_version),
                reason=reason, message=message, type=type_, count=1, first_timestamp=_now(), last_timestamp=_now(),
                source=EventSource(component=self.component, host=self.host),
                reporting_component=self.component, reporting_instance=self.host)
            ev.metadata.name, ev.metadata.namespace = name, namespace
            try:
                await self.api.create(ev)
            except ApiError as exc:
                if exc.code != 409:
                    raise
                await self.api.patch("Event", name, {"count": 2, "lastTimestamp": _now(), "message": message},
                                     namespace=namespace)
            self._recent[digest] = (now, 1, name)
            if len(self._recent) > 10_000:
                self._recent = {k: v for k, v in self._recent.items() if now - v[0] < DEDUP_S}
        except NotFound:
            self._recent.pop(digest, None)
        except ApiError as exc:
            log.info("event not recorded", reason=reason, object=m.name, error=str(exc))
