"""Pod sandboxes on Docker: one waiting container per pod of several containers.

The sandbox owns the pod's network namespace (hostname, IP, every container's host
ports) and its containers join it (`NetworkMode: container:<sandbox>`), so they reach one
another on localhost, as in a Kubernetes pod. Single-container pods need no sandbox and
get none (one container start fewer: the common case stays as fast as `docker run`).

A sandbox is named `orch-sandbox-<pod uid>` and labelled `orch.io/sandbox=<pod uid>`, not
`orch.io/managed`, so it never shows among the pod's containers. It is found by name, so
an agent restarted meanwhile reuses it; it goes when the pod's last container is removed,
and `sweep` removes any whose pod has no container left (an agent stopped in between).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiodocker
import structlog

from . import errors
from .base import LABEL_MANAGED, LABEL_POD_UID, LABEL_SANDBOX, ContainerSpec
from .docker_config import sandbox_config
from .pause_image import PAUSE_IMAGE, pause_rootfs

log = structlog.get_logger(__name__)

Call = Callable[..., contextlib.AbstractAsyncContextManager[None]]
SWEEP_EVERY_S = 60.0


def sandbox_name(pod_uid: str) -> str:
    return f"orch-sandbox-{pod_uid}"


@dataclass(slots=True)
class _Turn:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class Sandboxes:
    def __init__(self, docker: aiodocker.Docker, call: Call) -> None:
        self._docker, self._call = docker, call
        self._image_ready = False
        self._lock = asyncio.Lock()  # two containers of one pod created at once share one sandbox
        self._ips: dict[str, str | None] = {}  # sandbox id -> pod IP
        self._last_sweep = 0.0
        self._removals: dict[str, _Turn] = {}

    async def ensure(self, spec: ContainerSpec) -> str | None:
        """The running sandbox for `spec`'s pod (made if needed), or None: no sandbox wanted,
        or none can be had on this machine (the container then gets a network of its own)."""
        if not spec.share_pod_network:
            return None
        async with self._lock:
            if not await self._ensure_image():
                return None
            name = sandbox_name(spec.pod_uid)
            data = await self._inspect(name)
            if data is None:
                async with self._call("sandbox create"):
                    created = await self._docker.containers.create(sandbox_config(spec, PAUSE_IMAGE), name=name)
                sid = created.id
                log.debug("pod sandbox created", pod=f"{spec.namespace}/{spec.pod_name}", id=sid[:12])
            else:
                sid = data["Id"]
                if (data.get("State") or {}).get("Running"):
                    return str(sid)
            async with self._call("sandbox start"):
                await self._docker.containers.container(sid).start()
            return str(sid)

    async def _ensure_image(self) -> bool:
        if self._image_ready:
            return True
        try:
            async with self._call("image inspect"):
                await self._docker.images.inspect(PAUSE_IMAGE)
            self._image_ready = True
            return True
        except errors.ContainerNotFound:
            pass
        rootfs = pause_rootfs()
        if rootfs is None:
            log.warning("no pod sandbox for this CPU architecture: the containers of a pod get separate networks")
            return False
        repo, tag = PAUSE_IMAGE.split(":")
        async with self._call("import pause image"):
            async with self._docker._query("images/create", method="POST", data=rootfs,
                                           params={"fromSrc": "-", "repo": repo, "tag": tag},
                                           headers={"Content-Type": "application/x-tar"}) as response:
                await response.read()
        log.info("pod sandbox image built", image=PAUSE_IMAGE)
        self._image_ready = True
        return True

    async def _inspect(self, name_or_id: str) -> dict[str, Any] | None:
        try:
            async with self._call("sandbox inspect"):
                return dict(await self._docker.containers.container(name_or_id).show())
        except errors.ContainerNotFound:
            return None

    async def ip(self, sandbox_id: str) -> str | None:
        """The pod IP (the sandbox's), for the containers that joined it."""
        if sandbox_id not in self._ips:
            data = await self._inspect(sandbox_id)
            net = (data or {}).get("NetworkSettings") or {}
            self._ips[sandbox_id] = net.get("IPAddress") or next(
                (n.get("IPAddress") for n in (net.get("Networks") or {}).values() if n.get("IPAddress")), None)
        return self._ips[sandbox_id]

    @contextlib.asynccontextmanager
    async def removing(self, pod_uid: str) -> AsyncIterator[None]:
        """Around removing one of the pod's containers: removals of one pod take turns, so
        the last one sees no container left and takes the sandbox with it."""
        turn = self._removals.setdefault(pod_uid, _Turn())
        turn.users += 1
        try:
            async with turn.lock:
                yield
                if pod_uid and not await self._containers_of(pod_uid):
                    await self._remove(sandbox_name(pod_uid))
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._removals[pod_uid]

    async def sweep(self) -> None:
        """Now and then: remove sandboxes whose pods have no container left."""
        if time.monotonic() - self._last_sweep < SWEEP_EVERY_S:
            return
        self._last_sweep = time.monotonic()
        async with self._call("sandbox list"):
            found = await self._docker.containers.list(all=True, filters={"label": [LABEL_SANDBOX]})
        for c in found:
            uid = (c["Labels"] or {}).get(LABEL_SANDBOX, "")
            if uid and not await self._containers_of(uid):
                await self._remove(c.id)

    async def _containers_of(self, pod_uid: str) -> list[Any]:
        async with self._call("list"):
            return list(await self._docker.containers.list(
                all=True, filters={"label": [f"{LABEL_MANAGED}=true", f"{LABEL_POD_UID}={pod_uid}"]}))

    async def _remove(self, name_or_id: str) -> None:
        with contextlib.suppress(errors.ContainerNotFound):
            async with self._call("sandbox remove"):
                container = self._docker.containers.container(name_or_id)
                await container.delete(force=True)
        self._ips.pop(name_or_id, None)
        log.debug("pod sandbox removed", sandbox=name_or_id[:40])
