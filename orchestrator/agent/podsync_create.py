"""Making one container attempt: image, environment, create, start, and why it failed.

A failure before the container exists (pull, ConfigMap/Secret, the engine refusing
the spec) leaves the container waiting with the kubelet's reason (ErrImagePull then
ImagePullBackOff, ErrImageNeverPull, CreateContainerConfigError,
CreateContainerError) and is retried with back-off.  A failed start leaves an attempt
the engine marks as failed; the next sync treats it as a stopped container
(StartError), restarted by the pod's restartPolicy with the crash back-off.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from collections.abc import Awaitable
from typing import TYPE_CHECKING, TypeVar

from orchestrator.agent.containers import ContainerConfigError, container_spec, pull_policy
from orchestrator.agent.containers_env import container_env, fetch_sources
from orchestrator.agent.podsync_backoff import BackOff
from orchestrator.agent.podsync_events import EventSink
from orchestrator.model.api import ObjectAPI
from orchestrator.model.containers import Container
from orchestrator.model.pods import Pod
from orchestrator.runtime import (
    ContainerConflict,
    ContainerRuntime,
    ImageNotPresent,
    ImagePullError,
    InvalidSpec,
    RuntimeError_,
    RuntimeUnavailable,
)

if TYPE_CHECKING:
    from orchestrator.agent.podsync import PodSyncSettings

T = TypeVar("T")
PULLING_AFTER_S = 0.5  # a pull slower than this gets a Pulling event (so a present image does not)
Waiting = tuple[str, str]  # (reason, message)


@dataclass(slots=True)
class PodMemory:
    """What pod sync remembers about one pod between syncs."""

    pod: Pod  # the newest object from the watch
    sent: bytes = b""  # the last status handed to the writer (encoded), to write only changes
    failures: dict[str, Waiting] = field(default_factory=dict)  # container -> why its last create failed
    armed: dict[str, int] = field(default_factory=dict)  # container -> attempt the crash back-off was armed for


async def call(awaitable: Awaitable[T], *, timeout: float, what: str) -> T:
    """A runtime call under a deadline; a missed deadline is RuntimeUnavailable."""
    try:
        async with asyncio.timeout(timeout):
            return await awaitable
    except TimeoutError:
        raise RuntimeUnavailable(f"{what}: no answer within {timeout:g}s") from None


class Creator:
    def __init__(self, *, api: ObjectAPI, runtime: ContainerRuntime, events: EventSink, backoff: BackOff,
                 settings: PodSyncSettings, node_name: str) -> None:
        self.api, self.runtime, self.events, self.node_name = api, runtime, events, node_name
        self.backoff, self.settings = backoff, settings

    def pending_failure(self, pod: Pod, mem: PodMemory, container: Container) -> tuple[Waiting, float] | None:
        """The waiting reason while a create-time failure is in back-off, and how long it lasts."""
        failure = mem.failures.get(container.name)
        left = self.backoff.remaining_since_update((pod.metadata.uid, container.name, "create"))
        if failure is None or left <= 0:
            return None
        reason, message = failure
        if reason == "ErrImagePull":
            return ("ImagePullBackOff", f'Back-off pulling image "{container.image}"; last attempt: {message}'), left
        return failure, left

    async def create(self, pod: Pod, mem: PodMemory, container: Container, *, attempt: int, host_ip: str,
                     pod_ip: str) -> tuple[Waiting | None, float | None]:
        """Make and start attempt ``attempt``; (waiting reason or None, requeue after or None)."""
        uid, name = pod.metadata.uid, container.name
        key = (uid, name, "create")
        try:
            await self._pull(pod, container)
            sources = await fetch_sources(self.api, pod, pod_ip=pod_ip, host_ip=host_ip,
                                          timeout=self.settings.call_timeout_s)
            env = container_env(pod, container, sources=sources)
            spec = container_spec(pod, container, env=env, restart_count=attempt, node_name=self.node_name)
            cid = await call(self.runtime.create(spec), timeout=self.settings.call_timeout_s, what="create")
        except ImagePullError as exc:
            message = f'Failed to pull image "{container.image}": {exc.message}'
            self.events.emit(pod, reason="Failed", type_="Warning", message=message)
            return self._failed(pod, mem, container, key, ("ErrImagePull", message))
        except ImageNotPresent as exc:
            return self._failed(pod, mem, container, key, ("ErrImageNeverPull", exc.message))
        except ContainerConfigError as exc:
            return self._failed(pod, mem, container, key, (exc.reason, exc.message))
        except (InvalidSpec, ContainerConflict) as exc:
            return self._failed(pod, mem, container, key, ("CreateContainerError", exc.message))
        self.backoff.reset(key)
        mem.failures.pop(name, None)
        self.events.emit(pod, reason="Created", message=f"Created container {name}")
        try:
            await call(self.runtime.start(cid), timeout=self.settings.call_timeout_s, what="start")
        except RuntimeUnavailable:
            raise
        except RuntimeError_ as exc:
            self.events.emit(pod, reason="Failed", type_="Warning", message=f"Error: {exc.message}")
            return None, 0.0  # the next sync sees a failed start and applies the restart policy
        self.events.emit(pod, reason="Started", message=f"Started container {name}")
        return None, None

    def _failed(self, pod: Pod, mem: PodMemory, container: Container, key: tuple[str, str, str],
                waiting: Waiting) -> tuple[Waiting, float]:
        mem.failures[container.name] = waiting
        delay = self.backoff.next(key)
        self.events.emit(pod, reason="Failed", type_="Warning", message=f"Error: {waiting[0]}")
        if waiting[0] == "ErrImagePull":  # show ErrImagePull a moment, then ImagePullBackOff until the retry
            return waiting, min(delay / 2, 2.0)
        return waiting, delay

    async def _pull(self, pod: Pod, container: Container) -> None:
        image = container.image
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        notice = loop.call_later(PULLING_AFTER_S, lambda: self.events.emit(
            pod, reason="Pulling", message=f'Pulling image "{image}"'))
        try:
            await call(self.runtime.ensure_image(image, pull_policy(container)),
                       timeout=self.settings.pull_timeout_s, what="pull")
        finally:
            notice.cancel()
        took = time.monotonic() - started
        if took >= PULLING_AFTER_S:
            self.events.emit(pod, reason="Pulled", message=f'Successfully pulled image "{image}" in {took:.3f}s')
        else:
            self.events.emit(pod, reason="Pulled", message=f'Container image "{image}" already present on machine')
