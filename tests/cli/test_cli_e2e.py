"""The `orch` executable against a real `orch server`: apply, get, get -w, describe, delete, version.

The server runs with --no-agent, so nothing gets scheduled or started; when controllers
land, more objects (ReplicaSets, Pods) appear, and these tests look for specific rows
rather than counting them.
"""

from __future__ import annotations

import json
import shutil
import signal
from pathlib import Path

import pytest
import yaml

from tests.cli.conftest import REPO, Cli

pytestmark = pytest.mark.slow

CONFIGS = REPO / "configs"

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: demo
  labels: {{app: extra}}
spec:
  containers:
  - name: main
    image: busybox
    command: [sleep, "60"]
"""


@pytest.fixture
def configs(tmp_path: Path) -> Path:
    """A copy of configs/ (examples from the repo), or a small set of our own if it is missing."""
    target = tmp_path / "configs"
    if CONFIGS.is_dir() and any(CONFIGS.glob("*.yaml")):
        shutil.copytree(CONFIGS, target)
        return target
    target.mkdir()
    (target / "namespace.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n")
    (target / "pod.yaml").write_text(POD.format(name="httpd"))
    (target / "web.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: demo}\n"
        "spec:\n  replicas: 3\n  selector: {matchLabels: {app: web}}\n"
        "  template:\n    metadata: {labels: {app: web}}\n"
        "    spec: {containers: [{name: web, image: busybox}]}\n")
    return target


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.strip().splitlines()]


def test_apply_a_directory_then_again_then_a_change(cli: Cli, configs: Path) -> None:
    first = cli("apply", "-f", str(configs))
    lines = first.stdout.strip().splitlines()
    assert lines[0] == "namespace/demo created"  # namespaces first, whatever the file order
    assert "deployment.apps/web created" in lines and "pod/httpd created" in lines
    assert all(line.endswith(" created") for line in lines)

    again = cli("apply", "-f", str(configs))
    assert all(line.endswith(" unchanged") for line in again.stdout.strip().splitlines()), again.stdout

    web = next(p for p in configs.glob("*.yaml") if "name: web\n" in p.read_text() and "Deployment" in p.read_text())
    web.write_text(web.read_text().replace("replicas: 3", "replicas: 5"))
    changed = cli("apply", "-f", str(web))
    assert changed.stdout.strip() == "deployment.apps/web configured"
    got = json.loads(cli("get", "deploy", "web", "-n", "demo", "-o", "json").stdout)
    assert got["spec"]["replicas"] == 5

    dry = cli("apply", "-f", "-", "--dry-run", stdin=POD.format(name="dry"))
    assert dry.stdout.strip() == "pod/dry created (dry run)"
    assert cli("get", "pod", "dry", "-n", "demo", ok=False).stderr.strip() == (
        'Error from server (NotFound): pods "dry" not found')


def test_a_bad_document_stops_everything_before_any_write(cli: Cli, tmp_path: Path) -> None:
    f = tmp_path / "mixed.yaml"
    f.write_text(POD.format(name="good") + "---\n" + POD.format(name="bad").replace("image:", "imagee:"))
    cli("apply", "-f", str(f.parent / "ns.yaml"), ok=False)  # a missing file is an error, too
    cli("apply", "-f", "-", stdin="apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n")
    result = cli("apply", "-f", str(f), ok=False)
    assert result.stderr.strip() == (
        f'error: {f}: document 2 (line 22): Pod "bad" is invalid: spec.containers[0].imagee: unknown field')
    assert result.stdout == ""
    cli("get", "pod", "good", "-n", "demo", ok=False)  # the good one was not written either


def test_get_every_kind(cli: Cli, configs: Path) -> None:
    cli("apply", "-f", str(configs))
    ns = rows(cli("get", "ns").stdout)
    assert ns[0] == ["NAME", "STATUS", "AGE"] and ["demo", "Active"] == ns[[r[0] for r in ns].index("demo")][:2]
    pods = rows(cli("get", "po", "-n", "demo").stdout)
    assert pods[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert "httpd" in [r[0] for r in pods]
    wide = rows(cli("get", "pods", "-n", "demo", "-o", "wide").stdout)
    assert wide[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    deploys = rows(cli("get", "deploy", "-n", "demo").stdout)
    assert deploys[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert "web" in [r[0] for r in deploys]
    everywhere = rows(cli("get", "deployments", "-A").stdout)
    assert everywhere[0][:2] == ["NAMESPACE", "NAME"] and ["demo", "web"] in [r[:2] for r in everywhere]
    for kind in ("rs", "ds", "jobs", "cm", "secrets", "leases", "events"):
        result = cli("get", kind, "-n", "demo")
        assert result.stdout or result.stderr.strip() == "No resources found in demo namespace.", kind
    nodes = cli("get", "no")  # --no-agent: no nodes
    assert nodes.stdout.startswith("NAME") or nodes.stderr.strip() == "No resources found"
    assert cli("get", "pods").stderr.strip() == "No resources found in default namespace."

    one = yaml.safe_load(cli("get", "pod/httpd", "-n", "demo", "-o", "yaml").stdout)
    assert (one["kind"], one["metadata"]["name"]) == ("Pod", "httpd")
    many = json.loads(cli("get", "deploy", "-n", "demo", "-o", "json").stdout)
    assert many["kind"] == "List" and "web" in [d["metadata"]["name"] for d in many["items"]]
    assert "deployment.apps/web" in cli("get", "deploy", "-n", "demo", "-o", "name").stdout.split()
    selected = rows(cli("get", "deploy", "-n", "demo", "-l", "app=web").stdout)
    assert [r[0] for r in selected[1:]] == ["web"]
    mixed = cli("get", "pods,deploy", "-n", "demo").stdout
    assert "pod/httpd" in mixed and "deployment.apps/web" in mixed

    missing = cli("get", "pods", "nope", "-n", "demo", ok=False)
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'
    assert cli("get", "gizmos", ok=False).stderr.strip() == 'error: the server doesn\'t have a resource type "gizmos"'
    assert cli("get", "pods", "-l", "app in (web", ok=False).stderr.startswith("error: ")


def test_get_watch_prints_a_row_per_change(cli: Cli, configs: Path, tmp_path: Path) -> None:
    cli("apply", "-f", str(configs))
    watch = cli.start("get", "pods", "-n", "demo", "-w")
    watch.wait_for(lambda line: line.split()[:1] == ["NAME"])
    watch.wait_for(lambda line: line.startswith("httpd "))
    extra = tmp_path / "extra.yaml"
    extra.write_text(POD.format(name="extra"))
    cli("apply", "-f", str(extra))
    added = watch.wait_for(lambda line: line.startswith("extra "))
    assert added.split()[1:3] == ["0/1", "Pending"]
    cli("delete", "pod", "extra", "-n", "demo")
    watch.wait_for(lambda line: line.startswith("extra "))  # the deletion shows as one more row
    code, stderr = watch.stop()
    assert code in (0, 130, -signal.SIGINT) and "Traceback" not in stderr

    only = cli.start("get", "pods", "-n", "demo", "--watch-only", "-o", "name")
    cli("apply", "-f", str(extra))
    # --watch-only prints no "I am watching now" line: if the apply won the race with the
    # watch's initial list, the pod is in the list and not shown; a later change must be.
    for attempt in range(10):
        try:
            assert only.wait_for(lambda line: line.startswith("pod/"), timeout=2.0) == "pod/extra"
            break
        except pytest.fail.Exception:
            cli("apply", "-f", str(_relabel(extra, attempt)))
    else:
        pytest.fail("orch get --watch-only never showed pod/extra")


def test_describe(cli: Cli, configs: Path) -> None:
    cli("apply", "-f", str(configs))
    page = cli("describe", "deploy", "web", "-n", "demo").stdout
    for expected in ("Name:", "web", "Namespace:", "demo", "Selector:", "app=web", "Replicas:", "Pod Template:",
                     "Events:"):
        assert expected in page, expected
    assert "orch.io/last-applied-configuration" not in page
    pod = cli("describe", "pod", "httpd", "-n", "demo").stdout
    assert pod.splitlines()[0].split() == ["Name:", "httpd"] and "Containers:" in pod and "Image:" in pod
    assert cli("describe", "ns", "demo").stdout.startswith("Name:")
    missing = cli("describe", "pod", "nope", "-n", "demo", ok=False)
    assert missing.stderr.strip() == 'Error from server (NotFound): pods "nope" not found'


def test_delete(cli: Cli, configs: Path, tmp_path: Path) -> None:
    cli("apply", "-f", str(configs))
    assert cli("delete", "pod", "httpd", "-n", "demo").stdout.strip() == 'pod "httpd" deleted'
    cli("get", "pod", "httpd", "-n", "demo", ok=False)
    gone = cli("delete", "pod", "httpd", "-n", "demo", ok=False)
    assert gone.stderr.strip() == 'Error from server (NotFound): pods "httpd" not found'
    assert cli("delete", "pod", "httpd", "-n", "demo", "--ignore-not-found").stdout == ""

    two = tmp_path / "two.yaml"
    two.write_text(POD.format(name="a") + "---\n" + POD.format(name="b"))
    cli("apply", "-f", str(two))
    assert cli("delete", "-f", str(two), "--wait").stdout.strip().splitlines() == [
        'pod "b" deleted', 'pod "a" deleted']
    cli("apply", "-f", str(two))
    assert sorted(cli("delete", "pods", "-n", "demo", "-l", "app=extra").stdout.strip().splitlines()) == [
        'pod "a" deleted', 'pod "b" deleted']
    result = cli("delete", "deploy/web", "-n", "demo", "--cascade=orphan")
    assert result.stdout.strip() == 'deployment.apps "web" deleted'


def test_version_and_config_errors(cli: Cli, tmp_path: Path) -> None:
    out = cli("version").stdout.splitlines()
    assert out[0].startswith("Client Version: v") and out[1].startswith("Server Version: ")
    result = cli("get", "pods", "--data-dir", str(tmp_path / "nowhere"), ok=False)
    assert result.stderr.startswith("error: no client configuration found") and "nowhere" in result.stderr


def _relabel(manifest: Path, attempt: int) -> Path:
    """The same pod with one more label: a change the watch must report."""
    out = manifest.with_name(f"relabel-{attempt}.yaml")
    out.write_text(manifest.read_text().replace("labels: {app: extra}", f"labels: {{app: extra, try: '{attempt}'}}"))
    return out
