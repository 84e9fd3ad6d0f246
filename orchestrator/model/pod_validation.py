"""Validation of a PodSpec (a Pod's or a workload template's) and its containers.

`validate_pod_spec(spec, path, errs)` appends StatusCauses with full field paths
(`spec.template.spec.containers[0].image`). It is on the write path of every pod, so
the common case (valid spec) builds no strings beyond one path per container: paths
and messages are made only when something is wrong. Quantity and name checks go
through the cached parsers in quantities.py and names.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from orchestrator.model import field_errors as fe
from orchestrator.model.containers import Container, Probe, ResourceRequirements
from orchestrator.model.errors import StatusCause
from orchestrator.model.meta_validation import label_map_errors
from orchestrator.model.names import dns1123_label_errors, dns1123_subdomain_errors, qualified_name_errors
from orchestrator.model.pods import PodSpec
from orchestrator.model.quantities import QuantityError, parse_quantity
from orchestrator.model.scheduling_validation import node_affinity_errors, toleration_errors

RESTART_POLICIES = ("Always", "OnFailure", "Never")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("TCP", "UDP", "SCTP")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
STANDARD_RESOURCES = frozenset(("cpu", "memory", "ephemeral-storage", "pods", "storage"))
_NONNEG = "must be greater than or equal to 0"
_PORT_RANGE = "must be between 1 and 65535, inclusive"


def validate_pod_spec(spec: PodSpec, path: str, errs: list[StatusCause], *,
                      restart_policies: Sequence[str] = RESTART_POLICIES, restart_required: bool = False) -> None:
    volumes = _volumes(spec.volumes, path, errs) if spec.volumes else frozenset()
    names: set[str] = set()
    host_ports: set[tuple[int, str, str]] = set()
    if not spec.containers:
        errs.append(fe.required(f"{path}.containers"))
    _containers(spec.containers, f"{path}.containers", errs, names, host_ports, volumes, init=False)
    if spec.init_containers:
        _containers(spec.init_containers, f"{path}.initContainers", errs, names, host_ports, volumes, init=True)
    rp = spec.restart_policy
    if rp:
        if rp not in restart_policies:
            errs.append(fe.not_supported(f"{path}.restartPolicy", rp, restart_policies))
    elif restart_required:
        errs.append(fe.required(f"{path}.restartPolicy", "valid values: " + ", ".join(f'"{p}"' for p in restart_policies)))
    if spec.dns_policy and spec.dns_policy not in DNS_POLICIES:
        errs.append(fe.not_supported(f"{path}.dnsPolicy", spec.dns_policy, DNS_POLICIES))
    tgps = spec.termination_grace_period_seconds
    if tgps is not None and tgps < 0:
        errs.append(fe.invalid(f"{path}.terminationGracePeriodSeconds", tgps, _NONNEG))
    ads = spec.active_deadline_seconds
    if ads is not None and not 1 <= ads <= 2**31 - 1:
        errs.append(fe.invalid(f"{path}.activeDeadlineSeconds", ads, "must be between 1 and 2147483647, inclusive"))
    if spec.node_selector:
        label_map_errors(spec.node_selector, f"{path}.nodeSelector", errs)
    if spec.node_name and (e := dns1123_subdomain_errors(spec.node_name)):
        errs.append(fe.invalid(f"{path}.nodeName", spec.node_name, e[0]))
    for attr, wire in (("hostname", "hostname"), ("subdomain", "subdomain")):
        value = getattr(spec, attr)
        if value and (e := dns1123_label_errors(value)):
            errs.append(fe.invalid(f"{path}.{wire}", value, e[0]))
    for i, tol in enumerate(spec.tolerations):
        toleration_errors(tol, f"{path}.tolerations[{i}]", errs)
    if spec.affinity is not None and spec.affinity.node_affinity is not None:
        node_affinity_errors(spec, path, errs)


def _volumes(volumes: list[dict[str, object]], path: str, errs: list[StatusCause]) -> frozenset[str]:
    seen: set[str] = set()
    for i, vol in enumerate(volumes):
        name = vol.get("name")
        where = f"{path}.volumes[{i}].name"
        if not isinstance(name, str) or not name:
            errs.append(fe.required(where))
        elif name in seen:
            errs.append(fe.duplicate(where, name))
        else:
            seen.add(name)
            if e := dns1123_label_errors(name):
                errs.append(fe.invalid(where, name, e[0]))
    return frozenset(seen)


def _containers(containers: list[Container], path: str, errs: list[StatusCause], names: set[str],
                host_ports: set[tuple[int, str, str]], volumes: frozenset[str], *, init: bool) -> None:
    for i, c in enumerate(containers):
        p = f"{path}[{i}]"
        name = c.name
        if not name:
            errs.append(fe.required(f"{p}.name"))
        elif name in names:
            errs.append(fe.duplicate(f"{p}.name", name))
        else:
            names.add(name)
            if e := dns1123_label_errors(name):
                errs.append(fe.invalid(f"{p}.name", name, e[0]))
        image = c.image
        if not image:
            errs.append(fe.required(f"{p}.image"))
        elif image != image.strip():
            errs.append(fe.invalid(f"{p}.image", image, "must not have leading or trailing whitespace"))
        if c.image_pull_policy and c.image_pull_policy not in PULL_POLICIES:
            errs.append(fe.not_supported(f"{p}.imagePullPolicy", c.image_pull_policy, PULL_POLICIES))
        if c.ports:
            _ports(c, p, errs, host_ports)
        if c.env:
            _env(c, p, errs)
        if c.resources is not None:
            _resources(c.resources, f"{p}.resources", errs)
        sidecar = init and c.restart_policy == "Always"
        if c.restart_policy is not None and not sidecar:
            where = f"{p}.restartPolicy"
            errs.append(fe.not_supported(where, c.restart_policy, ("Always",)) if init
                        else fe.forbidden(where, "may not be set for non-init containers"))
        for probe, wire, liveness_like in ((c.liveness_probe, "livenessProbe", True),
                                           (c.readiness_probe, "readinessProbe", False),
                                           (c.startup_probe, "startupProbe", True)):
            if probe is None:
                continue
            if init and not sidecar:
                errs.append(fe.forbidden(f"{p}.{wire}", "may not be set for init containers without restartPolicy=Always"))
            else:
                _probe(probe, f"{p}.{wire}", errs, liveness_like=liveness_like)
        for j, mount in enumerate(c.volume_mounts):
            if mount.name not in volumes:
                errs.append(fe.not_found(f"{p}.volumeMounts[{j}].name", mount.name))
            if not mount.mount_path:
                errs.append(fe.required(f"{p}.volumeMounts[{j}].mountPath"))


def _ports(c: Container, p: str, errs: list[StatusCause], host_ports: set[tuple[int, str, str]]) -> None:
    for j, port in enumerate(c.ports):
        cp = port.container_port
        if not 1 <= cp <= 65535:
            errs.append(fe.invalid(f"{p}.ports[{j}].containerPort", cp, _PORT_RANGE))
        proto = port.protocol or "TCP"
        if proto not in PROTOCOLS:
            errs.append(fe.not_supported(f"{p}.ports[{j}].protocol", port.protocol, PROTOCOLS))
        if port.name and (msg := port_name_error(port.name)):
            errs.append(fe.invalid(f"{p}.ports[{j}].name", port.name, msg))
        hp = port.host_port
        if hp:
            if not 1 <= hp <= 65535:
                errs.append(fe.invalid(f"{p}.ports[{j}].hostPort", hp, _PORT_RANGE))
            elif (key := (hp, proto, port.host_ip)) in host_ports:
                errs.append(fe.duplicate(f"{p}.ports[{j}].hostPort", f"{hp}/{proto}"))
            else:
                host_ports.add(key)


@lru_cache(maxsize=1024)
def port_name_error(name: str) -> str:
    """IANA service names: ≤ 15 lowercase alphanumerics or '-', at least one letter."""
    if len(name) > 15:
        return "must be no more than 15 characters"
    if not all(ch.isascii() and (ch.islower() or ch.isdigit() or ch == "-") for ch in name):
        return "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"
    if not any(ch.isalpha() for ch in name):
        return "must contain at least one letter (a-z)"
    if name.startswith("-") or name.endswith("-") or "--" in name:
        return "must not begin or end with a hyphen, or contain two adjacent hyphens"
    return ""


def _env(c: Container, p: str, errs: list[StatusCause]) -> None:
    for j, env in enumerate(c.env):
        if not env.name:
            errs.append(fe.required(f"{p}.env[{j}].name"))
        src = env.value_from
        if src is None:
            continue
        if env.value:
            errs.append(fe.invalid(f"{p}.env[{j}].valueFrom", "", "may not be specified when `value` is not empty"))
        n = sum(x is not None for x in (src.config_map_key_ref, src.secret_key_ref, src.field_ref, src.resource_field_ref))
        if n != 1:
            errs.append(fe.invalid(f"{p}.env[{j}].valueFrom", "", "must specify exactly one of `fieldRef`, "
                                   "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))


def resource_path(base: str, name: str) -> str:
    """`...limits.cpu`, and `...limits[nvidia.com/gpu]` where a dot would be ambiguous."""
    return f"{base}[{name}]" if ("." in name or "/" in name) else f"{base}.{name}"


def _is_standard(rname: str) -> bool:
    return rname in STANDARD_RESOURCES or rname.startswith("hugepages-")


@lru_cache(maxsize=4096)
def _amount_problem(rname: str, q: str) -> tuple[str, str, str] | None:
    """(kind, value shown, detail) of what is wrong with one amount; None when fine. Cached."""
    standard = _is_standard(rname)
    if not standard and ("/" not in rname or qualified_name_errors(rname)):
        return "invalid", rname, "must be a standard resource type or fully qualified"
    try:
        v = parse_quantity(q)
    except QuantityError as exc:
        return "plain", q, str(exc)
    if v < 0:
        return "invalid", q, _NONNEG
    if not standard and v.denominator != 1:
        return "invalid", q, "must be an integer"
    return None


@lru_cache(maxsize=4096)
def _request_problem(rname: str, req: str, lim: str) -> str:
    """Why a request does not fit its limit ("" when it does); both already parse. Cached."""
    if _is_standard(rname):
        if parse_quantity(req) > parse_quantity(lim):
            return f"must be less than or equal to {rname} limit of {lim}"
    elif parse_quantity(req) != parse_quantity(lim):
        return f"must be equal to {rname} limit of {lim}"
    return ""


def _resources(res: ResourceRequirements, p: str, errs: list[StatusCause]) -> None:
    bad: set[tuple[str, str]] = set()
    for which, amounts in (("limits", res.limits), ("requests", res.requests)):
        for rname, q in amounts.items():
            if (problem := _amount_problem(rname, q)) is not None:
                bad.add((which, rname))
                kind, shown, detail = problem
                where = resource_path(f"{p}.{which}", rname)
                errs.append(fe.plain(where, detail) if kind == "plain" else fe.invalid(where, shown, detail))
    if not res.requests:
        return
    limits = res.limits
    for rname, q in res.requests.items():
        if ("requests", rname) in bad:
            continue
        lim = limits.get(rname)
        if lim is None:
            if not _is_standard(rname):
                errs.append(fe.required(f"{p}.limits", "Limit must be set for non overcommitable resources"))
        elif ("limits", rname) not in bad and (detail := _request_problem(rname, q, lim)):
            errs.append(fe.invalid(resource_path(f"{p}.requests", rname), q, detail))


def _port_ref(port: int | str, where: str, errs: list[StatusCause]) -> None:
    if isinstance(port, int):
        if not 1 <= port <= 65535:
            errs.append(fe.invalid(where, port, _PORT_RANGE))
    elif msg := port_name_error(port):
        errs.append(fe.invalid(where, port, msg))


def _probe(probe: Probe, p: str, errs: list[StatusCause], *, liveness_like: bool) -> None:
    handlers = sum(h is not None for h in (probe.exec, probe.http_get, probe.tcp_socket, probe.grpc))
    if handlers == 0:
        errs.append(fe.required(p, "must specify a handler type"))
    elif handlers > 1:
        errs.append(fe.forbidden(p, "may not specify more than 1 handler type"))
    if probe.exec is not None and not probe.exec.command:
        errs.append(fe.required(f"{p}.exec.command"))
    if probe.http_get is not None:
        _port_ref(probe.http_get.port, f"{p}.httpGet.port", errs)
        if probe.http_get.scheme and probe.http_get.scheme not in ("HTTP", "HTTPS"):
            errs.append(fe.not_supported(f"{p}.httpGet.scheme", probe.http_get.scheme, ("HTTP", "HTTPS")))
    if probe.tcp_socket is not None:
        _port_ref(probe.tcp_socket.port, f"{p}.tcpSocket.port", errs)
    for wire, value in (("initialDelaySeconds", probe.initial_delay_seconds), ("periodSeconds", probe.period_seconds),
                        ("timeoutSeconds", probe.timeout_seconds), ("successThreshold", probe.success_threshold),
                        ("failureThreshold", probe.failure_threshold),
                        ("terminationGracePeriodSeconds", probe.termination_grace_period_seconds)):
        if value is not None and value < 0:
            errs.append(fe.invalid(f"{p}.{wire}", value, _NONNEG))
    if liveness_like and probe.success_threshold not in (None, 1):
        errs.append(fe.invalid(f"{p}.successThreshold", probe.success_threshold, "must be 1"))
