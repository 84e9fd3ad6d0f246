"""Per-kind columns for `orch get`, kubectl's where the kind exists there.

Each cell is a function of (object dict, now). Kinds not listed get NAME AGE. Every
lookup goes through `dig`, so objects missing fields still print.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.model.tables import NONE, Column, age, age_of, dig, human_duration, labels_text, name_of, parse_time
from orchestrator.model.quantities import parse_bytes

GPU = "nvidia.com/gpu"
GPU_PRODUCT = "nvidia.com/gpu.product"
GPU_COUNT = "nvidia.com/gpu.count"
ROLE_PREFIX = "node-role.kubernetes.io/"

Obj = dict[str, Any]


# --- pods --------------------------------------------------------------------------------


def pod_ready(o: Obj, _now: datetime) -> str:
    statuses = dig(o, "status", "containerStatuses", default=[])
    total = max(len(dig(o, "spec", "containers", default=[])), len(statuses))
    return f"{sum(1 for s in statuses if isinstance(s, dict) and s.get('ready'))}/{total}"


def pod_status(o: Obj, _now: datetime) -> str:
    """kubectl's STATUS: Terminating, a waiting/terminated reason of a container, else phase."""
    if dig(o, "metadata", "deletionTimestamp"):
        return "Terminating"
    reason = dig(o, "status", "reason", default="") or dig(o, "status", "phase", default="") or "Pending"
    for s in dig(o, "status", "initContainerStatuses", default=[]):
        why = dig(s, "state", "waiting", "reason") or dig(s, "state", "terminated", "reason")
        if why and why != "Completed":
            return f"Init:{why}"
    for s in dig(o, "status", "containerStatuses", default=[]):
        why = dig(s, "state", "waiting", "reason") or dig(s, "state", "terminated", "reason")
        if why:
            reason = why
    if not dig(o, "spec", "nodeName") and reason == "Pending":
        return "Pending"
    return str(reason)


def pod_restarts(o: Obj, _now: datetime) -> str:
    return str(sum(int(dig(s, "restartCount", default=0)) for s in dig(o, "status", "containerStatuses", default=[])))


# --- workloads ---------------------------------------------------------------------------


def _int(o: Obj, *path: str) -> int:
    value = dig(o, *path, default=0)
    return value if isinstance(value, int) else 0


def _desired(o: Obj) -> int:
    value = dig(o, "spec", "replicas")
    return value if isinstance(value, int) else 1


def containers_of(o: Obj, _now: datetime) -> str:
    names = [str(c.get("name", "")) for c in dig(o, "spec", "template", "spec", "containers", default=[])]
    return ",".join(names) or NONE


def images_of(o: Obj, _now: datetime) -> str:
    images = [str(c.get("image", "")) for c in dig(o, "spec", "template", "spec", "containers", default=[])]
    return ",".join(images) or NONE


def selector_of(o: Obj, _now: datetime) -> str:
    sel = dig(o, "spec", "selector", default={})
    parts = [f"{k}={v}" for k, v in sorted(dig(sel, "matchLabels", default={}).items())]
    for e in dig(sel, "matchExpressions", default=[]):
        op, key, values = e.get("operator", ""), e.get("key", ""), e.get("values") or []
        parts.append({"In": f"{key} in ({','.join(values)})", "NotIn": f"{key} notin ({','.join(values)})",
                      "Exists": key, "DoesNotExist": f"!{key}"}.get(op, f"{key} {op}"))
    return ",".join(parts) or NONE


def job_completions(o: Obj, _now: datetime) -> str:
    completions = dig(o, "spec", "completions")
    succeeded = _int(o, "status", "succeeded")
    if completions is None:
        parallelism = dig(o, "spec", "parallelism")
        if isinstance(parallelism, int) and parallelism > 1:
            return f"{succeeded}/1 of {parallelism}"
        return f"{succeeded}/1"
    return f"{succeeded}/{completions}"


def job_duration(o: Obj, now: datetime) -> str:
    start = parse_time(dig(o, "status", "startTime"))
    if start is None:
        return ""
    end = parse_time(dig(o, "status", "completionTime")) or now
    return human_duration((end - start).total_seconds())


def job_status(o: Obj, _now: datetime) -> str:
    for cond in dig(o, "status", "conditions", default=[]):
        if cond.get("status") == "True" and cond.get("type") in ("Complete", "Failed", "Suspended"):
            return str(cond["type"])
    return "Running" if _int(o, "status", "active") else "Pending"


# --- nodes -------------------------------------------------------------------------------


def node_status(o: Obj, _now: datetime) -> str:
    ready = next((c for c in dig(o, "status", "conditions", default=[]) if c.get("type") == "Ready"), None)
    text = "Unknown" if ready is None or ready.get("status") == "Unknown" else (
        "Ready" if ready.get("status") == "True" else "NotReady")
    return text + (",SchedulingDisabled" if dig(o, "spec", "unschedulable") else "")


def node_roles(o: Obj, _now: datetime) -> str:
    labels = dig(o, "metadata", "labels", default={})
    roles = sorted(k[len(ROLE_PREFIX):] for k in labels if k.startswith(ROLE_PREFIX) and k != ROLE_PREFIX)
    return ",".join(roles) or NONE


def node_gpus(o: Obj, _now: datetime) -> str:
    """`8x NVIDIA-H100-80GB-HBM3`: the count from capacity (or the count label), the model from labels."""
    labels = dig(o, "metadata", "labels", default={})
    devices = dig(o, "status", "gpus", default=[])
    count = str(dig(o, "status", "capacity", GPU, default="") or labels.get(GPU_COUNT, "") or (len(devices) or ""))
    if count in ("", "0"):
        return NONE
    model = labels.get(GPU_PRODUCT) or dig(devices, 0, "model", default="")
    return f"{count}x {model}" if model else count


def _capacity(resource: str) -> Any:
    def cell(o: Obj, _now: datetime) -> str:
        value = str(dig(o, "status", "capacity", resource, default="") or NONE)
        if resource == "memory" and value != NONE:
            try:  # people read "23.5Gi", not "24684084Ki"
                gib = parse_bytes(value) / 2**30
                return f"{gib:.0f}Gi" if gib == int(gib) else f"{gib:.1f}Gi"
            except ValueError:
                return value
        return value
    return cell


def node_address(o: Obj, _now: datetime) -> str:
    for a in dig(o, "status", "addresses", default=[]):
        if a.get("type") == "InternalIP":
            return str(a.get("address", NONE))
    return NONE


def _info(field: str) -> Any:
    def cell(o: Obj, _now: datetime) -> str:
        return str(dig(o, "status", "nodeInfo", field, default="") or NONE)
    return cell


# --- the rest ----------------------------------------------------------------------------


def _field(*path: str, default: str = NONE) -> Any:
    def cell(o: Obj, _now: datetime) -> str:
        value = dig(o, *path)
        return default if value in (None, "") else str(value)
    return cell


def _count(*path: str) -> Any:
    def cell(o: Obj, _now: datetime) -> str:
        return str(len(dig(o, *path, default={}) or {}))
    return cell


def event_last_seen(o: Obj, now: datetime) -> str:
    when = (dig(o, "series", "lastObservedTime") or dig(o, "lastTimestamp") or dig(o, "eventTime")
            or dig(o, "metadata", "creationTimestamp"))
    return age(when, now)


def event_object(o: Obj, _now: datetime) -> str:
    return f"{str(dig(o, 'involvedObject', 'kind', default='')).lower()}/{dig(o, 'involvedObject', 'name', default='')}"


def config_data(o: Obj, _now: datetime) -> str:
    return str(len(dig(o, "data", default={}) or {}) + len(dig(o, "binaryData", default={}) or {}))


NAME: Column = ("NAME", name_of)
AGE: Column = ("AGE", age_of)

COLUMNS: dict[str, list[Column]] = {
    "Pod": [NAME, ("READY", pod_ready), ("STATUS", pod_status), ("RESTARTS", pod_restarts), AGE],
    "Deployment": [NAME, ("READY", lambda o, n: f"{_int(o, 'status', 'readyReplicas')}/{_desired(o)}"),
                   ("UP-TO-DATE", lambda o, n: str(_int(o, "status", "updatedReplicas"))),
                   ("AVAILABLE", lambda o, n: str(_int(o, "status", "availableReplicas"))), AGE],
    "ReplicaSet": [NAME, ("DESIRED", lambda o, n: str(_desired(o))),
                   ("CURRENT", lambda o, n: str(_int(o, "status", "replicas"))),
                   ("READY", lambda o, n: str(_int(o, "status", "readyReplicas"))), AGE],
    "DaemonSet": [NAME, ("DESIRED", lambda o, n: str(_int(o, "status", "desiredNumberScheduled"))),
                  ("CURRENT", lambda o, n: str(_int(o, "status", "currentNumberScheduled"))),
                  ("READY", lambda o, n: str(_int(o, "status", "numberReady"))),
                  ("UP-TO-DATE", lambda o, n: str(_int(o, "status", "updatedNumberScheduled"))),
                  ("AVAILABLE", lambda o, n: str(_int(o, "status", "numberAvailable"))),
                  ("NODE SELECTOR", lambda o, n: labels_text(dig(o, "spec", "template", "spec", "nodeSelector"))),
                  AGE],
    "Job": [NAME, ("COMPLETIONS", job_completions), ("DURATION", job_duration), AGE],
    "Node": [NAME, ("STATUS", node_status), ("ROLES", node_roles), AGE, ("VERSION", _info("kubeletVersion")),
             ("CPU", _capacity("cpu")), ("MEMORY", _capacity("memory")), ("GPU", node_gpus)],
    "Namespace": [NAME, ("STATUS", _field("status", "phase", default="Active")), AGE],
    "Event": [("LAST SEEN", event_last_seen), ("TYPE", _field("type")), ("REASON", _field("reason")),
              ("OBJECT", event_object), ("MESSAGE", _field("message", default=""))],
    "ConfigMap": [NAME, ("DATA", config_data), AGE],
    "Secret": [NAME, ("TYPE", _field("type", default="Opaque")), ("DATA", config_data), AGE],
    "Lease": [NAME, ("HOLDER", _field("spec", "holderIdentity", default="")), AGE],
    "PodDisruptionBudget": [NAME, ("MIN AVAILABLE", _field("spec", "minAvailable", default="N/A")),
                            ("MAX UNAVAILABLE", _field("spec", "maxUnavailable", default="N/A")),
                            ("ALLOWED DISRUPTIONS", lambda o, n: str(_int(o, "status", "disruptionsAllowed"))), AGE],
}

WIDE: dict[str, list[Column]] = {
    "Pod": [("IP", _field("status", "podIP")), ("NODE", _field("spec", "nodeName"))],
    "Deployment": [("CONTAINERS", containers_of), ("IMAGES", images_of), ("SELECTOR", selector_of)],
    "ReplicaSet": [("CONTAINERS", containers_of), ("IMAGES", images_of), ("SELECTOR", selector_of)],
    "DaemonSet": [("CONTAINERS", containers_of), ("IMAGES", images_of), ("SELECTOR", selector_of)],
    "Job": [("STATUS", job_status), ("CONTAINERS", containers_of), ("IMAGES", images_of), ("SELECTOR", selector_of)],
    "Node": [("INTERNAL-IP", node_address), ("OS-IMAGE", _info("osImage")),
             ("KERNEL-VERSION", _info("kernelVersion")), ("CONTAINER-RUNTIME", _info("containerRuntimeVersion"))],
    "Event": [("FIRST SEEN", lambda o, n: age(dig(o, "firstTimestamp") or dig(o, "eventTime"), n)),
              ("COUNT", _field("count", default="1"))],
}


def columns_for(kind: str, *, wide: bool = False) -> list[Column]:
    return COLUMNS.get(kind, [NAME, AGE]) + (WIDE.get(kind, []) if wide else [])
