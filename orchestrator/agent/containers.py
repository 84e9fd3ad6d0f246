"""Pod -> ContainerSpec: what the runtime is asked to run for one container of a pod.

Pure functions of the pod and what its environment refers to (``EnvSources``: the
ConfigMaps and Secrets already fetched, the pod and host IPs), so Kubernetes semantics
are unit-tested without I/O.  ``containers_env.py`` builds the environment and fetches
the objects it names.

- ``command`` / ``args`` get ``$(VAR)`` expansion against the container's final
  environment (``$$`` escapes, unknown names stay as written), as the kubelet does.
- GPUs: the scheduler records the pod's device UUIDs in one annotation; they are
  handed out in container order, each container taking as many as it asks for in
  ``nvidia.com/gpu``.
- The pod's labels ride along on the container (``orch.io/*`` ones are the runtime's
  and win), so ``docker ps --filter label=...`` finds a pod's containers by its labels.
  ``orch.io/node`` names the node that made it: agents sharing one engine each
  manage only their own containers.
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.model.containers import Container
from orchestrator.model.defaults import image_pull_policy
from orchestrator.model.gpus import GPU_RESOURCE, assigned_gpus
from orchestrator.model.pods import Pod
from orchestrator.model.quantities import parse_bytes, parse_count, parse_cpu_millis
from orchestrator.runtime.base import ContainerSpec, PortMapping, PullPolicy

_POLICIES: tuple[PullPolicy, ...] = ("Always", "IfNotPresent", "Never")
LABEL_NODE = "orch.io/node"


class ContainerConfigError(Exception):
    """The container cannot be configured yet (a missing ConfigMap or key): the pod
    waits in CreateContainerConfigError and is retried with back-off."""

    reason = "CreateContainerConfigError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: ``$$`` is a literal ``$``; an unknown or
    unterminated reference is left as written."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close < 0:
                out.append("$(")
                i += 2
                continue
            name = text[i + 2 : close]
            out.append(env[name] if name in env else f"$({name})")
            i = close + 1
        else:
            out.append("$" + nxt)
            i += 2
    return "".join(out)


def gpu_count(container: Container) -> int:
    res = container.resources
    if res is None:
        return 0
    q = res.limits.get(GPU_RESOURCE, res.requests.get(GPU_RESOURCE))
    if q is None:
        return 0
    try:
        return parse_count(q)
    except ValueError:
        return 0


def gpus_by_container(pod: Pod) -> dict[str, list[str]]:
    """The pod's assigned device UUIDs split over its containers, in container order."""
    devices = assigned_gpus(pod)
    out: dict[str, list[str]] = {}
    at = 0
    for c in pod.spec.containers:
        n = gpu_count(c)
        if n > 0:
            out[c.name] = devices[at : at + n]
            at += n
    return out


def pull_policy(container: Container) -> PullPolicy:
    policy = container.image_pull_policy or image_pull_policy(container.image)
    return policy if policy in _POLICIES else "IfNotPresent"  # type: ignore[return-value]


def ports(container: Container) -> list[PortMapping]:
    return [
        PortMapping(container_port=p.container_port, host_port=p.host_port or None,
                    protocol=(p.protocol or "TCP").upper(), host_ip=p.host_ip)  # type: ignore[arg-type]
        for p in container.ports
    ]  # fmt: skip


def container_spec(
    pod: Pod, container: Container, *, env: Mapping[str, str], restart_count: int, node_name: str = ""
) -> ContainerSpec:
    """The runtime's spec for ``container`` (attempt ``restart_count``) of ``pod``."""
    meta = pod.metadata
    limits = container.resources.limits if container.resources is not None else {}
    cpu = limits.get("cpu")
    memory = limits.get("memory")
    return ContainerSpec(
        pod_uid=meta.uid,
        pod_name=meta.name,
        namespace=meta.namespace or "default",
        container_name=container.name,
        image=container.image,
        command=[expand(part, env) for part in container.command],
        args=[expand(part, env) for part in container.args],
        env=dict(env),
        working_dir=container.working_dir or None,
        ports=ports(container),
        cpu_millis=parse_cpu_millis(cpu) if cpu is not None else None,
        memory_bytes=parse_bytes(memory) if memory is not None else None,
        gpu_device_ids=gpus_by_container(pod).get(container.name, []),
        labels={**meta.labels, LABEL_NODE: node_name or pod.spec.node_name},
        image_pull_policy=pull_policy(container),
        restart_count=restart_count,
        share_pod_network=len(pod.spec.containers) + len(pod.spec.init_containers) > 1,
        hostname=pod.spec.hostname,
        pod_ports=[p for c in (*pod.spec.init_containers, *pod.spec.containers) for p in ports(c)],
    )
