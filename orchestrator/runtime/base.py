"""The runtime Protocol and the plain data that crosses it.

The agent translates a Pod into one ``ContainerSpec`` per container and reads back
``ContainerInfo``.  Identity lives in labels on the container itself (``orch.io/*``)
rather than in agent memory, so a restarted agent can list what is running and adopt
it; the restart count is a label for the same reason.  These types deliberately do
not import ``orchestrator.model``: the runtime sits below it in spirit and must stay
usable from benchmarks with no API objects at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

PullPolicy = Literal["Always", "IfNotPresent", "Never"]
State = Literal["created", "running", "exited", "unknown"]
Protocol_ = Literal["TCP", "UDP", "SCTP"]

LABEL_MANAGED = "orch.io/managed"
LABEL_POD_UID = "orch.io/pod-uid"
LABEL_POD_NAME = "orch.io/pod-name"
LABEL_NAMESPACE = "orch.io/namespace"
LABEL_CONTAINER = "orch.io/container"
LABEL_RESTART_COUNT = "orch.io/restart-count"
LABEL_SANDBOX = "orch.io/sandbox"  # on a pod's sandbox (not a managed container): the pod's uid


@dataclass(slots=True, kw_only=True)
class PortMapping:
    container_port: int
    host_port: int | None = None  # None: expose only, publish nothing on the host
    protocol: Protocol_ = "TCP"
    host_ip: str = ""  # "" binds every host address; tests use "127.0.0.1"


@dataclass(slots=True, kw_only=True)
class ContainerSpec:
    """One container of one pod, as the runtime needs it (Kubernetes semantics)."""

    pod_uid: str
    pod_name: str
    namespace: str
    container_name: str
    image: str
    command: list[str] = field(default_factory=list)  # overrides the image ENTRYPOINT
    args: list[str] = field(default_factory=list)  # overrides the image CMD
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    ports: list[PortMapping] = field(default_factory=list)
    cpu_millis: int | None = None  # limit; 1000 = one core
    memory_bytes: int | None = None  # limit
    gpu_device_ids: list[str] = field(default_factory=list)  # exact NVIDIA UUIDs
    labels: dict[str, str] = field(default_factory=dict)  # extra; orch.io/* ones win
    image_pull_policy: PullPolicy = "IfNotPresent"
    restart_count: int = 0
    # A pod of several containers shares one network (localhost, one IP): runtimes that
    # isolate containers put them in one sandbox, which publishes all the pod's ports.
    share_pod_network: bool = False
    hostname: str = ""  # the pod's spec.hostname; "" = the pod's name
    pod_ports: list[PortMapping] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class ContainerInfo:
    id: str
    name: str
    pod_uid: str
    pod_name: str
    namespace: str
    container_name: str
    image: str
    image_id: str = ""
    state: State = "unknown"
    exit_code: int | None = None  # None while running, or when it could not be known
    created_at: str | None = None  # RFC 3339
    started_at: str | None = None
    finished_at: str | None = None
    ip: str | None = None
    restart_count: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # the engine's or driver's reason, e.g. a failed start
    oom_killed: bool = False


class ExecSession(Protocol):
    """A command running in a container with its streams attached (interactive exec).

    ``read`` gives ``(1 stdout | 2 stderr, data)`` until the output ends, then None (a tty
    gives everything as stdout); ``exit_code`` is for after that.  Input written after the
    command ended, and a resize it can no longer take, are dropped, as a pipe would drop them.
    """

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def read(self) -> tuple[int, bytes] | None: ...

    async def resize(self, *, cols: int, rows: int) -> None: ...

    async def exit_code(self) -> int: ...


@runtime_checkable
class ContainerRuntime(Protocol):
    """What the agent needs from a container engine.

    Every method raises only ``orchestrator.runtime.errors`` types.  ``list`` and
    ``inspect`` see only containers labelled ``orch.io/managed=true``.
    """

    name: str  # "docker" | "process" | "sim"

    async def version(self) -> str: ...

    async def ensure_image(self, image: str, policy: PullPolicy) -> None: ...

    async def create(self, spec: ContainerSpec) -> str: ...

    async def start(self, id: str) -> None: ...

    async def stop(self, id: str, grace_seconds: float) -> None: ...

    async def remove(self, id: str) -> None: ...

    async def list(self, pod_uid: str | None = None) -> list[ContainerInfo]: ...

    async def inspect(self, id: str) -> ContainerInfo: ...

    def logs(
        self, id: str, *, follow: bool = False, tail: int | None = None,
        timestamps: bool = False, since: float | None = None,
    ) -> AsyncIterator[bytes]:
        """The output: the last ``tail`` lines, then only those written at or after
        ``since`` (epoch seconds); with ``timestamps`` each line starts with its
        RFC 3339 time (nanoseconds, as Docker writes it) and a space.  A driver that
        cannot honour an option raises ``Unsupported`` when called, not when iterated,
        so the caller can still answer 400 before it starts streaming."""
        ...

    async def exec(self, id: str, command: list[str], timeout: float) -> tuple[int, bytes]: ...

    def exec_session(
        self, id: str, command: list[str], *, stdin: bool, tty: bool
    ) -> AbstractAsyncContextManager[ExecSession]:
        """Start ``command`` with stdin (and a tty) attached.  Entering raises
        ContainerNotFound / ContainerConflict (not running) / Unsupported (no tty here);
        leaving detaches, which closes the command's stdin and kills nothing (a
        driver whose commands would be left without a parent says otherwise)."""
        ...

    async def close(self) -> None: ...


def managed_labels(spec: ContainerSpec) -> dict[str, str]:
    """The labels a driver stores on the container: the spec's extras, then ours."""
    return {
        **spec.labels,
        LABEL_MANAGED: "true",
        LABEL_POD_UID: spec.pod_uid,
        LABEL_POD_NAME: spec.pod_name,
        LABEL_NAMESPACE: spec.namespace,
        LABEL_CONTAINER: spec.container_name,
        LABEL_RESTART_COUNT: str(spec.restart_count),
    }


def is_managed(labels: Mapping[str, str]) -> bool:
    return labels.get(LABEL_MANAGED) == "true"


def container_name(spec: ContainerSpec) -> str:
    """Deterministic per (pod, container, attempt): a retried create after a lost
    answer conflicts on the name instead of making a twin."""
    return (
        f"orch_{spec.namespace}_{spec.pod_name}_{spec.container_name}"
        f"_{spec.pod_uid[:8]}_{spec.restart_count}"
    )


def info_from_labels(
    *, id: str, name: str, image: str, labels: Mapping[str, str]
) -> ContainerInfo:
    """A ContainerInfo with identity filled from labels; the driver adds the state."""
    try:
        restarts = int(labels.get(LABEL_RESTART_COUNT, "0"))
    except ValueError:
        restarts = 0
    return ContainerInfo(
        id=id,
        name=name,
        pod_uid=labels.get(LABEL_POD_UID, ""),
        pod_name=labels.get(LABEL_POD_NAME, ""),
        namespace=labels.get(LABEL_NAMESPACE, ""),
        container_name=labels.get(LABEL_CONTAINER, ""),
        image=image,
        restart_count=restarts,
        labels=dict(labels),
    )


def kube_argv(command: list[str], args: list[str]) -> list[str]:
    """The argv a host process runs: with no image there is no ENTRYPOINT/CMD to
    fall back to, so ``command + args`` (or ``args`` alone) is the whole story."""
    return [*command, *args]


def now_rfc3339() -> str:
    return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
