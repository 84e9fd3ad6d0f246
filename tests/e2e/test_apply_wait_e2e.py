"""`orch apply --wait` against `orch server` + `orch sim`: progress lines, success, failure."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import OrchServer
from tests.sim.conftest import SimProcess, orch_sim  # noqa: F401 - the fixture

SIM = ("--lease-interval", "0.3", "--job-seconds", "0.3")

GOOD = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: busybox, command: [sleep, "3600"]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  completions: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: ["true"]}]
"""

FAILING = """apiVersion: v1
kind: Pod
metadata:
  name: broken
  annotations: {orch.io/sim-exit-code: "3"}
spec:
  restartPolicy: Never
  containers: [{name: c, image: busybox, command: ["false"]}]
"""


def test_apply_wait_follows_until_up(orch_server: Callable[..., OrchServer],
                                     orch_sim: Callable[..., SimProcess], tmp_path: Path) -> None:
    server = orch_server()
    orch_sim(server, "--nodes", "2", "--name-prefix", "w", *SIM).wait_for_line("joined ")
    (tmp_path / "good.yaml").write_text(GOOD)
    result = server.cli("apply", "-f", str(tmp_path / "good.yaml"), "--wait", "--timeout", "60")
    lines = result.stdout.splitlines()
    assert "deployment.apps/web created" in lines and "job.batch/once created" in lines
    assert any(line.startswith("deployment.apps/web: ready (3/3 available") for line in lines), result.stdout
    assert any(line.startswith("job.batch/once: ready (2/2 completions") for line in lines), result.stdout
    assert lines[-1].startswith("all 2 objects are up")


def test_apply_wait_reports_a_failure(orch_server: Callable[..., OrchServer],
                                      orch_sim: Callable[..., SimProcess], tmp_path: Path) -> None:
    server = orch_server()
    orch_sim(server, "--nodes", "1", "--name-prefix", "f", *SIM).wait_for_line("joined ")
    (tmp_path / "bad.yaml").write_text(FAILING)
    result = server.cli("apply", "-f", str(tmp_path / "bad.yaml"), "--wait", "--timeout", "30", check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "pod/broken: failed" in result.stdout and "error: pod/broken" in result.stdout


def test_apply_wait_times_out_with_a_message(orch_server: Callable[..., OrchServer], tmp_path: Path) -> None:
    server = orch_server()  # no nodes: the pod can never run
    (tmp_path / "pod.yaml").write_text(FAILING.replace("broken", "stuck"))
    result = server.cli("apply", "-f", str(tmp_path / "pod.yaml"), "--wait", "--timeout", "2", check=False)
    assert result.returncode == 1
    assert "pod/stuck: waiting: Pending" in result.stdout
    assert "timed out after 2s waiting for pod/stuck" in result.stdout
