"""What the store publishes after each commit, and the watch wire format.

A StoreEvent carries the object, its encoded bytes (encoded once by the writer) and the
previous version (so watchers with selectors can tell "stopped matching"). The watch
wire line `{"type":...,"object":...}` is built once per event and shared by every
watcher, however many there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.model.base import Object

ADDED, MODIFIED, DELETED, BOOKMARK, ERROR = "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"


@dataclass(slots=True)
class StoreEvent:
    type: str
    key: str
    rv: int
    obj: Object
    raw: bytes
    prev: Object | None = None
    _wire: bytes | None = field(default=None, repr=False)

    def wire(self) -> bytes:
        """The JSON watch event, built on first use and cached for every other watcher."""
        if self._wire is None:
            self._wire = wire_event(self.type, self.raw)
        return self._wire

    def as_type(self, type_: str) -> "StoreEvent":
        """The same change shown as another event type (a selector transition)."""
        return StoreEvent(type=type_, key=self.key, rv=self.rv, obj=self.obj, raw=self.raw, prev=self.prev)


def wire_event(type_: str, raw_object: bytes) -> bytes:
    return b'{"type":"' + type_.encode() + b'","object":' + raw_object + b"}"
