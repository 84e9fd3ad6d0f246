"""Reading manifests: every document checked first, problems reported with file, document and line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from orchestrator.cli.manifests import (ManifestError, apply_order, expand_paths, line_of, load_manifests,
                                        parse_documents, split_path)

NAMESPACE = """\
apiVersion: v1
kind: Namespace
metadata:
  name: demo
"""

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: demo
spec:
  containers:
  - name: main
    image: busybox
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
"""


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def problems(tmp_path: Path, text: str, **kwargs: object) -> list[str]:
    f = write(tmp_path / "m.yaml", text)
    with pytest.raises(ManifestError) as info:
        load_manifests([f], namespace="default", **kwargs)  # type: ignore[arg-type]
    return [p.replace(f, "FILE") for p in info.value.problems]


def test_a_good_multi_document_file_loads_in_order(tmp_path: Path) -> None:
    f = write(tmp_path / "m.yaml", "---\n" + NAMESPACE + "---\n" + POD.format(name="a") + "---\n" + DEPLOYMENT)
    ms = load_manifests([f], namespace="default")
    assert [(m.kind.kind, m.name, m.namespace) for m in ms] == [
        ("Namespace", "demo", ""), ("Pod", "a", "demo"), ("Deployment", "web", "default")]
    assert [m.doc.number for m in ms] == [1, 2, 3]
    assert [m.label for m in ms] == ["namespace/demo", "pod/a", "deployment.apps/web"]


def test_unknown_field_names_document_line_and_path(tmp_path: Path) -> None:
    text = NAMESPACE + "---\n" + POD.format(name="web").replace("    image: busybox", "    imagee: busybox")
    assert problems(tmp_path, text) == [
        'FILE: document 2 (line 14): Pod "web" is invalid: spec.containers[0].imagee: unknown field']


def test_wrong_type_points_at_the_field(tmp_path: Path) -> None:
    text = POD.format(name="a") + "---\n" + DEPLOYMENT.replace("replicas: 2", 'replicas: "two"')
    [problem] = problems(tmp_path, text)
    assert problem.startswith('FILE: document 2 (line 16): Deployment "web" is invalid: spec.replicas: ')
    assert "int" in problem


def test_every_bad_document_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = (POD.format(name="a").replace("image:", "imagee:") + "---\n"
            + POD.format(name="b") + "---\n"
            + POD.format(name="c").replace("  containers:", "  containerz:"))
    found = problems(tmp_path, text)
    assert len(found) == 2
    assert found[0].startswith("FILE: document 1 (line 9): ")
    assert found[1].startswith('FILE: document 3 (line 27): Pod "c" is invalid: spec.containerz: unknown field')


def test_yaml_syntax_error_names_document_and_line(tmp_path: Path) -> None:
    text = NAMESPACE + "---\n" + POD.format(name="a") + "---\nkind: Pod\nmetadata: {name: [oops\n"
    [problem] = problems(tmp_path, text)
    assert problem.startswith("FILE: document 3 (line ")
    assert "invalid YAML" in problem
    line = int(problem.split("(line ")[1].split(",")[0])
    assert 17 <= line <= 18  # PyYAML points at where it gave up: the end of the broken flow


def test_unknown_kind_and_version_mismatch(tmp_path: Path) -> None:
    [unknown] = problems(tmp_path, "apiVersion: v1\nkind: Gizmo\nmetadata: {name: x}\n")
    assert unknown == 'FILE: document 1 (line 2): no matches for kind "Gizmo" in version "v1"'
    [wrong] = problems(tmp_path, DEPLOYMENT.replace("apps/v1", "v1"))
    assert 'no matches for kind "Deployment" in version "v1"' in wrong


def test_missing_name_kind_or_api_version(tmp_path: Path) -> None:
    assert problems(tmp_path, "apiVersion: v1\nkind: Pod\nmetadata: {}\n") == [
        "FILE: document 1 (line 3): Pod is invalid: metadata.name: Required value"]
    assert "kind: Required value" in problems(tmp_path, "apiVersion: v1\nmetadata: {name: a}\n")[0]
    assert "expected an object" in problems(tmp_path, "- a\n- b\n")[0]


def test_namespace_flag_fills_in_and_must_agree(tmp_path: Path) -> None:
    f = write(tmp_path / "d.yaml", DEPLOYMENT)
    [m] = load_manifests([f], namespace="team", explicit_namespace=True)
    assert m.namespace == "team"
    text = POD.format(name="a")  # says namespace: demo
    [problem] = problems(tmp_path, text, explicit_namespace=True)
    assert 'the namespace from the provided object "demo" does not match the namespace "default"' in problem
    assert "(line 5)" in problem


def test_cluster_scoped_objects_drop_a_namespace(tmp_path: Path) -> None:
    f = write(tmp_path / "n.yaml", NAMESPACE.replace("  name: demo", "  name: demo\n  namespace: x"))
    [m] = load_manifests([f], namespace="default")
    assert m.namespace == ""


def test_a_list_document_is_expanded_with_item_lines(tmp_path: Path) -> None:
    text = ("apiVersion: v1\nkind: List\nitems:\n"
            "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"
            "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n  dat: {}\n")
    [problem] = problems(tmp_path, text)
    assert problem == 'FILE: document 1 (line 10): ConfigMap "b" is invalid: dat: unknown field'


def test_json_files_even_with_tabs(tmp_path: Path) -> None:
    text = '{\n\t"apiVersion": "v1",\n\t"kind": "ConfigMap",\n\t"metadata": {"name": "j"}\n}\n'
    f = write(tmp_path / "cm.json", text)
    [m] = load_manifests([f], namespace="default")
    assert m.name == "j"
    bad = write(tmp_path / "bad.json", '{\n\t"apiVersion": "v1",\n\t"kind": \n}\n')
    with pytest.raises(ManifestError) as info:
        load_manifests([bad], namespace="default")
    assert info.value.problems[0].startswith(f"{bad}: line 4: invalid JSON")


def test_stdin(tmp_path: Path) -> None:
    [m] = load_manifests(["-"], namespace="default", stdin=io.StringIO(POD.format(name="s")))
    assert (m.name, m.doc.source) == ("s", "-")


def test_directory_applies_yaml_yml_json_in_name_order(tmp_path: Path) -> None:
    d = tmp_path / "configs"
    d.mkdir()
    write(d / "b.yaml", POD.format(name="b"))
    write(d / "a.yml", POD.format(name="a"))
    write(d / "c.json", '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}')
    write(d / "README.md", "not a manifest")
    write(d / "z.txt", "nor this")
    (d / "sub").mkdir()
    write(d / "sub" / "x.yaml", "nor: this")
    assert [Path(p).name for p in expand_paths([str(d)])] == ["a.yml", "b.yaml", "c.json"]
    assert [m.name for m in load_manifests([str(d)], namespace="default")] == ["a", "b", "c"]


def test_namespaces_are_applied_first_otherwise_as_written(tmp_path: Path) -> None:
    d = tmp_path / "configs"
    d.mkdir()
    write(d / "a-pod.yaml", POD.format(name="p1") + "---\n" + POD.format(name="p2"))
    write(d / "b-deploy.yaml", DEPLOYMENT)
    write(d / "z-namespace.yaml", NAMESPACE)
    ordered = apply_order(load_manifests([str(d)], namespace="default"))
    assert [m.label for m in ordered] == ["namespace/demo", "pod/p1", "pod/p2", "deployment.apps/web"]


def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as info:
        load_manifests([str(tmp_path / "missing.yaml")], namespace="default")
    assert "cannot read" in info.value.problems[0]


def test_empty_documents_are_skipped_but_counted() -> None:
    docs = parse_documents("f", "---\n---\n" + POD.format(name="a"))
    assert [(d.number, d.line) for d in docs] == [(2, 3)]


def test_field_paths_and_lines() -> None:
    assert split_path("spec.containers[0].image") == ["spec", "containers", 0, "image"]
    assert split_path("metadata.labels[...]") == ["metadata", "labels", None]
    assert split_path("metadata.labels['app.kubernetes.io/name']") == ["metadata", "labels", "app.kubernetes.io/name"]
    [doc] = parse_documents("f", DEPLOYMENT)
    assert line_of(doc.node, "spec.template.spec.containers[0].image") == 15
    assert line_of(doc.node, "spec.template.spec.containers[3].image") == 13  # deepest part that exists
    assert line_of(doc.node, "spec.selector.matchLabels[...]") == 8
    assert line_of(None, "spec") is None
