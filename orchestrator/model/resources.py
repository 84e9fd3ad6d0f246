"""Resource amounts as integers, for the scheduler and the agents.

Units: `cpu` in millicores, `memory` (and every other resource) in bytes or plain
counts, `nvidia.com/gpu` in devices. A missing key means 0.

A pod's request, as Kubernetes computes it: per container, requests, with a resource
that only has a limit requesting its limit; summed over the app containers; then the
larger of that and the largest single init container, per resource (init containers
run one at a time, before the app containers).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from orchestrator.model.containers import Container
from orchestrator.model.pods import Pod, PodSpec
from orchestrator.model.quantities import parse_bytes, parse_cpu_millis

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"
EPHEMERAL_STORAGE = "ephemeral-storage"


def amount(resource: str, quantity: str) -> int:
    """One quantity in the resource's integer unit (QuantityError on junk)."""
    return parse_cpu_millis(quantity) if resource == CPU else parse_bytes(quantity)


def resource_list(quantities: Mapping[str, str]) -> dict[str, int]:
    """A quantity map (`{"cpu": "2", "memory": "4Gi"}`) -> `{"cpu": 2000, "memory": 4294967296}`."""
    return {name: amount(name, q) for name, q in quantities.items()}


def container_requests(container: Container) -> dict[str, int]:
    res = container.resources
    if res is None:
        return {}
    out = resource_list(res.limits) if res.limits else {}
    if res.requests:
        out.update(resource_list(res.requests))
    return out


def _add(total: dict[str, int], more: Mapping[str, int]) -> None:
    for name, n in more.items():
        total[name] = total.get(name, 0) + n


def spec_requests(spec: PodSpec) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in spec.containers:
        _add(total, container_requests(c))
    for c in spec.init_containers:
        req = container_requests(c)
        if c.restart_policy == "Always":  # a sidecar keeps running next to the app containers
            _add(total, req)
            continue
        for name, n in req.items():
            if n > total.get(name, 0):
                total[name] = n
    return total


def pod_requests(pod: Pod) -> dict[str, int]:
    """What the scheduler reserves for a pod: `{"cpu": millis, "memory": bytes, "nvidia.com/gpu": n}`."""
    return spec_requests(pod.spec)


def sum_requests(pods: Iterable[Pod]) -> dict[str, int]:
    total: dict[str, int] = {}
    for p in pods:
        _add(total, pod_requests(p))
    return total


def qos_class(spec: PodSpec) -> str:
    """Guaranteed (cpu and memory limits on every container, requests equal to them),
    BestEffort (no cpu or memory request or limit anywhere), else Burstable.
    Never raises: a malformed quantity just makes the pod Burstable."""
    any_set = False
    guaranteed = True
    for c in (*spec.containers, *spec.init_containers):
        res = c.resources
        limits = res.limits if res else {}
        requests = res.requests if res else {}
        for name in (CPU, MEMORY):
            lim = limits.get(name)
            req = requests.get(name, lim)
            if lim is not None or req is not None:
                any_set = True
            if guaranteed and (lim is None or req is None or not _same(name, req, lim)):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def _same(resource: str, a: str, b: str) -> bool:
    try:
        return a == b or amount(resource, a) == amount(resource, b)
    except ValueError:
        return False
