"""Real-looking Kubernetes manifests decode unchanged into every kind, and round-trip."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
import yaml

from orchestrator.model import codec
from orchestrator.model.apps import Scale
from orchestrator.model.errors import BadRequest, Invalid
from orchestrator.model.gpus import GPU_DEVICES_ANNOTATION, assigned_gpus
from orchestrator.model.pods import Binding, Pod
from orchestrator.model.registry import REGISTRY
from orchestrator.model.validation import validate

POD = """
apiVersion: v1
kind: Pod
metadata:
  name: api-7d4b9c-x8k2p
  namespace: shop
  labels: {app: api, app.kubernetes.io/version: "1.4.2"}
  annotations: {prometheus.io/scrape: "true"}
  ownerReferences:
    - {apiVersion: apps/v1, kind: ReplicaSet, name: api-7d4b9c, uid: 1f2e, controller: true, blockOwnerDeletion: true}
spec:
  serviceAccountName: api
  automountServiceAccountToken: false
  priorityClassName: high
  nodeSelector: {kubernetes.io/os: linux}
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeSelectorTerms:
          - matchExpressions:
              - {key: nvidia.com/gpu.product, operator: In, values: [NVIDIA-H100-80GB-HBM3]}
            matchFields:
              - {key: metadata.name, operator: NotIn, values: [node-9]}
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 50
          preference:
            matchExpressions: [{key: zone, operator: In, values: [a]}]
    podAntiAffinity:
      preferredDuringSchedulingIgnoredDuringExecution:
        - weight: 100
          podAffinityTerm:
            labelSelector: {matchLabels: {app: api}}
            topologyKey: kubernetes.io/hostname
  tolerations:
    - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 300}
    - {key: dedicated, operator: Equal, value: api, effect: NoSchedule}
  securityContext: {runAsNonRoot: true, fsGroup: 2000}
  imagePullSecrets: [{name: regcred}]
  initContainers:
    - name: migrate
      image: registry.example.com/api:1.4.2
      command: [./migrate]
      envFrom: [{configMapRef: {name: api-config}}, {secretRef: {name: api-secrets, optional: true}, prefix: S_}]
  containers:
    - name: api
      image: registry.example.com/api:1.4.2
      imagePullPolicy: IfNotPresent
      args: [--port=8080]
      workingDir: /srv
      env:
        - {name: MODE, value: prod}
        - name: DB_PASSWORD
          valueFrom: {secretKeyRef: {name: db, key: password}}
        - name: LOG_LEVEL
          valueFrom: {configMapKeyRef: {name: api-config, key: level, optional: true}}
        - name: POD_IP
          valueFrom: {fieldRef: {fieldPath: status.podIP}}
        - name: CPU_LIMIT
          valueFrom: {resourceFieldRef: {resource: limits.cpu, divisor: 1m}}
      ports:
        - {name: http, containerPort: 8080, protocol: TCP}
        - {name: metrics, containerPort: 9090, hostPort: 9090, hostIP: 0.0.0.0}
      resources:
        requests: {cpu: 250m, memory: 256Mi}
        limits: {cpu: "1", memory: 512Mi, nvidia.com/gpu: 1}
      livenessProbe:
        httpGet:
          path: /healthz
          port: http
          scheme: HTTP
          httpHeaders: [{name: X-Probe, value: liveness}]
        initialDelaySeconds: 5
        periodSeconds: 10
        timeoutSeconds: 2
        failureThreshold: 3
      readinessProbe:
        tcpSocket: {port: 8080}
      startupProbe:
        exec: {command: [cat, /tmp/ready]}
        failureThreshold: 30
        terminationGracePeriodSeconds: 10
      volumeMounts:
        - {name: data, mountPath: /data, readOnly: true}
      securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
      lifecycle: {preStop: {exec: {command: [sleep, "5"]}}}
      terminationMessagePath: /dev/termination-log
      terminationMessagePolicy: File
      stdin: false
      tty: false
  volumes:
    - {name: data, emptyDir: {}}
  restartPolicy: Always
  terminationGracePeriodSeconds: 45
  activeDeadlineSeconds: 3600
  dnsPolicy: ClusterFirst
  hostname: api-0
  subdomain: api
  schedulerName: default-scheduler
status:
  phase: Running
  hostIP: 10.0.0.4
  podIP: 10.244.1.7
  podIPs: [{ip: 10.244.1.7}]
  startTime: "2024-05-01T10:00:00Z"
  qosClass: Burstable
  conditions:
    - {type: Ready, status: "True", lastProbeTime: null, lastTransitionTime: "2024-05-01T10:00:05Z"}
  containerStatuses:
    - name: api
      ready: true
      started: true
      restartCount: 1
      image: registry.example.com/api:1.4.2
      imageID: registry.example.com/api@sha256:abcd
      containerID: docker://0123
      state: {running: {startedAt: "2024-05-01T10:00:02Z"}}
      lastState:
        terminated: {exitCode: 137, reason: OOMKilled, signal: 9, startedAt: "2024-05-01T09:00:00Z", finishedAt: "2024-05-01T09:59:59Z", containerID: docker://abc}
"""

NODE = """
apiVersion: v1
kind: Node
metadata:
  name: gpu-node-1
  labels: {kubernetes.io/hostname: gpu-node-1, nvidia.com/gpu.product: NVIDIA-H100-80GB-HBM3, nvidia.com/gpu.count: "2"}
spec:
  podCIDR: 10.244.1.0/24
  podCIDRs: [10.244.1.0/24]
  providerID: orch://gpu-node-1
  taints:
    - {key: nvidia.com/gpu, value: present, effect: NoSchedule}
    - {key: node.kubernetes.io/unreachable, effect: NoExecute, timeAdded: "2024-05-01T10:00:00Z"}
status:
  capacity: {cpu: "64", memory: 528Gi, pods: "110", nvidia.com/gpu: 2}
  allocatable: {cpu: 63500m, memory: 520Gi, pods: "110", nvidia.com/gpu: "2"}
  conditions:
    - {type: Ready, status: "True", reason: KubeletReady, lastHeartbeatTime: "2024-05-01T10:00:00Z", lastTransitionTime: "2024-05-01T09:00:00Z"}
  addresses: [{type: InternalIP, address: 10.0.0.4}, {type: Hostname, address: gpu-node-1}]
  daemonEndpoints: {kubeletEndpoint: {Port: 10250}}
  nodeInfo:
    machineID: m1
    systemUUID: s1
    bootID: b1
    kernelVersion: 6.5.0
    osImage: Ubuntu 22.04.4 LTS
    containerRuntimeVersion: docker://24.0.7
    kubeletVersion: orch-0.1.0
    kubeProxyVersion: ""
    operatingSystem: linux
    architecture: amd64
  images: [{names: [nginx:1.25], sizeBytes: 187000000}]
  gpus:
    - {index: 0, uuid: GPU-aaaa, model: NVIDIA H100 80GB HBM3, memoryMiB: 81559}
    - {index: 1, uuid: GPU-bbbb, model: NVIDIA H100 80GB HBM3, memoryMiB: 81559}
"""

OTHERS = """
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: a}}
spec: {finalizers: [kubernetes]}
status: {phase: Active}
---
apiVersion: v1
kind: Event
metadata: {name: api-7d4b9c-x8k2p.17c2a, namespace: shop}
involvedObject: {kind: Pod, namespace: shop, name: api-7d4b9c-x8k2p, uid: 9a, apiVersion: v1, resourceVersion: "42", fieldPath: "spec.containers{api}"}
reason: FailedScheduling
message: "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
type: Warning
count: 3
firstTimestamp: "2024-05-01T10:00:00Z"
lastTimestamp: "2024-05-01T10:01:00Z"
eventTime: null
source: {component: default-scheduler, host: server-1}
reportingComponent: default-scheduler
reportingInstance: server-1
action: Scheduling
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: gpu-node-1, namespace: kube-node-lease}
spec: {holderIdentity: gpu-node-1, leaseDurationSeconds: 40, acquireTime: "2024-05-01T10:00:00.000000Z", renewTime: "2024-05-01T10:00:10.000000Z", leaseTransitions: 0}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: api-config, namespace: shop}
data: {level: info, app.properties: "a=1\\nb=2\\n"}
binaryData: {logo.png: iVBORw0KGgo=}
immutable: false
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop}
type: Opaque
data: {password: cGFzc3dvcmQ=}
stringData: {user: admin}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop, labels: {app: api}}
spec:
  replicas: 3
  selector:
    matchLabels: {app: api}
    matchExpressions: [{key: tier, operator: In, values: [backend]}]
  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 1, maxUnavailable: 25%}}
  minReadySeconds: 5
  revisionHistoryLimit: 5
  progressDeadlineSeconds: 300
  paused: false
  template:
    metadata: {labels: {app: api, tier: backend}}
    spec:
      containers: [{name: api, image: "registry.example.com/api:1.4.2"}]
status:
  observedGeneration: 2
  replicas: 3
  updatedReplicas: 3
  readyReplicas: 3
  availableReplicas: 3
  unavailableReplicas: 0
  collisionCount: 0
  conditions: [{type: Available, status: "True", reason: MinimumReplicasAvailable, lastUpdateTime: "2024-05-01T10:00:00Z", lastTransitionTime: "2024-05-01T10:00:00Z"}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: api-7d4b9c
  namespace: shop
  annotations: {deployment.kubernetes.io/revision: "2"}
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: api, uid: "77", controller: true}]
spec:
  replicas: 3
  minReadySeconds: 5
  selector: {matchLabels: {app: api, pod-template-hash: 7d4b9c}}
  template:
    metadata: {labels: {app: api, pod-template-hash: 7d4b9c}}
    spec: {containers: [{name: api, image: "registry.example.com/api:1.4.2"}]}
status: {replicas: 3, fullyLabeledReplicas: 3, readyReplicas: 3, availableReplicas: 3, observedGeneration: 1}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: node-exporter, namespace: monitoring}
spec:
  selector: {matchLabels: {app: node-exporter}}
  updateStrategy: {type: RollingUpdate, rollingUpdate: {maxUnavailable: 1, maxSurge: 0}}
  minReadySeconds: 0
  revisionHistoryLimit: 10
  template:
    metadata: {labels: {app: node-exporter}}
    spec:
      hostNetwork: true
      hostPID: true
      tolerations: [{operator: Exists}]
      containers:
        - name: node-exporter
          image: quay.io/prometheus/node-exporter:v1.7.0
          ports: [{containerPort: 9100, hostPort: 9100, name: metrics}]
status: {currentNumberScheduled: 3, numberMisscheduled: 0, desiredNumberScheduled: 3, numberReady: 3, updatedNumberScheduled: 3, numberAvailable: 3, numberUnavailable: 0, observedGeneration: 1}
---
apiVersion: batch/v1
kind: Job
metadata: {name: train, namespace: ml}
spec:
  parallelism: 2
  completions: 4
  completionMode: Indexed
  backoffLimit: 2
  activeDeadlineSeconds: 7200
  ttlSecondsAfterFinished: 600
  suspend: false
  template:
    spec:
      restartPolicy: OnFailure
      containers:
        - name: train
          image: pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime
          command: [python, train.py]
          resources: {limits: {nvidia.com/gpu: 1}}
status: {active: 2, succeeded: 1, failed: 0, ready: 2, startTime: "2024-05-01T10:00:00Z", conditions: []}
"""


def docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def as_object(doc: dict[str, Any]) -> Any:
    kind = REGISTRY.by_kind(doc["kind"])
    return codec.convert(doc, kind.type, kind=kind.kind)


@pytest.mark.parametrize("doc", docs(POD + "\n---\n" + NODE + "\n---\n" + OTHERS), ids=lambda d: d["kind"])
def test_manifest_decodes_validates_and_round_trips(doc: dict[str, Any]) -> None:
    kind = REGISTRY.by_kind(doc["kind"])
    obj = as_object(doc)
    assert isinstance(obj, kind.type)
    assert validate(kind.kind, obj) == []
    wire = codec.encode(obj)
    again = codec.decode(wire, kind.type, kind=kind.kind)
    assert again == obj
    assert codec.encode(again) == wire


def test_pod_fields_land_where_kubernetes_puts_them() -> None:
    pod: Pod = as_object(docs(POD)[0])
    c = pod.spec.containers[0]
    assert c.ports[1].host_ip == "0.0.0.0"
    assert c.env[1].value_from is not None and c.env[1].value_from.secret_key_ref is not None
    assert c.env[1].value_from.secret_key_ref.key == "password"
    assert c.resources is not None and c.resources.limits["nvidia.com/gpu"] == "1"  # YAML int -> quantity string
    assert c.liveness_probe is not None and c.liveness_probe.http_get is not None
    assert c.liveness_probe.http_get.port == "http"
    assert c.readiness_probe is not None and c.readiness_probe.tcp_socket is not None
    assert c.readiness_probe.tcp_socket.port == 8080
    affinity = pod.spec.affinity
    assert affinity is not None and affinity.node_affinity is not None
    terms = affinity.node_affinity.required_during_scheduling_ignored_during_execution
    assert terms is not None and terms.node_selector_terms[0].match_expressions[0].values == ["NVIDIA-H100-80GB-HBM3"]
    assert pod.spec.tolerations[0].toleration_seconds == 300
    assert pod.status.pod_ip == "10.244.1.7" and pod.status.host_ip == "10.0.0.4"
    cs = pod.status.container_statuses[0]
    assert cs.image_id.endswith("sha256:abcd") and cs.container_id == "docker://0123"
    assert cs.last_state.terminated is not None and cs.last_state.terminated.exit_code == 137
    wire = json.loads(codec.encode(pod))
    assert wire["status"]["podIP"] == "10.244.1.7"
    assert wire["spec"]["containers"][0]["ports"][1]["hostIP"] == "0.0.0.0"


def test_node_gpus_and_quantities() -> None:
    node = as_object(docs(NODE)[0])
    assert [g.uuid for g in node.status.gpus] == ["GPU-aaaa", "GPU-bbbb"]
    assert node.status.gpus[0].memory_mib == 81559
    assert node.status.capacity["nvidia.com/gpu"] == "2"
    assert node.status.node_info.machine_id == "m1"
    assert json.loads(codec.encode(node))["status"]["gpus"][0]["memoryMiB"] == 81559


def test_event_is_flat_like_core_v1() -> None:
    event = as_object(docs(OTHERS)[1])
    assert event.involved_object.field_path == "spec.containers{api}"
    assert event.type == "Warning" and event.count == 3 and event.source.component == "default-scheduler"


def test_assigned_gpus_reads_the_annotation() -> None:
    pod = as_object(docs(POD)[0])
    assert assigned_gpus(pod) == []
    pod.metadata.annotations[GPU_DEVICES_ANNOTATION] = "GPU-aaaa, GPU-bbbb"
    assert assigned_gpus(pod) == ["GPU-aaaa", "GPU-bbbb"]


def test_binding_and_scale() -> None:
    b = codec.decode(b'{"apiVersion":"v1","kind":"Binding","metadata":{"name":"p","namespace":"d"},'
                     b'"target":{"apiVersion":"v1","kind":"Node","name":"n1"}}', Binding)
    assert b.target.name == "n1" and b.target.kind == "Node"
    s = codec.decode(b'{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"web"},'
                     b'"spec":{"replicas":5},"status":{"replicas":3,"selector":"app=web"}}', Scale)
    assert s.spec.replicas == 5 and s.status.selector == "app=web"


def test_defaults_omitted_on_the_wire() -> None:
    pod = codec.decode(b'{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]}}', Pod)
    assert json.loads(codec.encode(pod)) == {"metadata": {"name": "p"},
                                             "spec": {"containers": [{"name": "c", "image": "i"}]}, "status": {}}


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"spec": {"containers": [{"name": "c", "imagee": "x"}]}}, "spec.containers[0].imagee", "unknown field"),
    ({"spec": {"containers": [{"image": "x"}]}}, "spec.containers[0].name", "required value"),
    ({"spec": {"containers": [{"name": "c", "ports": [{"containerPort": "80"}]}]}},
     "spec.containers[0].ports[0].containerPort", "expected `int`, got `str`"),
    ({"spec": {"tolerations": [{"key": "k", "operatorr": "Exists"}]}}, "spec.tolerations[0].operatorr", "unknown field"),
    ({"metadata": {"name": "p", "labelz": {}}}, "metadata.labelz", "unknown field"),
    ({"spec": {"containers": [{"name": "c", "resources": {"limits": {"cpu": ["1"]}}}]}},
     "spec.containers[0].resources.limits[...]", "expected `int | float | str`, got `array`"),
])
def test_shape_errors_name_the_field(body: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(Invalid) as info:
        codec.decode(json.dumps(body).encode(), Pod, kind="Pod")
    cause = info.value.causes[0]
    assert (cause.field, cause.message) == (field, message)
    assert f"{field}: {message}" in info.value.message


def test_unknown_top_level_field_of_a_workload() -> None:
    with pytest.raises(Invalid, match=r"spec\.template\.spec\.containers\[0\]\.imagee: unknown field"):
        codec.decode(b'{"spec":{"template":{"spec":{"containers":[{"name":"c","imagee":"x"}]}}}}',
                     REGISTRY.by_kind("Deployment").type, kind="Deployment")


def test_malformed_json_is_bad_request() -> None:
    with pytest.raises(BadRequest) as info:
        codec.decode(b'{"spec":', Pod)
    assert not isinstance(info.value, Invalid)


def test_every_registered_kind_decodes_an_empty_object() -> None:
    for kind in REGISTRY.kinds:
        obj = codec.decode(b"{}", kind.type)
        assert msgspec.to_builtins(obj) is not None
