"""A container's environment: ``envFrom``, then ``env`` (valueFrom included), as the kubelet.

``EnvSources`` holds what the pod refers to, fetched once per attempt by
``fetch_sources`` (the only I/O here); ``container_env`` is a pure function of it:

- ``envFrom`` sources in order (``prefix`` + key; keys that are not valid variable
  names are skipped), then ``env`` entries in order, later names winning;
- a ``value`` is ``$(VAR)``-expanded against the variables defined before it;
- ``valueFrom``: ``configMapKeyRef``, ``secretKeyRef`` (base64 data), ``fieldRef``
  (metadata.name/namespace/uid, labels/annotations by key, spec.nodeName,
  spec.serviceAccountName, status.podIP/hostIP) and ``resourceFieldRef`` (limits /
  requests of cpu and memory with a divisor);
- a missing ConfigMap/Secret or key that is not ``optional`` raises
  ``ContainerConfigError`` (the pod waits in CreateContainerConfigError).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.agent.containers import ContainerConfigError, expand
from orchestrator.model.api import ObjectAPI
from orchestrator.model.containers import Container, EnvVarSource, ResourceFieldSelector
from orchestrator.model.errors import ApiError, NotFound
from orchestrator.model.pods import Pod
from orchestrator.model.quantities import parse_quantity

_ENV_NAME = re.compile(r"[-._a-zA-Z][-._a-zA-Z0-9]*")
_FIELD_KEYED = re.compile(r"metadata\.(labels|annotations)\['([^']*)'\]")


@dataclass(slots=True, kw_only=True)
class EnvSources:
    """What a pod's environment refers to. A name mapped to None is known missing."""

    config_maps: Mapping[str, Mapping[str, str] | None] = field(default_factory=dict)
    secrets: Mapping[str, Mapping[str, str] | None] = field(default_factory=dict)  # decoded text
    pod_ip: str = ""
    host_ip: str = ""


def referenced(pod: Pod) -> tuple[set[str], set[str]]:
    """(ConfigMap names, Secret names) the pod's containers refer to."""
    maps: set[str] = set()
    secrets: set[str] = set()
    for c in (*pod.spec.init_containers, *pod.spec.containers):
        for src in c.env_from:
            if src.config_map_ref is not None:
                maps.add(src.config_map_ref.name)
            if src.secret_ref is not None:
                secrets.add(src.secret_ref.name)
        for var in c.env:
            vf = var.value_from
            if vf is not None and vf.config_map_key_ref is not None:
                maps.add(vf.config_map_key_ref.name)
            if vf is not None and vf.secret_key_ref is not None:
                secrets.add(vf.secret_key_ref.name)
    return maps, secrets


async def fetch_sources(
    api: ObjectAPI, pod: Pod, *, pod_ip: str, host_ip: str, timeout: float
) -> EnvSources:
    """Read the ConfigMaps and Secrets the pod names (missing ones map to None)."""
    maps, secrets = referenced(pod)
    ns = pod.metadata.namespace or "default"
    if not maps and not secrets:
        return EnvSources(pod_ip=pod_ip, host_ip=host_ip)

    async def one(kind: str, name: str) -> Mapping[str, str] | None:
        try:
            async with asyncio.timeout(timeout):
                obj = await api.get(kind, name, namespace=ns)
        except NotFound:
            return None
        except ApiError as exc:  # e.g. Forbidden: the node may not read it
            raise ContainerConfigError(f'cannot read {kind.lower()} "{name}": {exc.message}') from None
        if kind == "Secret":
            return _decoded(obj.data, what=f'secret "{name}"')
        return {**_decoded(obj.binary_data, what=f'configmap "{name}"'), **obj.data}

    found_maps = await asyncio.gather(*(one("ConfigMap", n) for n in sorted(maps)))
    found_secrets = await asyncio.gather(*(one("Secret", n) for n in sorted(secrets)))
    return EnvSources(config_maps=dict(zip(sorted(maps), found_maps, strict=True)),
                      secrets=dict(zip(sorted(secrets), found_secrets, strict=True)),
                      pod_ip=pod_ip, host_ip=host_ip)  # fmt: skip


def _decoded(data: Mapping[str, str], *, what: str) -> dict[str, str]:
    out = {}
    for key, value in data.items():
        try:
            out[key] = base64.b64decode(value, validate=True).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            raise ContainerConfigError(f'{what} key "{key}" is not valid base64') from None
    return out


def container_env(pod: Pod, container: Container, *, sources: EnvSources) -> dict[str, str]:
    env: dict[str, str] = {}
    ns = pod.metadata.namespace or "default"
    for src in container.env_from:
        if src.config_map_ref is not None:
            ref, kind, table = src.config_map_ref, "configmap", sources.config_maps
        elif src.secret_ref is not None:
            ref, kind, table = src.secret_ref, "secret", sources.secrets
        else:
            continue
        data = table.get(ref.name)
        if data is None:
            if ref.optional:
                continue
            raise ContainerConfigError(f'{kind} "{ref.name}" not found')
        for key, value in data.items():
            name = src.prefix + key
            if _ENV_NAME.fullmatch(name):
                env[name] = value
    for var in container.env:
        if var.value_from is None:
            env[var.name] = expand(var.value or "", env)
            continue
        value = _value_from(pod, container, var.value_from, sources=sources, namespace=ns)
        if value is not None:
            env[var.name] = value
    return env


def _value_from(pod: Pod, container: Container, vf: EnvVarSource, *, sources: EnvSources,
                namespace: str) -> str | None:
    if vf.config_map_key_ref is not None or vf.secret_key_ref is not None:
        is_map = vf.config_map_key_ref is not None
        ref = vf.config_map_key_ref if is_map else vf.secret_key_ref
        assert ref is not None
        kind = "ConfigMap" if is_map else "Secret"
        data = (sources.config_maps if is_map else sources.secrets).get(ref.name)
        if data is None:
            if ref.optional:
                return None
            raise ContainerConfigError(f'{kind.lower()} "{ref.name}" not found')
        if ref.key not in data:
            if ref.optional:
                return None
            raise ContainerConfigError(f"couldn't find key {ref.key} in {kind} {namespace}/{ref.name}")
        return data[ref.key]
    if vf.field_ref is not None:
        return field_value(pod, vf.field_ref.field_path, sources=sources)
    if vf.resource_field_ref is not None:
        return resource_value(pod, container, vf.resource_field_ref)
    return None


def field_value(pod: Pod, path: str, *, sources: EnvSources) -> str:
    meta = pod.metadata
    simple: dict[str, Any] = {
        "metadata.name": meta.name, "metadata.namespace": meta.namespace or "default",
        "metadata.uid": meta.uid, "spec.nodeName": pod.spec.node_name,
        "spec.serviceAccountName": pod.spec.service_account_name or pod.spec.service_account,
        "status.podIP": sources.pod_ip, "status.podIPs": sources.pod_ip,
        "status.hostIP": sources.host_ip, "status.hostIPs": sources.host_ip,
    }  # fmt: skip
    if path in simple:
        return str(simple[path])
    m = _FIELD_KEYED.fullmatch(path)
    if m is not None:
        table = meta.labels if m.group(1) == "labels" else meta.annotations
        return table.get(m.group(2), "")
    raise ContainerConfigError(f"unsupported fieldRef fieldPath {path!r}")


def resource_value(pod: Pod, container: Container, ref: ResourceFieldSelector) -> str:
    target = container
    if ref.container_name:
        named = [c for c in pod.spec.containers if c.name == ref.container_name]
        if not named:
            raise ContainerConfigError(f"resourceFieldRef: no container named {ref.container_name!r}")
        target = named[0]
    where, _, resource = ref.resource.partition(".")
    res = target.resources
    amounts = (res.limits if where == "limits" else res.requests) if res is not None else {}
    if resource not in ("cpu", "memory", "ephemeral-storage") or where not in ("limits", "requests"):
        raise ContainerConfigError(f"resourceFieldRef: unsupported resource {ref.resource!r}")
    q = amounts.get(resource)
    if q is None:
        return "0" if where == "requests" else ""
    divisor = parse_quantity(ref.divisor) if ref.divisor else parse_quantity("1")
    return str(math.ceil(parse_quantity(q) / divisor))
