"""The example manifests in configs/ are valid for orch's own model, as written.

They must apply unchanged to real Kubernetes as well; configs/README.md says how to
check that (the Kubernetes schemas are not a test dependency).
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.cli.manifests import load_manifests

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_every_example_manifest_decodes_and_validates() -> None:
    manifests = load_manifests([str(CONFIGS)], namespace="default")
    found = {(m.obj.kind, m.obj.metadata.name) for m in manifests}
    assert found == {
        ("Namespace", "demo"), ("ConfigMap", "web-config"), ("Pod", "httpd"),
        ("Deployment", "web"), ("Job", "pi"), ("Deployment", "notebook"), ("Deployment", "web-app"),
    }
    assert {m.namespace for m in manifests if m.obj.kind != "Namespace"} == {"demo"}
