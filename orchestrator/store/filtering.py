"""Label and field selectors of a request, compiled once into an object predicate."""

from __future__ import annotations

from collections.abc import Callable

from orchestrator.model.base import Object
from orchestrator.model.errors import BadRequest
from orchestrator.model.selectors import SelectorError, parse_field_selector, parse_label_selector
from orchestrator.store.events import ADDED, DELETED, MODIFIED, StoreEvent

Predicate = Callable[[Object], bool]


def compile_predicate(*, label_selector: str = "", field_selector: str = "") -> Predicate | None:
    """None when nothing is filtered (the fast path: no per-object call at all)."""
    try:
        labels = parse_label_selector(label_selector)
        fields = parse_field_selector(field_selector)
    except SelectorError as exc:
        raise BadRequest(f"invalid selector: {exc}") from None
    if labels.empty() and fields.empty():
        return None
    if fields.empty():
        return lambda obj: labels.matches(obj.metadata.labels)
    if labels.empty():
        return fields.matches
    return lambda obj: labels.matches(obj.metadata.labels) and fields.matches(obj)


def transition(ev: StoreEvent, match: Callable[[Object], bool]) -> str | None:
    """The event type a filtered watcher should see for `ev`, or None to skip it."""
    if ev.type == DELETED:
        return DELETED if match(ev.obj) else None
    now = match(ev.obj)
    if ev.type == ADDED:
        return ADDED if now else None
    before = ev.prev is not None and match(ev.prev)
    if now:
        return MODIFIED if (before or ev.prev is None) else ADDED
    return DELETED if before else None
