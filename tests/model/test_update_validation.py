"""validate_update(): what an update may not change."""

from __future__ import annotations

from orchestrator.model.base import clone
from orchestrator.model.defaults import apply_defaults
from orchestrator.model.pods import Toleration
from orchestrator.model.templates import LabelSelector
from orchestrator.model.update_validation import validate_update

from tests.model.factories import decode, make_deployment, make_job, make_pod


def test_pod_image_and_added_tolerations_may_change() -> None:
    old = make_pod()
    apply_defaults("Pod", old)
    new = clone(old)
    new.spec.containers[0].image = "nginx:1.26"
    new.spec.active_deadline_seconds = 60
    new.spec.tolerations.append(Toleration(key="k", operator="Exists"))
    assert validate_update("Pod", new, old) == []


def test_pod_other_spec_changes_are_forbidden() -> None:
    old = make_pod()
    new = clone(old)
    new.spec.containers[0].command = ["sh"]
    [cause] = validate_update("Pod", new, old)
    assert cause.field == "spec" and cause.message.startswith("Forbidden: pod updates may not change fields")
    bound = clone(old)
    bound.spec.node_name = "n1"
    assert validate_update("Pod", bound, old)[0].field == "spec.nodeName"
    old.spec.tolerations.append(Toleration(key="k", operator="Exists"))
    removed = clone(old)
    removed.spec.tolerations.clear()
    assert validate_update("Pod", removed, old)[0].field == "spec.tolerations"


def test_workload_selector_is_immutable() -> None:
    old = make_deployment()
    new = clone(old)
    new.spec.replicas = 9
    assert validate_update("Deployment", new, old) == []
    new.spec.selector = LabelSelector(match_labels={"app": "other"})
    [cause] = validate_update("Deployment", new, old)
    assert cause.field == "spec.selector" and cause.message.endswith("field is immutable")


def test_job_template_is_immutable() -> None:
    old = make_job()
    new = clone(old)
    new.spec.template.spec.containers[0].image = "perl:5.36"
    assert [c.field for c in validate_update("Job", new, old)] == ["spec.template"]


def test_immutable_configmap() -> None:
    old = decode({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}, "immutable": True})
    new = clone(old)
    assert validate_update("ConfigMap", new, old) == []
    new.data["a"] = "2"
    new.immutable = False
    assert {c.field for c in validate_update("ConfigMap", new, old)} == {"data", "immutable"}
    mutable = clone(old)
    mutable.immutable = None
    changed = clone(mutable)
    changed.data["a"] = "3"
    assert validate_update("ConfigMap", changed, mutable) == []
