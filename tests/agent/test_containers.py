"""Pod -> ContainerSpec translation and the container environment (pure, no I/O)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from orchestrator.agent.containers import ContainerConfigError, container_spec, expand, gpus_by_container
from orchestrator.agent.containers_env import EnvSources, container_env, referenced
from orchestrator.model import codec
from orchestrator.model.pods import Pod


def make_pod(*containers: dict[str, Any], annotations: dict[str, str] | None = None,
             labels: dict[str, str] | None = None) -> Pod:
    return codec.convert({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "web-0", "namespace": "shop", "uid": "1234-abcd", "labels": labels or {"app": "web"},
                     "annotations": annotations or {}},
        "spec": {"nodeName": "node-a", "serviceAccountName": "builder",
                 "containers": list(containers) or [{"name": "main", "image": "busybox:1.36"}]},
    }, Pod)


@pytest.mark.parametrize(("text", "expected"), [
    ("$(A)", "a"),
    ("x-$(A)-$(B)", "x-a-b b"),
    ("$$(A)", "$(A)"),          # escaped
    ("$(MISSING)", "$(MISSING)"),  # unknown: left as written
    ("$(A", "$(A"),             # unterminated
    ("$A", "$A"),               # not a reference
    ("100$", "100$"),
    ("$$$(A)", "$a"),
    ("", ""),
])
def test_expand(text: str, expected: str) -> None:
    assert expand(text, {"A": "a", "B": "b b"}) == expected


def test_spec_carries_command_args_env_ports_limits_and_labels() -> None:
    pod = make_pod({
        "name": "main", "image": "busybox:1.36", "command": ["sh", "-c"], "args": ["echo $(GREETING) $$(HOME)"],
        "workingDir": "/srv", "env": [{"name": "GREETING", "value": "hi"}],
        "ports": [{"containerPort": 8080, "hostPort": 18080, "hostIP": "127.0.0.1"}, {"containerPort": 53,
                                                                                     "protocol": "UDP"}],
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
    })
    c = pod.spec.containers[0]
    env = container_env(pod, c, sources=EnvSources())
    spec = container_spec(pod, c, env=env, restart_count=3)
    assert spec.command == ["sh", "-c"] and spec.args == ["echo hi $(HOME)"]
    assert spec.env == {"GREETING": "hi"} and spec.working_dir == "/srv"
    assert [(p.container_port, p.host_port, p.protocol, p.host_ip) for p in spec.ports] == [
        (8080, 18080, "TCP", "127.0.0.1"), (53, None, "UDP", "")]
    assert spec.cpu_millis == 500 and spec.memory_bytes == 256 * 2**20
    assert spec.pod_uid == "1234-abcd" and spec.pod_name == "web-0" and spec.namespace == "shop"
    assert spec.container_name == "main" and spec.restart_count == 3
    assert spec.labels == {"app": "web", "orch.io/node": "node-a"} and spec.gpu_device_ids == []
    assert spec.image_pull_policy == "IfNotPresent"  # a tagged image


def test_pull_policy_defaults_like_kubernetes() -> None:
    pod = make_pod({"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox:latest"},
                   {"name": "c", "image": "busybox:1", "imagePullPolicy": "Never"})
    policies = [container_spec(pod, c, env={}, restart_count=0).image_pull_policy for c in pod.spec.containers]
    assert policies == ["Always", "Always", "Never"]


def test_gpus_are_split_over_the_containers_that_ask() -> None:
    pod = make_pod({"name": "a", "image": "x", "resources": {"limits": {"nvidia.com/gpu": 1}}},
                   {"name": "b", "image": "x"},
                   {"name": "c", "image": "x", "resources": {"limits": {"nvidia.com/gpu": "2"}}},
                   annotations={"orch.io/gpu-devices": "GPU-1, GPU-2,GPU-3"})
    assert gpus_by_container(pod) == {"a": ["GPU-1"], "c": ["GPU-2", "GPU-3"]}
    specs = {c.name: container_spec(pod, c, env={}, restart_count=0) for c in pod.spec.containers}
    assert specs["c"].gpu_device_ids == ["GPU-2", "GPU-3"] and specs["b"].gpu_device_ids == []


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_env_from_value_from_and_order() -> None:
    pod = make_pod({
        "name": "main", "image": "x",
        "envFrom": [{"configMapRef": {"name": "cfg"}}, {"secretRef": {"name": "sec"}, "prefix": "S_"}],
        "env": [
            {"name": "MODE", "value": "override-$(MODE)"},  # refers to the envFrom value
            {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "level"}}},
            {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
            {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
            {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "HOST", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
            {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
            {"name": "SA", "valueFrom": {"fieldRef": {"fieldPath": "spec.serviceAccountName"}}},
            {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}},
            {"name": "CPU", "valueFrom": {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1m"}}},
            {"name": "OPT", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": True}}},
        ],
        "resources": {"limits": {"cpu": "250m", "memory": "64Mi"}},
    })
    sources = EnvSources(config_maps={"cfg": {"MODE": "fast", "level": "debug", "bad-name!": "skipped"}},
                         secrets={"sec": {"password": "hunter2"}}, pod_ip="10.1.2.3", host_ip="192.168.0.9")
    env = container_env(pod, pod.spec.containers[0], sources=sources)
    assert env == {"MODE": "override-fast", "level": "debug", "S_password": "hunter2", "LEVEL": "debug",
                   "PASSWORD": "hunter2", "POD": "web-0", "NS": "shop", "NODE": "node-a", "IP": "10.1.2.3",
                   "HOST": "192.168.0.9", "APP": "web", "SA": "builder", "MEM": "64", "CPU": "250"}
    assert list(env)[:3] == ["MODE", "level", "S_password"]
    assert referenced(pod) == ({"cfg", "nope"}, {"sec"})


@pytest.mark.parametrize(("env", "message"), [
    ([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "missing", "key": "k"}}}], 'configmap "missing" not found'),
    ([{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "nokey"}}}],
     "couldn't find key nokey in ConfigMap shop/cfg"),
    ([{"name": "X", "valueFrom": {"secretKeyRef": {"name": "gone", "key": "k"}}}], 'secret "gone" not found'),
    ([{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "status.phase"}}}], "unsupported fieldRef"),
])
def test_missing_references_are_config_errors(env: list[dict[str, Any]], message: str) -> None:
    pod = make_pod({"name": "main", "image": "x", "env": env})
    with pytest.raises(ContainerConfigError) as info:
        container_env(pod, pod.spec.containers[0], sources=EnvSources(config_maps={"cfg": {"a": "b"}}))
    assert message in info.value.message and info.value.reason == "CreateContainerConfigError"


def test_optional_env_from_and_missing_env_from() -> None:
    pod = make_pod({"name": "main", "image": "x", "envFrom": [{"configMapRef": {"name": "gone", "optional": True}}]})
    assert container_env(pod, pod.spec.containers[0], sources=EnvSources()) == {}
    pod = make_pod({"name": "main", "image": "x", "envFrom": [{"secretRef": {"name": "gone"}}]})
    with pytest.raises(ContainerConfigError, match='secret "gone" not found'):
        container_env(pod, pod.spec.containers[0], sources=EnvSources())


async def test_fetch_sources_decodes_secrets_and_marks_missing() -> None:
    from orchestrator.agent.containers_env import fetch_sources
    from orchestrator.model.config import ConfigMap, Secret
    from orchestrator.model.errors import NotFound

    class FakeAPI:
        async def get(self, kind: str, name: str, *, namespace: str = "") -> Any:
            assert namespace == "shop"
            if kind == "ConfigMap" and name == "cfg":
                return ConfigMap(data={"a": "1"}, binary_data={"b": _b64("2")})
            if kind == "Secret" and name == "sec":
                return Secret(data={"password": _b64("hunter2")})
            raise NotFound(f"{kind} {name} not found")

    pod = make_pod({"name": "main", "image": "x", "envFrom": [{"configMapRef": {"name": "cfg"}},
                                                               {"configMapRef": {"name": "gone", "optional": True}},
                                                               {"secretRef": {"name": "sec"}}]})
    sources = await fetch_sources(FakeAPI(), pod, pod_ip="", host_ip="h", timeout=1.0)  # type: ignore[arg-type]
    assert sources.config_maps == {"cfg": {"a": "1", "b": "2"}, "gone": None}
    assert sources.secrets == {"sec": {"password": "hunter2"}}
    assert container_env(pod, pod.spec.containers[0], sources=sources) == {"a": "1", "b": "2", "password": "hunter2"}
