"""validate(): field paths and Kubernetes' messages, kind by kind."""

from __future__ import annotations

import json
import timeit
from typing import Any

import pytest

from orchestrator.model import codec
from orchestrator.model.defaults import apply_defaults
from orchestrator.model.errors import Invalid
from orchestrator.model.pods import Pod
from orchestrator.model.validation import check, validate

from tests.model.factories import POD, container, decode, make_deployment, make_job, make_pod, merged


def causes(kind: str, obj: Any) -> dict[str, str]:
    return {c.field: c.message for c in validate(kind, obj)}


def test_valid_objects_have_no_causes() -> None:
    assert validate("Pod", make_pod()) == []
    assert validate("Deployment", make_deployment()) == []
    job = make_job()
    job.metadata.uid = "u1"
    apply_defaults("Job", job)
    assert validate("Job", job) == []


# --- metadata --------------------------------------------------------------------------------

def test_name_or_generate_name_required() -> None:
    pod = make_pod(metadata={"name": ""})
    assert causes("Pod", pod) == {"metadata.name": "Required value: name or generateName is required"}
    pod.metadata.generate_name = "web-"
    assert validate("Pod", pod) == []


def test_names_by_kind() -> None:
    bad = make_pod(metadata={"name": "Web_0"})
    msg = causes("Pod", bad)["metadata.name"]
    assert msg.startswith('Invalid value: "Web_0": a lowercase RFC 1123 subdomain must consist of')
    assert validate("Pod", make_pod(metadata={"name": "web.example"})) == []
    ns = decode({"kind": "Namespace", "metadata": {"name": "a.b"}})
    assert causes("Namespace", ns)["metadata.name"].startswith('Invalid value: "a.b": a lowercase RFC 1123 label')
    node = decode({"kind": "Node", "metadata": {"name": "n1", "namespace": "default"}})
    assert causes("Node", node) == {"metadata.namespace": "Forbidden: not allowed on this type"}


def test_labels_and_annotations() -> None:
    pod = make_pod(metadata={"labels": {"bad key": "v", "ok": "-bad"}, "annotations": {"Bad/Prefix/x": "1"}})
    got = [(c.field, c.message.split(":")[0] + ":" + c.message.split(":")[1]) for c in validate("Pod", pod)]
    assert got == [("metadata.labels", 'Invalid value: "bad key"'), ("metadata.labels", 'Invalid value: "-bad"'),
                   ("metadata.annotations", 'Invalid value: "Bad/Prefix/x"')]


def test_owner_references_and_finalizers() -> None:
    pod = make_pod(metadata={"ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "a", "uid": "", "controller": True},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "2", "controller": True}],
        "finalizers": ["example.com/keep", "foregroundDeletion", "mine"]})
    got = causes("Pod", pod)
    assert got["metadata.ownerReferences[0].uid"] == "Required value"
    assert "Only one reference can have Controller set to true" in got["metadata.ownerReferences"]
    assert "neither a standard finalizer name nor is it fully qualified" in got["metadata.finalizers[2]"]


# --- pods ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "field", "message"), [
    ({"containers": []}, "spec.containers", "Required value"),
    ({"containers": [container(image="")]}, "spec.containers[0].image", "Required value"),
    ({"containers": [container(name="")]}, "spec.containers[0].name", "Required value"),
    ({"containers": [container(), container()]}, "spec.containers[1].name", 'Duplicate value: "c"'),
    ({"containers": [container(name="C")]}, "spec.containers[0].name", 'Invalid value: "C": a lowercase RFC 1123 label'),
    ({"containers": [container(resources={"limits": {"cpu": "abc"}})]},
     "spec.containers[0].resources.limits.cpu", 'invalid quantity "abc"'),
    ({"containers": [container(resources={"requests": {"memory": "-1Gi"}})]},
     "spec.containers[0].resources.requests.memory", 'Invalid value: "-1Gi": must be greater than or equal to 0'),
    ({"containers": [container(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}})]},
     "spec.containers[0].resources.requests.cpu", 'Invalid value: "2": must be less than or equal to cpu limit of 1'),
    ({"containers": [container(resources={"limits": {"nvidia.com/gpu": "0.5"}})]},
     "spec.containers[0].resources.limits[nvidia.com/gpu]", 'Invalid value: "0.5": must be an integer'),
    ({"containers": [container(resources={"requests": {"nvidia.com/gpu": "1"}})]},
     "spec.containers[0].resources.limits", "Required value: Limit must be set for non overcommitable resources"),
    ({"containers": [container(resources={"requests": {"nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "2"}})]},
     "spec.containers[0].resources.requests[nvidia.com/gpu]", "must be equal to nvidia.com/gpu limit of 2"),
    ({"containers": [container(resources={"limits": {"cpus": "1"}})]},
     "spec.containers[0].resources.limits.cpus", "must be a standard resource type or fully qualified"),
    ({"containers": [container(ports=[{"containerPort": 0}])]},
     "spec.containers[0].ports[0].containerPort", "Invalid value: 0: must be between 1 and 65535, inclusive"),
    ({"containers": [container(ports=[{"containerPort": 80, "hostPort": 70000}])]},
     "spec.containers[0].ports[0].hostPort", "Invalid value: 70000: must be between 1 and 65535, inclusive"),
    ({"containers": [container(ports=[{"containerPort": 80, "protocol": "ICMP"}])]},
     "spec.containers[0].ports[0].protocol", 'Unsupported value: "ICMP": supported values: "TCP", "UDP", "SCTP"'),
    ({"containers": [container(ports=[{"containerPort": 80, "name": "HTTP"}])]},
     "spec.containers[0].ports[0].name", 'Invalid value: "HTTP": must contain only alpha-numeric characters'),
    ({"containers": [container(ports=[{"containerPort": 80, "hostPort": 80}]),
                     container(name="d", ports=[{"containerPort": 81, "hostPort": 80}])]},
     "spec.containers[1].ports[0].hostPort", 'Duplicate value: "80/TCP"'),
    ({"containers": [container(imagePullPolicy="Sometimes")]},
     "spec.containers[0].imagePullPolicy", 'Unsupported value: "Sometimes"'),
    ({"containers": [container(env=[{"name": "A", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}])]},
     "spec.containers[0].env[0].valueFrom", "may not be specified when `value` is not empty"),
    ({"containers": [container(livenessProbe={"periodSeconds": 3})]},
     "spec.containers[0].livenessProbe", "Required value: must specify a handler type"),
    ({"containers": [container(livenessProbe={"exec": {"command": ["x"]}, "tcpSocket": {"port": 1}})]},
     "spec.containers[0].livenessProbe", "Forbidden: may not specify more than 1 handler type"),
    ({"containers": [container(readinessProbe={"httpGet": {"port": 0}})]},
     "spec.containers[0].readinessProbe.httpGet.port", "must be between 1 and 65535"),
    ({"containers": [container(livenessProbe={"tcpSocket": {"port": 80}, "successThreshold": 2})]},
     "spec.containers[0].livenessProbe.successThreshold", "Invalid value: 2: must be 1"),
    ({"containers": [container(volumeMounts=[{"name": "data", "mountPath": "/d"}])]},
     "spec.containers[0].volumeMounts[0].name", 'Not found: "data"'),
    ({"containers": [container()], "initContainers": [container()]}, "spec.initContainers[0].name", 'Duplicate value: "c"'),
    ({"containers": [container()], "restartPolicy": "Sometimes"},
     "spec.restartPolicy", 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'),
    ({"containers": [container()], "dnsPolicy": "Cluster"}, "spec.dnsPolicy", 'Unsupported value: "Cluster"'),
    ({"containers": [container()], "terminationGracePeriodSeconds": -1},
     "spec.terminationGracePeriodSeconds", "must be greater than or equal to 0"),
    ({"containers": [container()], "activeDeadlineSeconds": 0}, "spec.activeDeadlineSeconds", "must be between 1"),
    ({"containers": [container()], "nodeSelector": {"disk": "fast ssd"}}, "spec.nodeSelector", 'Invalid value: "fast ssd"'),
    ({"containers": [container()], "tolerations": [{"key": "k", "operator": "Maybe"}]},
     "spec.tolerations[0].operator", 'Unsupported value: "Maybe": supported values: "Equal", "Exists"'),
    ({"containers": [container()], "tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]},
     "spec.tolerations[0].operator", "value must be empty when `operator` is 'Exists'"),
    ({"containers": [container()], "tolerations": [{"operator": "Equal", "value": "v"}]},
     "spec.tolerations[0].operator", "operator must be Exists when `key` is empty"),
    ({"containers": [container()], "tolerations": [{"key": "k", "effect": "NoRun"}]},
     "spec.tolerations[0].effect", 'Unsupported value: "NoRun": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'),
    ({"containers": [container()], "tolerations": [{"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5}]},
     "spec.tolerations[0].effect", "effect must be 'NoExecute' when `tolerationSeconds` is set"),
    ({"containers": [container()], "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "a", "operator": "In"}]}]}}}},
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
     ".matchExpressions[0].values", "Required value"),
    ({"containers": [container()], "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 0, "preference": {}}]}}},
     "spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight", "must be in the range 1-100"),
])
def test_pod_spec_causes(spec: dict[str, Any], field: str, message: str) -> None:
    pod = decode(merged(POD, {"spec": spec}))
    got = causes("Pod", pod)
    assert field in got, got
    assert message in got[field]


def test_sidecar_init_containers_may_have_probes() -> None:
    pod = make_pod(spec={"initContainers": [container(name="proxy", restartPolicy="Always",
                                                      readinessProbe={"tcpSocket": {"port": 1}})]})
    assert validate("Pod", pod) == []
    plain = make_pod(spec={"initContainers": [container(name="init", readinessProbe={"tcpSocket": {"port": 1}})]})
    assert "may not be set for init containers" in causes("Pod", plain)["spec.initContainers[0].readinessProbe"]


def test_check_raises_invalid_with_kubernetes_text() -> None:
    pod = make_pod(spec={"containers": [container(image="")]})
    with pytest.raises(Invalid) as info:
        check("Pod", pod)
    assert info.value.message == 'Pod "web-0" is invalid: spec.containers[0].image: Required value'
    assert info.value.code == 422 and info.value.causes[0].reason == "FieldValueRequired"
    pod.spec.containers[0].name = ""
    with pytest.raises(Invalid, match=r'is invalid: \[spec\.containers\[0\]\.name: Required value, '):
        check("Pod", pod)


# --- workloads -------------------------------------------------------------------------------

def test_deployment_selector_must_match_template() -> None:
    d = make_deployment(spec={"template": {"metadata": {"labels": {"app": "api"}}}})
    got = causes("Deployment", d)
    assert got == {"spec.template.metadata.labels":
                   'Invalid value: {"app":"api"}: selector does not match template labels'}


@pytest.mark.parametrize(("spec", "field", "message"), [
    ({"replicas": -1}, "spec.replicas", "Invalid value: -1: must be greater than or equal to 0"),
    ({"selector": None}, "spec.selector", "Required value"),
    ({"selector": {}}, "spec.selector", "empty selector is invalid for deployment"),
    ({"selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
     "spec.selector.matchExpressions[0].values", "Required value"),
    ({"template": {"spec": {"containers": []}}}, "spec.template.spec.containers", "Required value"),
    ({"template": {"spec": {"containers": [{"name": "web"}]}}}, "spec.template.spec.containers[0].image", "Required value"),
    ({"template": {"spec": {"restartPolicy": "Never"}}}, "spec.template.spec.restartPolicy",
     'Unsupported value: "Never": supported values: "Always"'),
    ({"strategy": {"type": "Rolling"}}, "spec.strategy.type", 'Unsupported value: "Rolling"'),
    ({"strategy": {"type": "Recreate", "rollingUpdate": {}}}, "spec.strategy.rollingUpdate",
     "may not be specified when strategy `type` is 'Recreate'"),
    ({"strategy": {"rollingUpdate": {"maxSurge": "ten"}}}, "spec.strategy.rollingUpdate.maxSurge",
     "a valid percent string must be a numeric string followed by an ending '%'"),
    ({"strategy": {"rollingUpdate": {"maxUnavailable": "150%"}}}, "spec.strategy.rollingUpdate.maxUnavailable",
     "must not be greater than 100%"),
    ({"strategy": {"rollingUpdate": {"maxUnavailable": -1}}}, "spec.strategy.rollingUpdate.maxUnavailable",
     "must be greater than or equal to 0"),
    ({"strategy": {"rollingUpdate": {"maxUnavailable": 0, "maxSurge": "0%"}}},
     "spec.strategy.rollingUpdate.maxUnavailable", "may not be 0 when `maxSurge` is 0"),
    ({"progressDeadlineSeconds": 5, "minReadySeconds": 10}, "spec.progressDeadlineSeconds",
     "must be greater than minReadySeconds"),
    ({"revisionHistoryLimit": -2}, "spec.revisionHistoryLimit", "must be greater than or equal to 0"),
])
def test_deployment_causes(spec: dict[str, Any], field: str, message: str) -> None:
    got = causes("Deployment", make_deployment(spec=spec))
    assert field in got, got
    assert message in got[field]


def test_rolling_update_accepts_ints_and_percentages() -> None:
    d = make_deployment(spec={"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 2, "maxUnavailable": "10%"}}})
    assert validate("Deployment", d) == []


def test_replicaset_and_daemonset() -> None:
    rs = decode({"kind": "ReplicaSet", "metadata": {"name": "r", "namespace": "d"},
                 "spec": {"replicas": -3, "selector": {"matchLabels": {"a": "b"}},
                          "template": {"metadata": {"labels": {"a": "c"}}, "spec": {"containers": [container()]}}}})
    got = causes("ReplicaSet", rs)
    assert set(got) == {"spec.replicas", "spec.template.metadata.labels"}
    ds = decode({"kind": "DaemonSet", "metadata": {"name": "d", "namespace": "d"},
                 "spec": {"updateStrategy": {"type": "OnDelete", "rollingUpdate": {"maxUnavailable": 1}},
                          "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [container()]}}}})
    got = causes("DaemonSet", ds)
    assert got["spec.selector"] == "Required value"
    assert "may not be specified when strategy `type` is 'OnDelete'" in got["spec.updateStrategy.rollingUpdate"]


@pytest.mark.parametrize(("spec", "field", "message"), [
    ({"template": {"spec": {"restartPolicy": "Always"}}}, "spec.template.spec.restartPolicy",
     'Unsupported value: "Always": supported values: "OnFailure", "Never"'),
    ({"template": {"spec": {"restartPolicy": ""}}}, "spec.template.spec.restartPolicy",
     'Required value: valid values: "OnFailure", "Never"'),
    ({"parallelism": -1}, "spec.parallelism", "must be greater than or equal to 0"),
    ({"backoffLimit": -1}, "spec.backoffLimit", "must be greater than or equal to 0"),
    ({"activeDeadlineSeconds": 0}, "spec.activeDeadlineSeconds", "must be greater than 0"),
    ({"completionMode": "Indexed"}, "spec.completions", "Required value: when completion mode is Indexed"),
    ({"completionMode": "Sparse"}, "spec.completionMode", 'Unsupported value: "Sparse"'),
    ({"manualSelector": True}, "spec.selector", "Required value"),
    ({"selector": {"matchLabels": {"job": "x"}}}, "spec.template.metadata.labels", "selector does not match template labels"),
])
def test_job_causes(spec: dict[str, Any], field: str, message: str) -> None:
    got = causes("Job", make_job(spec=spec))
    assert field in got, got
    assert message in got[field]


def test_job_without_selector_is_fine_before_defaulting() -> None:
    assert validate("Job", make_job()) == []


# --- other kinds -----------------------------------------------------------------------------

def test_node_taints_and_capacity() -> None:
    node = decode({"kind": "Node", "metadata": {"name": "n1"},
                   "spec": {"taints": [{"key": "gpu", "effect": "NoRun"}, {"key": "", "effect": "NoSchedule"},
                                       {"key": "a", "effect": "NoSchedule"}, {"key": "a", "effect": "NoSchedule"}]},
                   "status": {"capacity": {"cpu": "lots"}, "gpus": [{"index": 0, "uuid": "G0"}, {"index": 0, "uuid": ""}]}})
    got = causes("Node", node)
    assert got["spec.taints[0].effect"].startswith('Unsupported value: "NoRun": supported values: "NoSchedule"')
    assert got["spec.taints[1].key"] == "Required value"
    assert got["spec.taints[3]"] == 'Duplicate value: "a:NoSchedule"'
    assert got["status.capacity.cpu"].startswith('invalid quantity "lots"')
    assert got["status.gpus[1].uuid"] == "Required value"
    assert got["status.gpus[1].index"] == "Duplicate value: 0"


def test_config_and_secret() -> None:
    cm = decode({"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "d"},
                 "data": {"a/b": "x", "k": "1"}, "binaryData": {"k": "!!"}})
    got = causes("ConfigMap", cm)
    assert got["data"].startswith('Invalid value: "')
    assert got["binaryData[k]"] == 'Invalid value: "!!": illegal base64 data'
    secret = decode({"kind": "Secret", "metadata": {"name": "s", "namespace": "d"}, "data": {"pw": "not base64!"}})
    assert causes("Secret", secret) == {"data[pw]": 'Invalid value: "<secret contents redacted>": illegal base64 data'}


def test_event_and_lease() -> None:
    ev = decode({"kind": "Event", "metadata": {"name": "e", "namespace": "a"}, "type": "Info",
                 "involvedObject": {"kind": "Pod", "name": "p", "namespace": "b"}})
    got = causes("Event", ev)
    assert got["type"] == 'Unsupported value: "Info": supported values: "Normal", "Warning"'
    assert "does not match event.namespace" in got["involvedObject.namespace"]
    lease = decode({"kind": "Lease", "metadata": {"name": "n", "namespace": "kube-node-lease"},
                    "spec": {"leaseDurationSeconds": 0}})
    assert causes("Lease", lease) == {"spec.leaseDurationSeconds": "Invalid value: 0: must be greater than 0"}


# --- the hot path ------------------------------------------------------------------------------

def test_decode_and_validate_a_typical_pod_is_fast() -> None:
    """The budget is 20 µs; the loose bound here only catches gross regressions on slow CI."""
    raw = json.dumps(merged(POD, {"spec": {"containers": [container(
        name="web", ports=[{"containerPort": 80, "name": "http"}], env=[{"name": "MODE", "value": "prod"}],
        resources={"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
        readinessProbe={"httpGet": {"path": "/healthz", "port": 80}})]}})).encode()

    def once() -> None:
        validate("Pod", codec.decode(raw, Pod))

    once()
    per_call = min(timeit.repeat(once, number=2000, repeat=3)) / 2000
    assert per_call < 200e-6
