"""Parts shared by the workload kinds: LabelSelector and PodTemplateSpec.

A workload owns the pods its `selector` matches; the template's labels must match the
selector (validation checks it), or the controller would never see its own pods.
`selector: None` (absent) is different from `selector: {}` (matches everything).
"""

from __future__ import annotations

import msgspec

from orchestrator.model.base import ObjectMeta, Spec
from orchestrator.model.pods import PodSpec


class LabelSelectorRequirement(Spec):
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist
    values: list[str] = msgspec.field(default_factory=list)


class LabelSelector(Spec):
    """matchLabels and matchExpressions, all ANDed."""

    match_labels: dict[str, str] = msgspec.field(default_factory=dict)
    match_expressions: list[LabelSelectorRequirement] = msgspec.field(default_factory=list)


class PodTemplateSpec(Spec):
    metadata: ObjectMeta = msgspec.field(default_factory=ObjectMeta)
    spec: PodSpec = msgspec.field(default_factory=PodSpec)
