"""Validation of decoded objects: `validate(kind_name, obj) -> list[StatusCause]`.

Empty list = valid. Each cause has the field path and Kubernetes' wording
(`spec.containers[0].image: Required value`); `check()` raises the 422 `Invalid` error
the server returns. Validation accepts objects before or after `apply_defaults` (unset
fields that defaulting fills in are fine either way), and never raises on bad input.

Per kind: metadata (meta_validation.py), pod specs (pod_validation.py), and here the
workloads (selector required and matching the template's labels, replicas ≥ 0,
rollout parameters), Job, Node, Event, ConfigMap, Secret, Lease.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any

from orchestrator.model import field_errors as fe
from orchestrator.model.apps import DaemonSet, Deployment, ReplicaSet, RollingUpdate
from orchestrator.model.batch import Job
from orchestrator.model.cluster import EVENT_TYPES, Event, Lease
from orchestrator.model.config import MAX_DATA_BYTES, ConfigMap, Secret
from orchestrator.model.errors import StatusCause
from orchestrator.model.meta_validation import label_map_errors, validate_metadata
from orchestrator.model.names import config_key_errors, label_value_errors, qualified_name_errors
from orchestrator.model.nodes import TAINT_EFFECTS, Node
from orchestrator.model.pod_validation import resource_path, validate_pod_spec
from orchestrator.model.pods import Pod
from orchestrator.model.policy import PodDisruptionBudget
from orchestrator.model.quantities import QuantityError, parse_quantity
from orchestrator.model.selectors import SelectorError, from_label_selector
from orchestrator.model.templates import LabelSelector, PodTemplateSpec

__all__ = ["check", "validate", "validate_pod_template"]

_NONNEG = "must be greater than or equal to 0"
_PERCENT = re.compile(r"[0-9]+%")
_PERCENT_MSG = ("a valid percent string must be a numeric string followed by an ending '%' "
                "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")


def validate(kind_name: str, obj: Any) -> list[StatusCause]:
    """All the problems with `obj` (an instance of the kind's type); empty when valid."""
    errs: list[StatusCause] = []
    validate_metadata(obj.metadata, kind_name, errs)
    if (fn := _BY_KIND.get(kind_name)) is not None:
        fn(obj, errs)
    return errs


def check(kind_name: str, obj: Any) -> None:
    """Raise `Invalid` (422) with every cause when `obj` is not valid."""
    if errs := validate(kind_name, obj):
        raise fe.invalid_error(kind_name, obj.metadata.name or obj.metadata.generate_name, errs)


def _nonneg(value: int | None, path: str, errs: list[StatusCause]) -> None:
    if value is not None and value < 0:
        errs.append(fe.invalid(path, value, _NONNEG))


def _pod(pod: Pod, errs: list[StatusCause]) -> None:
    validate_pod_spec(pod.spec, "spec", errs)


def validate_pod_template(selector: LabelSelector | None, template: PodTemplateSpec, errs: list[StatusCause], *,
                          kind: str, selector_required: bool = True, restart_policies: tuple[str, ...] = ("Always",),
                          restart_required: bool = False) -> None:
    """A workload's selector and template: the selector must select the template's labels."""
    compiled = None
    if selector is None:
        if selector_required:
            errs.append(fe.required("spec.selector"))
    else:
        try:
            compiled = from_label_selector(selector)
        except SelectorError as exc:
            field = f"spec.selector.{exc.field}" if exc.field else "spec.selector"
            errs.append(fe.plain(field, str(exc)))
        else:
            if compiled.empty():
                errs.append(fe.invalid("spec.selector", {}, f"empty selector is invalid for {kind.lower()}"))
    labels = template.metadata.labels
    if labels:
        label_map_errors(labels, "spec.template.metadata.labels", errs)
    if compiled is not None and not compiled.empty() and not compiled.matches(labels):
        errs.append(fe.invalid("spec.template.metadata.labels", labels, "selector does not match template labels"))
    validate_pod_spec(template.spec, "spec.template.spec", errs, restart_policies=restart_policies,
                      restart_required=restart_required)


def _int_or_percent(value: int | str | None, path: str, errs: list[StatusCause], *, at_most_100: bool) -> int | None:
    """The value as an int (a percentage as its number), or None when unset or invalid."""
    if value is None:
        return None
    if isinstance(value, int):
        if value < 0:
            errs.append(fe.invalid(path, value, _NONNEG))
            return None
        return value
    if not _PERCENT.fullmatch(value):
        errs.append(fe.invalid(path, value, _PERCENT_MSG))
        return None
    n = int(value[:-1])
    if at_most_100 and n > 100:
        errs.append(fe.invalid(path, value, "must not be greater than 100%"))
    return n


def _rolling_update(ru: RollingUpdate, path: str, errs: list[StatusCause]) -> None:
    surge = _int_or_percent(ru.max_surge, f"{path}.maxSurge", errs, at_most_100=False)
    unavailable = _int_or_percent(ru.max_unavailable, f"{path}.maxUnavailable", errs, at_most_100=True)
    if surge == 0 and unavailable == 0:
        errs.append(fe.invalid(f"{path}.maxUnavailable", ru.max_unavailable, "may not be 0 when `maxSurge` is 0"))


def _deployment(obj: Deployment, errs: list[StatusCause]) -> None:
    spec = obj.spec
    _nonneg(spec.replicas, "spec.replicas", errs)
    validate_pod_template(spec.selector, spec.template, errs, kind="Deployment")
    if spec.strategy is not None:
        _strategy(spec.strategy, "spec.strategy", "Recreate", errs)
    _nonneg(spec.min_ready_seconds, "spec.minReadySeconds", errs)
    _nonneg(spec.revision_history_limit, "spec.revisionHistoryLimit", errs)
    pds = spec.progress_deadline_seconds
    if pds is not None:
        if pds < 0:
            errs.append(fe.invalid("spec.progressDeadlineSeconds", pds, _NONNEG))
        elif pds <= spec.min_ready_seconds:
            errs.append(fe.invalid("spec.progressDeadlineSeconds", pds, "must be greater than minReadySeconds"))


def _strategy(st: Any, path: str, other: str, errs: list[StatusCause]) -> None:
    """A Deployment's or DaemonSet's strategy: RollingUpdate (with its knobs) or `other`."""
    if st.type and st.type not in ("RollingUpdate", other):
        errs.append(fe.not_supported(f"{path}.type", st.type, tuple(sorted((other, "RollingUpdate")))))
    if st.rolling_update is not None:
        if st.type == other:
            errs.append(fe.forbidden(f"{path}.rollingUpdate", f"may not be specified when strategy `type` is '{other}'"))
        else:
            _rolling_update(st.rolling_update, f"{path}.rollingUpdate", errs)


def _replicaset(obj: ReplicaSet, errs: list[StatusCause]) -> None:
    _nonneg(obj.spec.replicas, "spec.replicas", errs)
    _nonneg(obj.spec.min_ready_seconds, "spec.minReadySeconds", errs)
    validate_pod_template(obj.spec.selector, obj.spec.template, errs, kind="ReplicaSet")


def _daemonset(obj: DaemonSet, errs: list[StatusCause]) -> None:
    spec = obj.spec
    validate_pod_template(spec.selector, spec.template, errs, kind="DaemonSet")
    _nonneg(spec.min_ready_seconds, "spec.minReadySeconds", errs)
    _nonneg(spec.revision_history_limit, "spec.revisionHistoryLimit", errs)
    if spec.update_strategy is not None:
        _strategy(spec.update_strategy, "spec.updateStrategy", "OnDelete", errs)


def _job(obj: Job, errs: list[StatusCause]) -> None:
    spec = obj.spec
    for wire, value in (("parallelism", spec.parallelism), ("completions", spec.completions),
                        ("backoffLimit", spec.backoff_limit), ("ttlSecondsAfterFinished", spec.ttl_seconds_after_finished),
                        ("backoffLimitPerIndex", spec.backoff_limit_per_index)):
        _nonneg(value, f"spec.{wire}", errs)
    ads = spec.active_deadline_seconds
    if ads is not None and ads <= 0:
        errs.append(fe.invalid("spec.activeDeadlineSeconds", ads, "must be greater than 0"))
    if spec.completion_mode and spec.completion_mode not in ("NonIndexed", "Indexed"):
        errs.append(fe.not_supported("spec.completionMode", spec.completion_mode, ("NonIndexed", "Indexed")))
    if spec.completion_mode == "Indexed" and spec.completions is None:
        errs.append(fe.required("spec.completions", "when completion mode is Indexed"))
    validate_pod_template(spec.selector, spec.template, errs, kind="Job", selector_required=bool(spec.manual_selector),
                          restart_policies=("OnFailure", "Never"), restart_required=True)


def _quantity_map(amounts: dict[str, str], path: str, errs: list[StatusCause]) -> None:
    for rname, q in amounts.items():
        try:
            parse_quantity(q)
        except QuantityError as exc:
            errs.append(fe.plain(resource_path(path, rname), str(exc)))


def _node(obj: Node, errs: list[StatusCause]) -> None:
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(obj.spec.taints):
        p = f"spec.taints[{i}]"
        if not taint.key:
            errs.append(fe.required(f"{p}.key"))
        elif e := qualified_name_errors(taint.key):
            errs.append(fe.invalid(f"{p}.key", taint.key, e[0]))
        if taint.value and (e := label_value_errors(taint.value)):
            errs.append(fe.invalid(f"{p}.value", taint.value, e[0]))
        if not taint.effect:
            errs.append(fe.required(f"{p}.effect"))
        elif taint.effect not in TAINT_EFFECTS:
            errs.append(fe.not_supported(f"{p}.effect", taint.effect, TAINT_EFFECTS))
        if (taint.key, taint.effect) in seen:
            errs.append(fe.duplicate(p, f"{taint.key}:{taint.effect}"))
        seen.add((taint.key, taint.effect))
    _quantity_map(obj.status.capacity, "status.capacity", errs)
    _quantity_map(obj.status.allocatable, "status.allocatable", errs)
    indexes: set[int] = set()
    for i, gpu in enumerate(obj.status.gpus):
        if not gpu.uuid:
            errs.append(fe.required(f"status.gpus[{i}].uuid"))
        if gpu.index < 0:
            errs.append(fe.invalid(f"status.gpus[{i}].index", gpu.index, _NONNEG))
        elif gpu.index in indexes:
            errs.append(fe.duplicate(f"status.gpus[{i}].index", gpu.index))
        indexes.add(gpu.index)


def _event(obj: Event, errs: list[StatusCause]) -> None:
    if obj.type and obj.type not in EVENT_TYPES:
        errs.append(fe.not_supported("type", obj.type, EVENT_TYPES))
    ns, ref_ns = obj.metadata.namespace, obj.involved_object.namespace
    if ns and ref_ns and ns != ref_ns:
        errs.append(fe.invalid("involvedObject.namespace", ref_ns, "does not match event.namespace"))
    _nonneg(obj.count, "count", errs)


def _data_keys(data: dict[str, str], path: str, errs: list[StatusCause]) -> int:
    size = 0
    for key, value in data.items():
        if e := config_key_errors(key):
            errs.append(fe.invalid(path, key, e[0]))
        size += len(key) + len(value)
    return size


def _base64_values(data: dict[str, str], path: str, errs: list[StatusCause], *, redact: bool) -> None:
    for key, value in data.items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            shown = "<secret contents redacted>" if redact else value
            errs.append(fe.invalid(f"{path}[{key}]", shown, "illegal base64 data"))


def _configmap(obj: ConfigMap, errs: list[StatusCause]) -> None:
    size = _data_keys(obj.data, "data", errs) + _data_keys(obj.binary_data, "binaryData", errs)
    for key in obj.binary_data.keys() & obj.data.keys():
        errs.append(fe.invalid("data", key, "duplicate of key present in binaryData"))
    _base64_values(obj.binary_data, "binaryData", errs, redact=False)
    if size > MAX_DATA_BYTES:
        errs.append(fe.too_long("data", MAX_DATA_BYTES))


def _secret(obj: Secret, errs: list[StatusCause]) -> None:
    size = _data_keys(obj.data, "data", errs) + _data_keys(obj.string_data, "stringData", errs)
    _base64_values(obj.data, "data", errs, redact=True)
    if size > MAX_DATA_BYTES:
        errs.append(fe.too_long("data", MAX_DATA_BYTES))


def _lease(obj: Lease, errs: list[StatusCause]) -> None:
    lds = obj.spec.lease_duration_seconds
    if lds is not None and lds <= 0:
        errs.append(fe.invalid("spec.leaseDurationSeconds", lds, "must be greater than 0"))
    _nonneg(obj.spec.lease_transitions, "spec.leaseTransitions", errs)


def _pdb(obj: PodDisruptionBudget, errs: list[StatusCause]) -> None:
    spec = obj.spec
    if spec.min_available is not None and spec.max_unavailable is not None:
        errs.append(fe.invalid("spec", "minAvailable and maxUnavailable",
                               "minAvailable and maxUnavailable cannot be both set"))
    _int_or_percent(spec.min_available, "spec.minAvailable", errs, at_most_100=True)
    _int_or_percent(spec.max_unavailable, "spec.maxUnavailable", errs, at_most_100=True)
    if spec.selector is not None:
        try:
            from_label_selector(spec.selector)
        except SelectorError as exc:
            errs.append(fe.plain(f"spec.selector.{exc.field}" if exc.field else "spec.selector", str(exc)))
    policy = spec.unhealthy_pod_eviction_policy
    if policy is not None and policy not in ("IfHealthyBudget", "AlwaysAllow"):
        errs.append(fe.not_supported("spec.unhealthyPodEvictionPolicy", policy, ("IfHealthyBudget", "AlwaysAllow")))


_BY_KIND: dict[str, Callable[[Any, list[StatusCause]], None]] = {
    "Pod": _pod,
    "Deployment": _deployment,
    "ReplicaSet": _replicaset,
    "DaemonSet": _daemonset,
    "Job": _job,
    "Node": _node,
    "Event": _event,
    "ConfigMap": _configmap,
    "Secret": _secret,
    "Lease": _lease,
    "PodDisruptionBudget": _pdb,
}
