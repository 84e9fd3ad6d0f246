"""apply_defaults(): Kubernetes' defaults, idempotent, and GPU admission."""

from __future__ import annotations

import base64

import msgspec
import pytest

from orchestrator.model import codec
from orchestrator.model.defaults import apply_defaults, image_pull_policy, wants_gpu
from orchestrator.model.gpus import GPU_RESOURCE, GPU_TAINT_KEY
from orchestrator.model.pods import Toleration
from orchestrator.model.validation import validate

from tests.model.factories import container, decode, make_deployment, make_job, make_pod

GPU_TOLERATION = Toleration(key=GPU_TAINT_KEY, operator="Exists", effect="NoSchedule")


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.25", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("localhost:5000/app:v1", "IfNotPresent"),
    ("registry.example.com/team/app:latest", "Always"), ("nginx@sha256:abc", "IfNotPresent"),
])
def test_image_pull_policy(image: str, policy: str) -> None:
    assert image_pull_policy(image) == policy


def test_pod_defaults() -> None:
    pod = make_pod(spec={"containers": [container(
        image="nginx", ports=[{"containerPort": 80}],
        livenessProbe={"httpGet": {"port": 80}}, readinessProbe={"tcpSocket": {"port": 80}, "periodSeconds": 3},
        resources={"limits": {"cpu": "1", "memory": "1Gi"}})]})
    apply_defaults("Pod", pod)
    spec = pod.spec
    assert (spec.restart_policy, spec.termination_grace_period_seconds, spec.dns_policy, spec.scheduler_name) == (
        "Always", 30, "ClusterFirst", "default-scheduler")
    c = spec.containers[0]
    assert c.image_pull_policy == "Always"
    assert c.ports[0].protocol == "TCP"
    live = c.liveness_probe
    assert live is not None and (live.period_seconds, live.timeout_seconds, live.success_threshold,
                                 live.failure_threshold) == (10, 1, 1, 3)
    assert live.http_get is not None and (live.http_get.scheme, live.http_get.path) == ("HTTP", "/")
    assert c.readiness_probe is not None and c.readiness_probe.period_seconds == 3
    assert c.resources is not None and c.resources.requests == {"cpu": "1", "memory": "1Gi"}
    assert pod.status.phase == "Pending" and pod.status.qos_class == "Guaranteed"
    assert spec.tolerations == []
    assert validate("Pod", pod) == []


def test_defaults_keep_what_is_set_and_are_idempotent() -> None:
    pod = make_pod(spec={"restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "schedulerName": "mine"})
    apply_defaults("Pod", pod)
    once = codec.encode(pod)
    apply_defaults("Pod", pod)
    assert codec.encode(pod) == once
    assert (pod.spec.restart_policy, pod.spec.termination_grace_period_seconds, pod.spec.scheduler_name) == (
        "Never", 0, "mine")


def test_deployment_defaults() -> None:
    d = make_deployment(spec={"replicas": None})
    apply_defaults("Deployment", d)
    s = d.spec
    assert s.replicas == 1 and s.revision_history_limit == 10 and s.progress_deadline_seconds == 600
    assert s.strategy is not None and s.strategy.type == "RollingUpdate"
    assert s.strategy.rolling_update is not None
    assert (s.strategy.rolling_update.max_surge, s.strategy.rolling_update.max_unavailable) == ("25%", "25%")
    assert s.template.spec.restart_policy == "Always" and s.template.spec.containers[0].image_pull_policy == "IfNotPresent"
    assert validate("Deployment", d) == []

    zero = make_deployment(spec={"replicas": 0, "strategy": {"type": "Recreate"}})
    apply_defaults("Deployment", zero)
    assert zero.spec.replicas == 0
    assert zero.spec.strategy is not None and zero.spec.strategy.rolling_update is None
    partial = make_deployment(spec={"strategy": {"rollingUpdate": {"maxSurge": 1}}})
    apply_defaults("Deployment", partial)
    ru = partial.spec.strategy.rolling_update
    assert (ru.max_surge, ru.max_unavailable) == (1, "25%")


def test_replicaset_and_daemonset_defaults() -> None:
    rs = decode({"kind": "ReplicaSet", "spec": {"template": {"spec": {"containers": [container()]}}}})
    apply_defaults("ReplicaSet", rs)
    assert rs.spec.replicas == 1 and rs.spec.template.spec.dns_policy == "ClusterFirst"
    ds = decode({"kind": "DaemonSet", "spec": {"template": {"spec": {"containers": [container()]}}}})
    apply_defaults("DaemonSet", ds)
    st = ds.spec.update_strategy
    assert st is not None and st.type == "RollingUpdate" and st.rolling_update is not None
    assert (st.rolling_update.max_unavailable, st.rolling_update.max_surge) == (1, 0)
    assert ds.spec.revision_history_limit == 10


def test_job_defaults_and_generated_selector() -> None:
    job = make_job()
    job.metadata.uid = "uid-1"
    apply_defaults("Job", job)
    s = job.spec
    assert (s.completions, s.parallelism, s.backoff_limit, s.completion_mode) == (1, 1, 6, "NonIndexed")
    assert s.selector is not None and s.selector.match_labels == {"batch.kubernetes.io/controller-uid": "uid-1"}
    assert s.template.metadata.labels["batch.kubernetes.io/job-name"] == "pi"
    assert s.template.metadata.labels["controller-uid"] == "uid-1"
    assert s.template.spec.restart_policy == "Never"
    assert validate("Job", job) == []

    work_queue = make_job(spec={"parallelism": 3})
    apply_defaults("Job", work_queue)
    assert (work_queue.spec.completions, work_queue.spec.parallelism) == (None, 3)
    assert work_queue.spec.selector is not None  # by job name when there is no uid yet
    assert validate("Job", work_queue) == []

    manual = make_job(spec={"manualSelector": True})
    apply_defaults("Job", manual)
    assert manual.spec.selector is None  # and validation says it is required


def test_job_template_restart_policy_is_not_defaulted() -> None:
    job = make_job(spec={"template": {"spec": {"restartPolicy": ""}}})
    apply_defaults("Job", job)
    assert job.spec.template.spec.restart_policy == ""


def test_namespace_and_secret_defaults() -> None:
    ns = decode({"kind": "Namespace", "metadata": {"name": "a"}})
    apply_defaults("Namespace", ns)
    assert ns.status.phase == "Active"
    secret = decode({"kind": "Secret", "metadata": {"name": "s"}, "data": {"a": "eA=="}, "stringData": {"b": "hello"}})
    apply_defaults("Secret", secret)
    assert secret.type == "Opaque" and secret.string_data == {}
    assert base64.b64decode(secret.data["b"]) == b"hello" and secret.data["a"] == "eA=="


def test_unknown_kind_is_left_alone() -> None:
    pod = make_pod()
    before = msgspec.to_builtins(pod)
    apply_defaults("Widget", pod)
    assert msgspec.to_builtins(pod) == before


# --- GPU admission -----------------------------------------------------------------------------

def test_gpu_pod_gets_the_toleration() -> None:
    pod = make_pod(spec={"containers": [container(resources={"limits": {GPU_RESOURCE: 1}})]})
    assert wants_gpu(pod.spec)
    apply_defaults("Pod", pod)
    assert pod.spec.tolerations == [GPU_TOLERATION]
    apply_defaults("Pod", pod)
    assert pod.spec.tolerations == [GPU_TOLERATION]
    assert validate("Pod", pod) == []


def test_gpu_request_in_requests_or_init_container_counts() -> None:
    pod = make_pod(spec={"initContainers": [container(name="i", resources={"requests": {GPU_RESOURCE: "1"},
                                                                          "limits": {GPU_RESOURCE: "1"}})]})
    apply_defaults("Pod", pod)
    assert GPU_TOLERATION in pod.spec.tolerations


@pytest.mark.parametrize("existing", [
    {"key": GPU_TAINT_KEY, "operator": "Exists"},
    {"key": GPU_TAINT_KEY, "operator": "Exists", "effect": "NoSchedule"},
    {"operator": "Exists"},
])
def test_already_tolerated_gpu_pod_is_left_alone(existing: dict[str, str]) -> None:
    pod = make_pod(spec={"tolerations": [existing], "containers": [container(resources={"limits": {GPU_RESOURCE: "2"}})]})
    apply_defaults("Pod", pod)
    assert len(pod.spec.tolerations) == 1


def test_equal_toleration_does_not_count_and_other_pods_get_none() -> None:
    pod = make_pod(spec={"tolerations": [{"key": GPU_TAINT_KEY, "operator": "Equal", "value": "x", "effect": "NoSchedule"}],
                         "containers": [container(resources={"limits": {GPU_RESOURCE: "1"}})]})
    apply_defaults("Pod", pod)
    assert pod.spec.tolerations[-1] == GPU_TOLERATION and len(pod.spec.tolerations) == 2
    zero = make_pod(spec={"containers": [container(resources={"limits": {GPU_RESOURCE: "0"}})]})
    apply_defaults("Pod", zero)
    assert zero.spec.tolerations == []
    junk = make_pod(spec={"containers": [container(resources={"limits": {GPU_RESOURCE: "lots"}})]})
    apply_defaults("Pod", junk)  # never raises; validation reports the quantity
    assert junk.spec.tolerations == []


def test_gpu_templates_get_the_toleration() -> None:
    d = make_deployment(spec={"template": {"spec": {"containers": [
        {"name": "nb", "image": "jupyter:1", "resources": {"limits": {GPU_RESOURCE: 1}}}]}}})
    apply_defaults("Deployment", d)
    assert d.spec.template.spec.tolerations == [GPU_TOLERATION]
    job = make_job(spec={"template": {"spec": {"containers": [
        {"name": "t", "image": "train:1", "resources": {"limits": {GPU_RESOURCE: "8"}}}]}}})
    apply_defaults("Job", job)
    assert job.spec.template.spec.tolerations == [GPU_TOLERATION]
