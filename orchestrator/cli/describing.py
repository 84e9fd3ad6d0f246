"""`orch describe` text: common metadata, a part per kind, then Events. Pure: dicts in, text out.

Kinds without a part of their own show their remaining fields as a tree, so a new kind
(or a new field) is visible before anyone writes a describer for it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Any

from orchestrator.model import codec, columns
from orchestrator.model.gpus import GPU_RESOURCE, assigned_gpus
from orchestrator.model.pods import Pod
from orchestrator.model.quantities import QuantityError, format_bytes, format_cpu
from orchestrator.model.resources import CPU, MEMORY, amount, spec_requests
from orchestrator.cli.merging import LAST_APPLIED
from orchestrator.cli.sheets import Sheet, mapping_lines
from orchestrator.model.tables import NONE, age, dig

Obj = dict[str, Any]
HIDDEN_ANNOTATIONS = (LAST_APPLIED, "kubectl.kubernetes.io/last-applied-configuration")


def describe(obj: Obj, *, events: list[Obj], now: datetime, pods: list[Obj] | None = None) -> str:
    kind = str(obj.get("kind", ""))
    s = Sheet()
    meta = obj.get("metadata") or {}
    s.kv("Name", meta.get("name", ""))
    if meta.get("namespace"):
        s.kv("Namespace", meta["namespace"])
    part = PARTS.get(kind)
    if kind == "Node":
        s.kv("Roles", columns.node_roles(obj, now))
    s.kv("Labels", mapping_lines(meta.get("labels")) or NONE)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in HIDDEN_ANNOTATIONS}
    s.kv("Annotations", [f"{k}: {v}" for k, v in sorted(annotations.items())] or NONE)
    s.kv("CreationTimestamp", meta.get("creationTimestamp") or NONE)
    if meta.get("deletionTimestamp"):
        s.kv("DeletionTimestamp", meta["deletionTimestamp"])
    if meta.get("finalizers"):
        s.kv("Finalizers", meta["finalizers"])
    owner = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
    if owner:
        s.kv("Controlled By", f"{owner.get('kind')}/{owner.get('name')}")
    if part is not None:
        part(s, obj, now)
    else:
        for key, value in obj.items():
            if key not in ("apiVersion", "kind", "metadata"):
                s.tree(key[:1].upper() + key[1:], value)
    if kind == "Node" and pods is not None:
        node_pods(s, obj, pods, now)
    if kind != "Event":
        events_table(s, events, now)
    return s.text()


def node_pods(s: Sheet, node: Obj, pods: list[Obj], now: datetime) -> None:
    """kubectl's "Non-terminated Pods" and "Allocated resources", plus which pod holds each
    GPU: the first answers to "why does my pod not fit here?"."""
    typed = [codec.convert(p, Pod, kind="Pod") for p in pods]
    requests = [spec_requests(p.spec) for p in typed]
    limits = [_limits(p) for p in typed]
    alloc = {k: amount(k, v) for k, v in (dig(node, "status", "allocatable", default={}) or {}).items()
             if k in (CPU, MEMORY, GPU_RESOURCE)}
    rows = [[p.metadata.namespace, p.metadata.name, _fmt(CPU, r.get(CPU, 0), alloc),
             _fmt(MEMORY, r.get(MEMORY, 0), alloc), columns.pod_status(raw, now),
             age(p.metadata.creation_timestamp, now)] for p, r, raw in zip(typed, requests, pods)]
    s.table(f"Non-terminated Pods ({len(rows)} in total)",
            ["Namespace", "Name", "CPU Requests", "Memory Requests", "Status", "Age"], rows)
    totals = [[res, _fmt(res, sum(r.get(res, 0) for r in requests), alloc),
               _fmt(res, sum(lim.get(res, 0) for lim in limits), alloc)]
              for res in (CPU, MEMORY, GPU_RESOURCE) if res != GPU_RESOURCE or res in alloc]
    s.table("Allocated resources", ["Resource", "Requests", "Limits"], totals)
    holders = {uuid: f"{p.metadata.namespace}/{p.metadata.name}" for p in typed for uuid in assigned_gpus(p)}
    if holders:
        s.table("GPUs in use", ["UUID", "Pod"], [[u, holders[u]] for u in sorted(holders)])


def _limits(pod: Pod) -> dict[str, int]:
    out: dict[str, int] = {}
    for c in pod.spec.containers:
        for k, v in ((c.resources.limits if c.resources else None) or {}).items():
            try:
                out[k] = out.get(k, 0) + amount(k, str(v))
            except (QuantityError, ValueError):
                continue
    return out


def _fmt(resource: str, n: int, alloc: dict[str, int]) -> str:
    text = format_cpu(n) if resource == CPU else format_bytes(n) if resource == MEMORY else str(n)
    total = alloc.get(resource)
    return f"{text} ({n * 100 // total}%)" if total else text


def events_for(obj: Obj, events: list[Obj]) -> list[Obj]:
    """Events whose involvedObject is this object (by uid when both have one), oldest first."""
    meta, kind = obj.get("metadata") or {}, obj.get("kind")
    out = []
    for ev in events:
        ref = ev.get("involvedObject") or {}
        if ref.get("kind") != kind or ref.get("name") != meta.get("name"):
            continue
        if meta.get("namespace") and ref.get("namespace") not in (None, "", meta.get("namespace")):
            continue
        if ref.get("uid") and meta.get("uid") and ref["uid"] != meta["uid"]:
            continue
        out.append(ev)
    return sorted(out, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime")
                                         or dig(e, "metadata", "creationTimestamp", default="")))


def events_table(s: Sheet, events: list[Obj], now: datetime) -> None:
    rows = []
    for ev in events:
        count = ev.get("count") or dig(ev, "series", "count", default=0)
        when = columns.event_last_seen(ev, now)
        if isinstance(count, int) and count > 1:
            when = f"{when} (x{count} over {age(ev.get('firstTimestamp') or ev.get('eventTime'), now)})"
        source = (dig(ev, "source", "component") or ev.get("reportingComponent") or "")
        if dig(ev, "source", "host"):
            source = f"{source}, {dig(ev, 'source', 'host')}" if source else dig(ev, "source", "host")
        rows.append([str(ev.get("type", "")), str(ev.get("reason", "")), when, str(source),
                     str(ev.get("message", "")).replace("\n", " ")])
    s.table("Events", ["Type", "Reason", "Age", "From", "Message"], rows)


# --- parts -------------------------------------------------------------------------------


def _conditions(s: Sheet, obj: Obj, *, extra: tuple[str, ...] = ("Reason",)) -> None:
    rows = [[str(c.get("type", "")), str(c.get("status", "")), *[str(c.get(f[0].lower() + f[1:], "")) for f in extra]]
            for c in dig(obj, "status", "conditions", default=[])]
    s.table("Conditions", ["Type", "Status", *extra], rows)


def _state(s: Sheet, key: str, state: Any, *, level: int) -> None:
    if not isinstance(state, dict) or not state:
        s.kv(key, "Waiting" if key == "State" else NONE, level=level)
        return
    name, detail = next(iter(state.items()))
    s.kv(key, name.capitalize(), level=level)
    for field, label in (("reason", "Reason"), ("message", "Message"), ("exitCode", "Exit Code"),
                         ("startedAt", "Started"), ("finishedAt", "Finished")):
        if isinstance(detail, dict) and detail.get(field) not in (None, ""):
            s.kv(label, detail[field], level=level + 1)


def containers(s: Sheet, spec: Obj, statuses: list[Obj], *, title: str = "Containers", level: int = 0) -> None:
    items = spec.get("containers") or []
    if not items:
        s.kv(title, NONE, level=level)
        return
    s.section(title, level=level)
    by_name = {st.get("name"): st for st in statuses}
    for c in items:
        s.section(str(c.get("name", "")), level=level + 1)
        inner = level + 2
        s.kv("Image", c.get("image") or NONE, level=inner)
        if c.get("command"):
            s.kv("Command", c["command"], level=inner)
        if c.get("args"):
            s.kv("Args", c["args"], level=inner)
        ports = [f"{p.get('containerPort')}/{p.get('protocol') or 'TCP'}" for p in c.get("ports") or []]
        s.kv("Ports", ", ".join(ports) or NONE, level=inner)
        st = by_name.get(c.get("name"))
        if st is not None:
            _state(s, "State", st.get("state"), level=inner)
            if st.get("lastState"):
                _state(s, "Last State", st.get("lastState"), level=inner)
            s.kv("Ready", bool(st.get("ready")), level=inner)
            s.kv("Restart Count", st.get("restartCount", 0), level=inner)
        for which in ("limits", "requests"):
            res = dig(c, "resources", which, default={})
            if res:
                s.kv(which.capitalize(), mapping_lines(res, sep=": "), level=inner)
        env = [f"{e.get('name')}: {e.get('value', '') if 'value' in e else '<set from a reference>'}"
               for e in c.get("env") or []]
        s.kv("Environment", env or NONE, level=inner)


def _pod(s: Sheet, o: Obj, now: datetime) -> None:
    node = dig(o, "spec", "nodeName", default="")
    host = dig(o, "status", "hostIP", default="")
    s.kv("Node", f"{node}/{host}" if node and host else node or NONE)
    s.kv("Start Time", dig(o, "status", "startTime") or NONE)
    s.kv("Status", columns.pod_status(o, now))
    for field in ("reason", "message"):
        if dig(o, "status", field):
            s.kv(field.capitalize(), dig(o, "status", field))
    s.kv("IP", dig(o, "status", "podIP") or NONE)
    gpus = [f"{k}: {v}" for k, v in sorted((dig(o, "metadata", "annotations", default={}) or {}).items())
            if "gpu" in k.lower()]
    if gpus:
        s.kv("GPUs", gpus)
    containers(s, dig(o, "spec", default={}), dig(o, "status", "containerStatuses", default=[]))
    _conditions(s, o, extra=())
    s.kv("Node-Selectors", mapping_lines(dig(o, "spec", "nodeSelector")) or NONE)
    tolerations = [f"{t.get('key', '')}{'=' + t['value'] if t.get('value') else ''}"
                   f"{':' + t['effect'] if t.get('effect') else ''} op={t.get('operator') or 'Equal'}"
                   + (f" for {t['tolerationSeconds']}s" if t.get("tolerationSeconds") is not None else "")
                   for t in dig(o, "spec", "tolerations", default=[])]
    s.kv("Tolerations", tolerations or NONE)


def _node(s: Sheet, o: Obj, now: datetime) -> None:
    taints = [f"{t.get('key')}{'=' + t['value'] if t.get('value') else ''}:{t.get('effect')}"
              for t in dig(o, "spec", "taints", default=[])]
    s.kv("Taints", taints or NONE)
    s.kv("Unschedulable", bool(dig(o, "spec", "unschedulable")))
    _conditions(s, o, extra=("LastHeartbeatTime", "Reason", "Message"))
    s.kv("Addresses", [f"{a.get('type')}: {a.get('address')}" for a in dig(o, "status", "addresses", default=[])]
         or NONE)
    for key in ("capacity", "allocatable"):
        s.kv(key.capitalize(), mapping_lines(dig(o, "status", key), sep=": ") or NONE)
    gpus = [[str(g.get("index", "")), str(g.get("uuid", "")), str(g.get("model", "")),
             f"{g['memoryMiB']}MiB" if g.get("memoryMiB") else ""] for g in dig(o, "status", "gpus", default=[])]
    s.table("GPUs", ["Index", "UUID", "Model", "Memory"], gpus)
    info = dig(o, "status", "nodeInfo", default={})
    if info:
        s.section("System Info")
        for key, value in info.items():
            if isinstance(value, str) and value:
                s.kv(key[:1].upper() + key[1:], value, level=1)


def _template(s: Sheet, o: Obj) -> None:
    tmpl = dig(o, "spec", "template", default={})
    s.section("Pod Template")
    s.kv("Labels", mapping_lines(dig(tmpl, "metadata", "labels")) or NONE, level=1)
    containers(s, dig(tmpl, "spec", default={}), [], level=1)


def _deployment(s: Sheet, o: Obj, now: datetime) -> None:
    def st(field: str) -> Any:
        return dig(o, "status", field, default=0)

    s.kv("Selector", columns.selector_of(o, now))
    s.kv("Replicas", f"{dig(o, 'spec', 'replicas', default=1)} desired | {st('updatedReplicas')} updated | "
                     f"{st('replicas')} total | {st('availableReplicas')} available | "
                     f"{st('unavailableReplicas')} unavailable")
    s.kv("StrategyType", dig(o, "spec", "strategy", "type") or "RollingUpdate")
    s.kv("MinReadySeconds", dig(o, "spec", "minReadySeconds", default=0))
    ru = dig(o, "spec", "strategy", "rollingUpdate", default={})
    if ru:
        s.kv("RollingUpdateStrategy", f"{ru.get('maxUnavailable', '25%')} max unavailable, "
                                      f"{ru.get('maxSurge', '25%')} max surge")
    _template(s, o)
    _conditions(s, o)


def _replicaset(s: Sheet, o: Obj, now: datetime) -> None:
    s.kv("Selector", columns.selector_of(o, now))
    s.kv("Replicas", f"{dig(o, 'status', 'replicas', default=0)} current / "
                     f"{dig(o, 'spec', 'replicas', default=1)} desired")
    s.kv("Ready", dig(o, "status", "readyReplicas", default=0))
    _template(s, o)
    _conditions(s, o)


def _daemonset(s: Sheet, o: Obj, now: datetime) -> None:
    s.kv("Selector", columns.selector_of(o, now))
    s.kv("Node-Selector", mapping_lines(dig(o, "spec", "template", "spec", "nodeSelector")) or NONE)
    for key, label in (("desiredNumberScheduled", "Desired Number of Nodes Scheduled"),
                       ("currentNumberScheduled", "Current Number of Nodes Scheduled"),
                       ("numberReady", "Number of Nodes Ready"), ("numberAvailable", "Number Available")):
        s.kv(label, dig(o, "status", key, default=0))
    _template(s, o)


def _job(s: Sheet, o: Obj, now: datetime) -> None:
    s.kv("Selector", columns.selector_of(o, now))
    s.kv("Parallelism", dig(o, "spec", "parallelism", default=1))
    s.kv("Completions", dig(o, "spec", "completions", default=1))
    s.kv("Backoff Limit", dig(o, "spec", "backoffLimit", default=6))
    s.kv("Start Time", dig(o, "status", "startTime") or NONE)
    if dig(o, "status", "completionTime"):
        s.kv("Completed At", dig(o, "status", "completionTime"))
    s.kv("Duration", columns.job_duration(o, now) or NONE)
    s.kv("Pods Statuses", f"{dig(o, 'status', 'active', default=0)} Active / "
                          f"{dig(o, 'status', 'succeeded', default=0)} Succeeded / "
                          f"{dig(o, 'status', 'failed', default=0)} Failed")
    _template(s, o)
    _conditions(s, o)


def _configmap(s: Sheet, o: Obj, now: datetime) -> None:
    data = o.get("data") or {}
    s.section("Data")
    s.line("====")
    for key, value in sorted(data.items()):
        s.line(f"{key}:")
        s.line("----")
        s.lines.extend(str(value).splitlines() or [""])
        s.blank()


def _secret(s: Sheet, o: Obj, now: datetime) -> None:
    s.kv("Type", o.get("type") or "Opaque")
    s.section("Data")
    s.line("====")
    for key, value in sorted((o.get("data") or {}).items()):
        s.line(f"{key}:  {_decoded_size(value)} bytes")


def _decoded_size(value: Any) -> int:
    try:
        return len(base64.b64decode(str(value), validate=True))
    except (binascii.Error, ValueError):
        return len(str(value))


def _namespace(s: Sheet, o: Obj, now: datetime) -> None:
    s.kv("Status", dig(o, "status", "phase") or "Active")


PARTS: dict[str, Callable[[Sheet, Obj, datetime], None]] = {
    "Pod": _pod, "Node": _node, "Deployment": _deployment, "ReplicaSet": _replicaset,
    "DaemonSet": _daemonset, "Job": _job, "ConfigMap": _configmap, "Secret": _secret, "Namespace": _namespace,
}
