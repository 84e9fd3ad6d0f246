"""core/v1 Container and ContainerStatus, with the parts they are made of.

Field names are Kubernetes' own (camelCase on the wire, with the `IP`/`ID` spellings set
by hand), so container specs written for Kubernetes decode unchanged. Parts orch does not
interpret (securityContext, lifecycle, volumeDevices) are kept as loose dicts so such
manifests still apply. Every optional field has a default; defaulting (`defaults.py`)
fills in what Kubernetes would, validation (`validation.py`) checks the values.
"""

from __future__ import annotations

from typing import Any

import msgspec

from orchestrator.model.base import Spec
from orchestrator.model.quantities import QuantityValue, normalize_quantities

Loose = dict[str, Any]


# --- environment -------------------------------------------------------------------------

class KeySelector(Spec):
    """configMapKeyRef / secretKeyRef."""

    key: str
    name: str = ""
    optional: bool | None = None


class ObjectFieldSelector(Spec):
    field_path: str
    api_version: str = ""


class ResourceFieldSelector(Spec):
    resource: str
    container_name: str = ""
    divisor: str | None = None


class EnvVarSource(Spec):
    config_map_key_ref: KeySelector | None = None
    secret_key_ref: KeySelector | None = None
    field_ref: ObjectFieldSelector | None = None
    resource_field_ref: ResourceFieldSelector | None = None


class EnvVar(Spec):
    name: str
    value: str | None = None
    value_from: EnvVarSource | None = None


class NameRef(Spec):
    """configMapRef / secretRef of envFrom."""

    name: str = ""
    optional: bool | None = None


class EnvFromSource(Spec):
    prefix: str = ""
    config_map_ref: NameRef | None = None
    secret_ref: NameRef | None = None


# --- ports, resources, mounts ----------------------------------------------------------

class ContainerPort(Spec):
    container_port: int
    name: str = ""
    host_port: int | None = None
    protocol: str = ""  # TCP (default) | UDP | SCTP
    host_ip: str = msgspec.field(default="", name="hostIP")


class ResourceRequirements(Spec):
    """Quantities by resource name (`cpu`, `memory`, `nvidia.com/gpu`): see quantities.py.

    A manifest may write a bare number (`nvidia.com/gpu: 1`), as Kubernetes allows; the
    values are strings once decoded or constructed (`__post_init__` turns numbers into text).
    """

    limits: dict[str, QuantityValue] = msgspec.field(default_factory=dict)
    requests: dict[str, QuantityValue] = msgspec.field(default_factory=dict)
    claims: list[Loose] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        self.limits = normalize_quantities(self.limits)  # type: ignore[assignment]
        self.requests = normalize_quantities(self.requests)  # type: ignore[assignment]


class VolumeMount(Spec):
    name: str
    mount_path: str
    read_only: bool | None = None
    recursive_read_only: str | None = None
    sub_path: str = ""
    sub_path_expr: str = ""
    mount_propagation: str | None = None


# --- probes ------------------------------------------------------------------------------

class ExecAction(Spec):
    command: list[str] = msgspec.field(default_factory=list)


class HTTPHeader(Spec):
    name: str
    value: str = ""


class HTTPGetAction(Spec):
    port: int | str
    path: str = ""
    host: str = ""
    scheme: str = ""  # HTTP (default) | HTTPS
    http_headers: list[HTTPHeader] = msgspec.field(default_factory=list)


class TCPSocketAction(Spec):
    port: int | str
    host: str = ""


class GRPCAction(Spec):
    port: int
    service: str | None = None


class Probe(Spec):
    exec: ExecAction | None = None
    http_get: HTTPGetAction | None = None
    tcp_socket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    initial_delay_seconds: int | None = None
    period_seconds: int | None = None
    timeout_seconds: int | None = None
    success_threshold: int | None = None
    failure_threshold: int | None = None
    termination_grace_period_seconds: int | None = None


# --- the container -------------------------------------------------------------------------

class Container(Spec):
    name: str
    image: str = ""
    image_pull_policy: str = ""  # Always | IfNotPresent | Never
    command: list[str] = msgspec.field(default_factory=list)
    args: list[str] = msgspec.field(default_factory=list)
    working_dir: str = ""
    env: list[EnvVar] = msgspec.field(default_factory=list)
    env_from: list[EnvFromSource] = msgspec.field(default_factory=list)
    ports: list[ContainerPort] = msgspec.field(default_factory=list)
    resources: ResourceRequirements | None = None
    resize_policy: list[Loose] = msgspec.field(default_factory=list)
    restart_policy: str | None = None  # init containers only: "Always" makes a sidecar
    volume_mounts: list[VolumeMount] = msgspec.field(default_factory=list)
    volume_devices: list[Loose] = msgspec.field(default_factory=list)
    liveness_probe: Probe | None = None
    readiness_probe: Probe | None = None
    startup_probe: Probe | None = None
    lifecycle: Loose | None = None
    termination_message_path: str = ""
    termination_message_policy: str = ""
    security_context: Loose | None = None
    stdin: bool = False
    stdin_once: bool = False
    tty: bool = False


# --- status ------------------------------------------------------------------------------

class ContainerStateWaiting(Spec):
    reason: str = ""
    message: str = ""


class ContainerStateRunning(Spec):
    started_at: str | None = None


class ContainerStateTerminated(Spec, omit_defaults=False):
    """Written in full: clients expect `exitCode: 0` to be present."""

    exit_code: int = 0
    signal: int | None = None
    reason: str = ""
    message: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    container_id: str = msgspec.field(default="", name="containerID")


class ContainerState(Spec):
    """At most one of the three is set; none set means "waiting" to Kubernetes."""

    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(Spec, omit_defaults=False):
    """Written in full: clients expect `restartCount: 0` and `ready: false` to be present."""

    name: str
    ready: bool = False
    restart_count: int = 0
    state: ContainerState = msgspec.field(default_factory=ContainerState)
    last_state: ContainerState = msgspec.field(default_factory=ContainerState)
    started: bool | None = None
    image: str = ""
    image_id: str = msgspec.field(default="", name="imageID")
    container_id: str = msgspec.field(default="", name="containerID")
    allocated_resources: dict[str, str] | None = None
    resources: ResourceRequirements | None = None
    volume_mounts: list[Loose] = msgspec.field(default_factory=list)
    user: Loose | None = None
    allocated_resources_status: list[Loose] = msgspec.field(default_factory=list)
