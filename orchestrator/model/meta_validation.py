"""Validation of ObjectMeta (names, namespace, labels, annotations, owners, finalizers).

Namespaces are named as DNS labels; every other kind as a DNS subdomain. Either
`metadata.name` or `metadata.generateName` is required. Label and annotation keys are
qualified names (`[prefix/]name`); label values are ≤ 63 characters. Messages and
field paths follow Kubernetes (`metadata.labels: Invalid value: "Bad Key": ...`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from orchestrator.model import field_errors as fe
from orchestrator.model.base import ObjectMeta
from orchestrator.model.errors import StatusCause
from orchestrator.model.names import (
    GENERATED_PREFIX_MAX,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    label_value_errors,
    qualified_name_errors,
)

ANNOTATIONS_MAX_BYTES = 256 * 1024
STANDARD_FINALIZERS = frozenset(("kubernetes", "orphan", "foregroundDeletion"))
CLUSTER_SCOPED = frozenset(("Namespace", "Node"))
NameRule = Callable[[str], tuple[str, ...]]


def name_rule(kind: str) -> NameRule:
    return dns1123_label_errors if kind == "Namespace" else dns1123_subdomain_errors


def label_map_errors(labels: Mapping[str, str], path: str, errs: list[StatusCause]) -> None:
    for key, value in labels.items():
        if e := qualified_name_errors(key):
            errs.append(fe.invalid(path, key, e[0]))
        if e := label_value_errors(value):
            errs.append(fe.invalid(path, value, e[0]))


def validate_metadata(meta: ObjectMeta, kind: str, errs: list[StatusCause], *, path: str = "metadata",
                      namespaced: bool | None = None) -> None:
    rule = name_rule(kind)
    if meta.name:
        if e := rule(meta.name):
            errs.append(fe.invalid(f"{path}.name", meta.name, e[0]))
    elif meta.generate_name:
        # The prefix gets 5 characters appended: a trailing '-' is fine, and it is cut to fit.
        prefix = meta.generate_name[:GENERATED_PREFIX_MAX]
        masked = prefix[:-1] + "a" if prefix.endswith("-") else prefix
        if e := rule(masked):
            errs.append(fe.invalid(f"{path}.generateName", meta.generate_name, e[0]))
    else:
        errs.append(fe.required(f"{path}.name", "name or generateName is required"))
    if namespaced is None:
        namespaced = kind not in CLUSTER_SCOPED
    if meta.namespace:
        if not namespaced:
            errs.append(fe.forbidden(f"{path}.namespace", "not allowed on this type"))
        elif e := dns1123_label_errors(meta.namespace):
            errs.append(fe.invalid(f"{path}.namespace", meta.namespace, e[0]))
    if meta.labels:
        label_map_errors(meta.labels, f"{path}.labels", errs)
    if meta.annotations:
        _annotations(meta.annotations, f"{path}.annotations", errs)
    if meta.owner_references:
        _owners(meta, f"{path}.ownerReferences", errs)
    for i, fin in enumerate(meta.finalizers):
        if e := qualified_name_errors(fin):
            errs.append(fe.invalid(f"{path}.finalizers[{i}]", fin, e[0]))
        elif "/" not in fin and fin not in STANDARD_FINALIZERS:
            errs.append(fe.invalid(f"{path}.finalizers[{i}]", fin,
                                   "name is neither a standard finalizer name nor is it fully qualified"))
    if meta.generation < 0:
        errs.append(fe.invalid(f"{path}.generation", meta.generation, "must be greater than or equal to 0"))


def _annotations(annotations: Mapping[str, str], path: str, errs: list[StatusCause]) -> None:
    size = 0
    for key, value in annotations.items():
        if e := qualified_name_errors(key.lower()):
            errs.append(fe.invalid(path, key, e[0]))
        size += len(key) + len(value)
    if size > ANNOTATIONS_MAX_BYTES:
        errs.append(fe.too_long(path, ANNOTATIONS_MAX_BYTES))


def _owners(meta: ObjectMeta, path: str, errs: list[StatusCause]) -> None:
    controllers = 0
    for i, ref in enumerate(meta.owner_references):
        for wire, value in (("apiVersion", ref.api_version), ("kind", ref.kind), ("name", ref.name), ("uid", ref.uid)):
            if not value:
                errs.append(fe.required(f"{path}[{i}].{wire}"))
        controllers += bool(ref.controller)
    if controllers > 1:
        errs.append(fe.invalid(path, [r.name for r in meta.owner_references if r.controller],
                               "Only one reference can have Controller set to true"))
