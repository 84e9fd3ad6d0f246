"""Validation of the scheduling terms of a pod spec: tolerations and node affinity.

Operators and effects are checked against Kubernetes' sets; `Exists` takes no value and
an empty key needs `Exists`; `tolerationSeconds` only goes with `NoExecute`; In/NotIn
need values, Exists/DoesNotExist none, Gt/Lt one integer; `matchFields` only knows
`metadata.name`. Causes carry full field paths.
"""

from __future__ import annotations

from orchestrator.model import field_errors as fe
from orchestrator.model.errors import StatusCause
from orchestrator.model.names import qualified_name_errors
from orchestrator.model.nodes import TAINT_EFFECTS
from orchestrator.model.pods import NodeSelectorTerm, PodSpec, Toleration

TOLERATION_OPERATORS = ("Equal", "Exists")
NODE_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")


def toleration_errors(tol: Toleration, p: str, errs: list[StatusCause]) -> None:
    op = tol.operator or "Equal"
    if tol.key and (e := qualified_name_errors(tol.key)):
        errs.append(fe.invalid(f"{p}.key", tol.key, e[0]))
    if op not in TOLERATION_OPERATORS:
        errs.append(fe.not_supported(f"{p}.operator", tol.operator, TOLERATION_OPERATORS))
    elif not tol.key and op != "Exists":
        errs.append(fe.invalid(f"{p}.operator", op, 'operator must be Exists when `key` is empty, '
                               'which means "match all values and all keys"'))
    elif op == "Exists" and tol.value:
        errs.append(fe.invalid(f"{p}.operator", tol.value, "value must be empty when `operator` is 'Exists'"))
    if tol.effect and tol.effect not in TAINT_EFFECTS:
        errs.append(fe.not_supported(f"{p}.effect", tol.effect, TAINT_EFFECTS))
    if tol.toleration_seconds is not None and tol.effect != "NoExecute":
        errs.append(fe.invalid(f"{p}.effect", tol.effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))


def node_affinity_errors(spec: PodSpec, path: str, errs: list[StatusCause]) -> None:
    na = spec.affinity.node_affinity  # type: ignore[union-attr]
    p = f"{path}.affinity.nodeAffinity"
    req = na.required_during_scheduling_ignored_during_execution  # type: ignore[union-attr]
    if req is not None:
        rp = f"{p}.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms"
        if not req.node_selector_terms:
            errs.append(fe.required(rp, "must have at least one node selector term"))
        for i, term in enumerate(req.node_selector_terms):
            node_selector_term_errors(term, f"{rp}[{i}]", errs)
    for i, pref in enumerate(na.preferred_during_scheduling_ignored_during_execution):  # type: ignore[union-attr]
        pp = f"{p}.preferredDuringSchedulingIgnoredDuringExecution[{i}]"
        if not 1 <= pref.weight <= 100:
            errs.append(fe.invalid(f"{pp}.weight", pref.weight, "must be in the range 1-100"))
        node_selector_term_errors(pref.preference, f"{pp}.preference", errs)


def node_selector_term_errors(term: NodeSelectorTerm, p: str, errs: list[StatusCause]) -> None:
    for kind, reqs in (("matchExpressions", term.match_expressions), ("matchFields", term.match_fields)):
        for j, r in enumerate(reqs):
            rp = f"{p}.{kind}[{j}]"
            if kind == "matchFields" and r.key != "metadata.name":
                errs.append(fe.not_supported(f"{rp}.key", r.key, ("metadata.name",)))
            elif kind == "matchExpressions" and (e := qualified_name_errors(r.key)):
                errs.append(fe.invalid(f"{rp}.key", r.key, e[0]))
            if r.operator in ("In", "NotIn"):
                if not r.values:
                    errs.append(fe.required(f"{rp}.values", "must be specified when `operator` is 'In' or 'NotIn'"))
            elif r.operator in ("Exists", "DoesNotExist"):
                if r.values:
                    errs.append(fe.forbidden(f"{rp}.values", "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
            elif r.operator in ("Gt", "Lt"):
                if len(r.values) != 1 or not r.values[0].lstrip("-").isdigit():
                    errs.append(fe.required(f"{rp}.values", "must be specified single value when `operator` is 'Lt' or 'Gt'"))
            else:
                errs.append(fe.not_supported(f"{rp}.operator", r.operator, NODE_SELECTOR_OPERATORS))
