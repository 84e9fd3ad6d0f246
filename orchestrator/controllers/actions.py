"""What plans ask for, and the one place that carries it out through an ObjectAPI.

A plan is data (`Plan.actions`, `Plan.requeue_after`) so it can be checked without I/O.
`apply` runs the actions in order; runs of Creates (and of Deletes) go concurrently,
Creates in slow-start batches (1, 2, 4, ...: a template that cannot be created fails
once, not 500 times). It answers the highest revision it wrote per kind, for
`runner.wait_observed`. Errors: NotFound on a delete is success (someone was faster);
a failed create is recorded as a FailedCreate event on the owner; the first other
error is raised once everything that could run has run, so the runner retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from orchestrator.client.events import EventRecorder
from orchestrator.controllers.runner import revision_of, wait_observed
from orchestrator.model.api import ObjectAPI
from orchestrator.model.errors import ApiError, NotFound

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Create:
    obj: Any
    owner: Any | None = None  # SuccessfulCreate / FailedCreate are recorded on it


@dataclass(slots=True)
class Delete:
    kind: str
    namespace: str
    name: str
    policy: str | None = None
    grace: int | None = None
    owner: Any | None = None  # SuccessfulDelete is recorded on it


@dataclass(slots=True)
class Patch:
    kind: str
    namespace: str
    name: str
    patch: Any
    subresource: str = ""


@dataclass(slots=True)
class UpdateStatus:
    obj: Any


@dataclass(slots=True)
class Record:
    obj: Any
    reason: str
    message: str
    type_: str = "Normal"


Action = Create | Delete | Patch | UpdateStatus | Record


@dataclass(slots=True)
class Plan:
    actions: list[Action] = field(default_factory=list)
    requeue_after: float | None = None

    def of(self, cls: type) -> list[Any]:
        return [a for a in self.actions if isinstance(a, cls)]

    def later(self, seconds: float | None) -> None:
        """Ask to be reconciled again within `seconds` (the earliest ask wins)."""
        if seconds is None:
            return
        seconds = max(seconds, 0.05)
        self.requeue_after = seconds if self.requeue_after is None else min(self.requeue_after, seconds)


@dataclass(slots=True)
class Applied:
    revisions: dict[str, int] = field(default_factory=dict)
    created: list[Any] = field(default_factory=list)
    error: BaseException | None = None

    def wrote(self, kind: str, obj: Any) -> None:
        rv = revision_of(obj)
        if rv > self.revisions.get(kind, 0):
            self.revisions[kind] = rv


def _kind_of(obj: Any) -> str:
    return obj.kind or type(obj).__name__


async def apply(api: ObjectAPI, recorder: EventRecorder, actions: Sequence[Action]) -> Applied:
    """Carry out the actions; the first error is in `Applied.error` (a failed Patch or
    UpdateStatus stops the rest: later actions may depend on it)."""
    done = Applied()
    i = 0
    while i < len(actions):
        a = actions[i]
        j = i + 1
        if isinstance(a, (Create, Delete)):
            while j < len(actions) and type(actions[j]) is type(a):
                j += 1
        batch = actions[i:j]
        i = j
        try:
            if isinstance(a, Create):
                await _creates(api, recorder, batch, done)  # type: ignore[arg-type]
            elif isinstance(a, Delete):
                await _deletes(api, recorder, batch, done)  # type: ignore[arg-type]
            elif isinstance(a, Patch):
                done.wrote(a.kind, await api.patch(a.kind, a.name, a.patch, namespace=a.namespace,
                                                   subresource=a.subresource))
            elif isinstance(a, UpdateStatus):
                done.wrote(_kind_of(a.obj), await api.update_status(a.obj))
            elif isinstance(a, Record):
                await recorder.record(a.obj, reason=a.reason, message=a.message, type_=a.type_)
        except Exception as exc:  # noqa: BLE001 - kept for the caller, raised after observing
            done.error = done.error or exc
            if isinstance(a, (Patch, UpdateStatus)):
                break
    return done


async def _creates(api: ObjectAPI, recorder: EventRecorder, batch: Sequence[Create], done: Applied) -> None:
    size, start = 1, 0
    while start < len(batch):
        chunk = batch[start:start + size]
        results = await asyncio.gather(*(_create_one(api, recorder, c, done) for c in chunk), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            raise errors[0]
        start += size
        size *= 2


async def _create_one(api: ObjectAPI, recorder: EventRecorder, c: Create, done: Applied) -> None:
    what = _kind_of(c.obj)
    try:
        obj = await api.create(c.obj)
    except ApiError as exc:
        if c.owner is not None:
            await recorder.record(c.owner, reason="FailedCreate", type_="Warning",
                                  message=f"Error creating: {exc.message}")
        raise
    done.wrote(what, obj)
    done.created.append(obj)
    if c.owner is not None:
        await recorder.record(c.owner, reason="SuccessfulCreate", message=f"Created {what.lower()}: {obj.metadata.name}")


async def _deletes(api: ObjectAPI, recorder: EventRecorder, batch: Sequence[Delete], done: Applied) -> None:
    results = await asyncio.gather(*(_delete_one(api, recorder, d, done) for d in batch), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        raise errors[0]


async def _delete_one(api: ObjectAPI, recorder: EventRecorder, d: Delete, done: Applied) -> None:
    try:
        obj = await api.delete(d.kind, d.name, namespace=d.namespace, propagation_policy=d.policy,
                               grace_period_seconds=d.grace)
    except NotFound:
        return
    done.wrote(d.kind, obj)
    if d.owner is not None:
        await recorder.record(d.owner, reason="SuccessfulDelete", message=f"Deleted {d.kind.lower()}: {d.name}")


async def apply_and_observe(api: ObjectAPI, recorder: EventRecorder, actions: Sequence[Action], *,
                            caches: dict[str, Any], timeout: float) -> Applied:
    """`apply`, wait until each informer in `caches` (kind -> Informer) has seen what was
    written to its kind, then raise the first error if there was one."""
    done = await apply(api, recorder, actions)
    for kind, rv in done.revisions.items():
        informer = caches.get(kind)
        if informer is not None:
            await wait_observed(informer, rv, timeout=timeout)
    if done.error is not None:
        raise done.error
    return done


