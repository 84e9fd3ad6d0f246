"""The README's tour, command by command, against a real `orch server` (no agent).

Pods stay Pending without an agent; what is checked is the object side: apply creates
then leaves alone, get/describe/delete do what they say, the CLI finds ./.orch/client.yaml
by itself, and kubectl can read the same server through the kubeconfig orch writes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from tests.conftest import free_port

import pytest

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
APPLIED = ["namespace/demo", "configmap/web-config", "deployment.apps/web", "deployment.apps/notebook",
           "deployment.apps/web-app", "job.batch/pi", "pod/httpd"]


def bare_env(home: Path) -> dict[str, str]:
    """The environment minus every ORCH_* variable, with a HOME of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    env["HOME"] = str(home)
    return env


def test_apply_get_describe_delete(orch_server) -> None:
    server = orch_server()

    first = server.cli("apply", "-f", str(CONFIGS)).stdout
    assert sorted(line.split()[0] for line in first.splitlines()) == sorted(APPLIED), first
    assert all(line.endswith(" created") for line in first.splitlines()), first
    assert first.splitlines()[0] == "namespace/demo created"  # namespaces go first
    again = server.cli("apply", "-f", str(CONFIGS)).stdout
    assert all(line.endswith(" unchanged") for line in again.splitlines()), again

    pods = server.cli("get", "pods", "-A").stdout
    assert pods.split("\n")[0].split()[:2] == ["NAMESPACE", "NAME"] and "httpd" in pods, pods
    deployments = server.cli("get", "deployments", "-n", "demo", "-o", "json").stdout
    names = sorted(item["metadata"]["name"] for item in json.loads(deployments)["items"])
    assert names == ["notebook", "web", "web-app"]
    described = server.cli("describe", "deployment", "web", "-n", "demo").stdout
    assert "Name:" in described and "web" in described and "demo" in described, described

    deleted = server.cli("delete", "-f", str(CONFIGS / "job.yaml")).stdout
    assert 'job.batch "pi" deleted' in deleted, deleted
    gone = server.cli("get", "job", "pi", "-n", "demo", check=False)
    assert gone.returncode != 0 and "not found" in gone.stderr.lower(), gone


def test_the_cli_finds_dot_orch_client_yaml_by_itself(orch_server, tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    server = orch_server(data_dir=workdir / ".orch")
    result = server.cli("get", "namespaces", cwd=workdir, env=bare_env(tmp_path))
    assert "default" in result.stdout, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_reads_the_same_server_through_the_kubeconfig(orch_server, tmp_path: Path) -> None:
    server = orch_server("--kube-port", str(free_port()))
    server.cli("apply", "-f", str(CONFIGS / "namespace.yaml"), "-f", str(CONFIGS / "configmap.yaml"))
    assert "https://" in (server.data_dir / "kubeconfig").read_text()
    result = subprocess.run(
        ["kubectl", "--kubeconfig", str(server.data_dir / "kubeconfig"), "get", "configmaps",
         "-n", "demo", "-o", "name"],
        env=bare_env(tmp_path), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert "configmap/web-config" in result.stdout.split()


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_apply_validates_through_the_server(orch_server, tmp_path: Path) -> None:
    """kubectl apply (with its default validation) creates, then configures; a typo is refused
    by the server with the field path."""
    server = orch_server("--kube-port", str(free_port()))
    kubectl = ["kubectl", "--kubeconfig", str(server.data_dir / "kubeconfig")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*kubectl, *args], env=bare_env(tmp_path), capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    created = run("apply", "-f", str(CONFIGS / "namespace.yaml"), "-f", str(CONFIGS / "deployment.yaml"))
    assert created.returncode == 0, created.stderr
    assert "deployment.apps/web created" in created.stdout
    smaller = tmp_path / "deployment.yaml"
    smaller.write_text((CONFIGS / "deployment.yaml").read_text().replace("replicas: 3", "replicas: 2"))
    configured = run("apply", "-f", str(smaller))
    assert configured.returncode == 0 and "configured" in configured.stdout, configured.stderr
    assert run("get", "deployment", "web", "-n", "demo", "-o", "jsonpath={.spec.replicas}").stdout == "2"
    table = run("get", "deployments", "-n", "demo").stdout.splitlines()  # server-side Table columns
    assert table[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], table
    assert table[1].split()[:2] == ["web", "0/2"], table
    # kubectl sends a strategic merge patch: the container list merges by name, so a new image
    # keeps the container's command and resources, and a new env var joins the list.
    retagged = tmp_path / "retagged.yaml"
    retagged.write_text(smaller.read_text().replace("busybox:latest", "busybox:v2").replace(
        "command:", 'env: [{name: MODE, value: fast}]\n          command:'))
    patched = run("apply", "-f", str(retagged))
    assert patched.returncode == 0 and "configured" in patched.stdout, patched.stderr
    live = json.loads(run("get", "deployment", "web", "-n", "demo", "-o", "json").stdout)
    (container,) = live["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "orch-test/busybox:v2" and container["command"] == ["sleep", "3600"], container
    assert container["resources"]["limits"]["memory"] == "32Mi" and container["env"] == [
        {"name": "MODE", "value": "fast"}], container
    assert "$setElementOrder/containers" not in json.dumps(live)
    typo = tmp_path / "typo.yaml"
    typo.write_text((CONFIGS / "pod.yaml").read_text().replace("image:", "imagee:", 1))
    refused = run("apply", "-f", str(typo))
    assert refused.returncode != 0 and "spec.containers[0].imagee: unknown field" in refused.stderr
    # Server-side apply creates what is missing, then merges into what exists.
    server_side = run("apply", "--server-side", "-f", str(CONFIGS / "configmap.yaml"))
    assert server_side.returncode == 0 and "configmap/web-config serverside-applied" in server_side.stdout, \
        server_side.stderr
    assert run("get", "configmap", "web-config", "-n", "demo", "-o", "name").stdout.strip() == "configmap/web-config"
