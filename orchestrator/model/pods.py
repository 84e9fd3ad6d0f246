"""core/v1 Pod (spec, status, scheduling terms) and Binding.

Required node affinity, node selectors and tolerations are typed because the scheduler
reads them; pod (anti-)affinity, volumes and security contexts are accepted as loose
dicts so Kubernetes manifests apply, but orch does not act on them yet.

GPU assignment: the exact device UUIDs given to a pod live in the annotation
`gpus.GPU_DEVICES_ANNOTATION`; read them with `assigned_gpus(pod)`.
"""

from __future__ import annotations

from typing import Any

import msgspec

from orchestrator.model.base import Condition, Object, ObjectReference, Spec
from orchestrator.model.containers import Container, ContainerStatus
from orchestrator.model.gpus import assigned_gpus

__all__ = [
    "Affinity", "Binding", "Container", "ContainerStatus", "NodeAffinity", "NodeSelector",
    "NodeSelectorRequirement", "NodeSelectorTerm", "Pod", "PodIP", "PodSpec", "PodStatus",
    "PreferredSchedulingTerm", "Toleration", "assigned_gpus",
]

Loose = dict[str, Any]


class NodeSelectorRequirement(Spec):
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: list[str] = msgspec.field(default_factory=list)


class NodeSelectorTerm(Spec):
    """Requirements ANDed; `matchFields` only supports `metadata.name`."""

    match_expressions: list[NodeSelectorRequirement] = msgspec.field(default_factory=list)
    match_fields: list[NodeSelectorRequirement] = msgspec.field(default_factory=list)


class NodeSelector(Spec):
    """Terms ORed."""

    node_selector_terms: list[NodeSelectorTerm] = msgspec.field(default_factory=list)


class PreferredSchedulingTerm(Spec):
    weight: int
    preference: NodeSelectorTerm = msgspec.field(default_factory=NodeSelectorTerm)


class NodeAffinity(Spec):
    required_during_scheduling_ignored_during_execution: NodeSelector | None = None
    preferred_during_scheduling_ignored_during_execution: list[PreferredSchedulingTerm] = msgspec.field(
        default_factory=list)


class Affinity(Spec):
    node_affinity: NodeAffinity | None = None
    pod_affinity: Loose | None = None
    pod_anti_affinity: Loose | None = None


class Toleration(Spec):
    """Empty key with operator Exists tolerates everything; empty effect matches all effects."""

    key: str = ""
    operator: str = ""  # Equal (default) | Exists
    value: str = ""
    effect: str = ""  # "" | NoSchedule | PreferNoSchedule | NoExecute
    toleration_seconds: int | None = None


class LocalObjectReference(Spec):
    name: str = ""


class PodSpec(Spec):
    containers: list[Container] = msgspec.field(default_factory=list)
    init_containers: list[Container] = msgspec.field(default_factory=list)
    ephemeral_containers: list[Loose] = msgspec.field(default_factory=list)
    restart_policy: str = ""  # Always (default) | OnFailure | Never
    termination_grace_period_seconds: int | None = None
    active_deadline_seconds: int | None = None
    dns_policy: str = ""
    dns_config: Loose | None = None
    node_selector: dict[str, str] = msgspec.field(default_factory=dict)
    node_name: str = ""
    affinity: Affinity | None = None
    tolerations: list[Toleration] = msgspec.field(default_factory=list)
    scheduler_name: str = ""
    scheduling_gates: list[Loose] = msgspec.field(default_factory=list)
    priority: int | None = None
    priority_class_name: str = ""
    preemption_policy: str | None = None
    service_account_name: str = ""
    service_account: str = ""  # deprecated alias Kubernetes still accepts
    automount_service_account_token: bool | None = None
    host_network: bool = False
    host_pid: bool = msgspec.field(default=False, name="hostPID")
    host_ipc: bool = msgspec.field(default=False, name="hostIPC")
    host_users: bool | None = None
    share_process_namespace: bool | None = None
    hostname: str = ""
    subdomain: str = ""
    set_hostname_as_fqdn: bool | None = msgspec.field(default=None, name="setHostnameAsFQDN")
    host_aliases: list[Loose] = msgspec.field(default_factory=list)
    volumes: list[Loose] = msgspec.field(default_factory=list)
    image_pull_secrets: list[LocalObjectReference] = msgspec.field(default_factory=list)
    security_context: Loose | None = None
    readiness_gates: list[Loose] = msgspec.field(default_factory=list)
    runtime_class_name: str | None = None
    enable_service_links: bool | None = None
    overhead: dict[str, str | int | float] | None = None
    topology_spread_constraints: list[Loose] = msgspec.field(default_factory=list)
    os: Loose | None = None
    resource_claims: list[Loose] = msgspec.field(default_factory=list)
    resources: Loose | None = None


class PodIP(Spec):
    ip: str = ""


class PodStatus(Spec):
    phase: str = ""  # Pending | Running | Succeeded | Failed | Unknown
    conditions: list[Condition] = msgspec.field(default_factory=list)
    message: str = ""
    reason: str = ""
    nominated_node_name: str = ""
    host_ip: str = msgspec.field(default="", name="hostIP")
    host_ips: list[PodIP] = msgspec.field(default_factory=list, name="hostIPs")
    pod_ip: str = msgspec.field(default="", name="podIP")
    pod_ips: list[PodIP] = msgspec.field(default_factory=list, name="podIPs")
    start_time: str | None = None
    init_container_statuses: list[ContainerStatus] = msgspec.field(default_factory=list)
    container_statuses: list[ContainerStatus] = msgspec.field(default_factory=list)
    ephemeral_container_statuses: list[ContainerStatus] = msgspec.field(default_factory=list)
    qos_class: str = ""  # Guaranteed | Burstable | BestEffort
    resize: str = ""
    resource_claim_statuses: list[Loose] = msgspec.field(default_factory=list)
    observed_generation: int | None = None


class Pod(Object):
    spec: PodSpec = msgspec.field(default_factory=PodSpec)
    status: PodStatus = msgspec.field(default_factory=PodStatus)


class Binding(Object):
    """core/v1 Binding: POSTed to `pods/{name}/binding` to put a pod on a node."""

    target: ObjectReference = msgspec.field(default_factory=ObjectReference)


def referenced_secrets(pod: Pod) -> set[str]:
    """Names of the Secrets a pod uses (env, envFrom, volumes, image pull secrets): what its
    node may read."""
    spec = pod.spec
    names = {ref.name for ref in spec.image_pull_secrets if ref.name}
    for c in [*spec.init_containers, *spec.containers]:
        for e in c.env:
            if e.value_from is not None and e.value_from.secret_key_ref is not None:
                names.add(e.value_from.secret_key_ref.name)
        for src in c.env_from:
            if src.secret_ref is not None and src.secret_ref.name:
                names.add(src.secret_ref.name)
    for vol in spec.volumes:
        secret = vol.get("secret") if isinstance(vol, dict) else None
        if isinstance(secret, dict) and isinstance(secret.get("secretName"), str):
            names.add(secret["secretName"])
    return names
