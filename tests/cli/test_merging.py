"""apply's decisions: create, unchanged, or a three-way merge that keeps what the server owns."""

from __future__ import annotations

import json
from typing import Any

from orchestrator.cli.merging import CONFIGURE, CREATE, LAST_APPLIED, UNCHANGED, desired_config, plan_apply


def manifest(**spec: Any) -> dict[str, Any]:
    return desired_config({"apiVersion": "apps/v1", "kind": "Deployment",
                           "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
                           "spec": spec})


def live_from(body: dict[str, Any], **server: Any) -> dict[str, Any]:
    """What the server would hold after `body`: its metadata, defaults and status added."""
    live = json.loads(json.dumps(body))
    live["metadata"].update(uid="u1", resourceVersion="7", creationTimestamp="2024-01-01T00:00:00Z")
    live["spec"] = {**live["spec"], "revisionHistoryLimit": 10}
    live["status"] = {"replicas": 2}
    for k, v in server.items():
        live["metadata"].setdefault("annotations", {})[k] = v
    return live


def test_a_missing_object_is_created_with_its_last_applied_note() -> None:
    outcome, body = plan_apply(live=None, desired=manifest(replicas=2))
    assert outcome == CREATE and body is not None
    assert json.loads(body["metadata"]["annotations"][LAST_APPLIED]) == manifest(replicas=2)


def test_reapplying_the_same_manifest_is_unchanged_despite_server_defaults() -> None:
    _, body = plan_apply(live=None, desired=manifest(replicas=2))
    assert body is not None
    live = live_from(body, **{"deployment.kubernetes.io/revision": "1"})
    assert plan_apply(live=live, desired=manifest(replicas=2)) == (UNCHANGED, None)


def test_a_change_keeps_status_defaults_server_fields_and_others_annotations() -> None:
    _, body = plan_apply(live=None, desired=manifest(replicas=2))
    assert body is not None
    live = live_from(body, **{"deployment.kubernetes.io/revision": "1"})
    outcome, merged = plan_apply(live=live, desired=manifest(replicas=5))
    assert outcome == CONFIGURE and merged is not None
    assert merged["spec"] == {"replicas": 5, "revisionHistoryLimit": 10}
    assert merged["status"] == {"replicas": 2}
    assert merged["metadata"]["resourceVersion"] == "7" and merged["metadata"]["uid"] == "u1"
    assert merged["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert json.loads(merged["metadata"]["annotations"][LAST_APPLIED])["spec"] == {"replicas": 5}


def test_a_field_removed_from_the_manifest_is_removed_from_the_object() -> None:
    first = manifest(replicas=2, paused=True)
    _, body = plan_apply(live=None, desired=first)
    assert body is not None
    second = manifest(replicas=2)
    second["metadata"]["labels"] = {}
    outcome, merged = plan_apply(live=live_from(body), desired=second)
    assert outcome == CONFIGURE and merged is not None
    assert "paused" not in merged["spec"]
    assert merged["metadata"]["labels"] == {}


def test_someone_elses_change_to_a_managed_field_is_put_back() -> None:
    _, body = plan_apply(live=None, desired=manifest(replicas=2))
    assert body is not None
    live = live_from(body)
    live["spec"]["replicas"] = 9  # scaled by hand
    outcome, merged = plan_apply(live=live, desired=manifest(replicas=2))
    assert outcome == CONFIGURE and merged is not None and merged["spec"]["replicas"] == 2


def test_an_object_made_without_apply_is_configured_without_losing_fields() -> None:
    live = live_from(manifest(replicas=1, paused=True))
    outcome, merged = plan_apply(live=live, desired=manifest(replicas=3))
    assert outcome == CONFIGURE and merged is not None
    assert merged["spec"] == {"replicas": 3, "paused": True, "revisionHistoryLimit": 10}


def test_desired_config_drops_status_and_server_owned_metadata() -> None:
    doc = {"apiVersion": "v1", "kind": "Pod", "status": {"phase": "Running"},
           "metadata": {"name": "a", "uid": "x", "resourceVersion": "3", "annotations": {LAST_APPLIED: "{}"}}}
    assert desired_config(doc) == {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a"}}
