"""`orch exec` and `kubectl exec` against a real `orch server` whose embedded agent runs Docker.

One server and one pod serve every test (module scope): CLI -> server -> agent -> engine,
and kubectl over the HTTPS listener with the kubeconfig orch writes. The pod's containers
carry a label of this run's own, removed at the end whatever happened. -i is fed from a
pipe; -it runs under a pseudo-terminal of a known size.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import shutil
import signal
import struct
import subprocess
import termios
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from tests.conftest import free_port, orch_command, require_docker
from tests.runtime.image import TEST_IMAGE

pytestmark = pytest.mark.docker

SUITE = f"exec-e2e-{uuid.uuid4().hex[:8]}"
TTY_CHECK = "sleep 0.5; tty; stty size; exit 3"  # the sleep lets the first resize arrive before stty reads the size
T = TypeVar("T")


@dataclass
class Served:
    data: Path
    env: dict[str, str]

    def orch(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*orch_command(), *args], env=self.env, capture_output=True, text=True, timeout=60,
                              **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}))

    def kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", "--kubeconfig", str(self.data / "kubeconfig"), *args], env=self.env,
                              capture_output=True, text=True, timeout=60,
                              **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}))


def in_pty(argv: list[str], *, env: dict[str, str], typed: bytes = b"", cols: int = 100, rows: int = 30,
           timeout: float = 60) -> tuple[int, bytes]:
    """(exit code, everything written) of `argv` run with a pty of cols x rows as its terminal, `typed` on it;
    the terminal's settings must be as they were once it exits (raw mode undone)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    settings = termios.tcgetattr(master)  # the master reads the slave's settings
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
    os.close(slave)
    os.write(master, typed)  # held by the terminal until read: typed ahead, as a person may
    output, deadline = b"", time.monotonic() + timeout
    try:
        while select.select([master], [], [], max(0.0, deadline - time.monotonic()))[0]:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the last writer closed its end
                break
            if not data:
                break
            output += data
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        assert termios.tcgetattr(master) == settings, "the terminal was left in raw mode"
        return code, output
    except subprocess.TimeoutExpired:
        return -1, output  # still running: the caller's assertion shows what it wrote
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


def _wait(check: Callable[[], T], *, timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.2)
    return value


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`orch server` with its embedded agent (Docker) and a running two-container pod "box"."""
    require_docker()
    tmp = tmp_path_factory.mktemp("exec")
    data, port = tmp / "srv", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
    with (tmp / "server.log").open("wb") as log:
        proc = subprocess.Popen([*orch_command(), "server", "--data-dir", str(data), "--listen", f"127.0.0.1:{port}",
                                 "--kube-port", str(free_port())], stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        token = _wait(lambda: (data / "admin-token").exists() and (data / "admin-token").read_text().strip(),
                      timeout=20, what="the admin token")
        server = Served(data=data, env={**env, "ORCH_SERVER": f"http://127.0.0.1:{port}", "ORCH_TOKEN": token,
                                        "HOME": str(tmp)})
        container = {"image": TEST_IMAGE, "imagePullPolicy": "IfNotPresent", "command": ["sleep", "3600"]}
        meta = {"name": "box", "labels": {"orch-test.io/suite": SUITE}}
        manifest = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                    "spec": {"terminationGracePeriodSeconds": 1,
                             "containers": [{"name": "main", **container}, {"name": "side", **container}]}}
        (tmp / "box.json").write_text(json.dumps(manifest))
        _wait(lambda: "Ready" in server.orch("get", "nodes").stdout, timeout=30, what="the embedded node")
        assert server.orch("apply", "-f", str(tmp / "box.json")).returncode == 0
        _wait(lambda: _both_running(server), timeout=30, what="both containers of pod box running")
        yield server
        server.orch("delete", "pod", "box", "--wait", "--timeout", "20")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=orch-test.io/suite={SUITE}"],
                             capture_output=True, text=True, timeout=30).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, timeout=60)


def _both_running(server: Served) -> bool:
    # The pod is Running once one container is: wait for both, or exec may find one just created.
    statuses = json.loads(server.orch("get", "pod", "box", "-o", "json").stdout or "{}").get("status", {})
    running = [c["name"] for c in statuses.get("containerStatuses") or [] if "running" in c.get("state", {})]
    return sorted(running) == ["main", "side"]


def test_orch_exec_prints_output_and_exits_with_the_commands_code(served: Served) -> None:
    hi = served.orch("exec", "box", "--", "echo", "hi")
    assert (hi.returncode, hi.stdout) == (0, "hi\n"), hi.stderr
    failed = served.orch("exec", "box", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (failed.returncode, failed.stdout) == (3, "out\n") and "err" in failed.stderr, failed  # kept apart
    side = served.orch("exec", "pod/box", "-n", "default", "-c", "side", "--", "sh", "-c", "echo $HOSTNAME-side")
    assert side.returncode == 0 and side.stdout.strip().endswith("-side"), side.stderr
    missing = served.orch("exec", "box", "--", "no-such-binary")
    assert missing.returncode == 126 and "no-such-binary" in missing.stdout, missing  # the engine's answer
    for args, message in [(("-c", "nope", "--", "ls"), "container nope is not valid for pod box"),
                          (("--", ), "orch exec needs a command")]:
        refused = served.orch("exec", "box", *args)
        assert refused.returncode == 1 and message in refused.stderr, (args, refused.stderr)
    ghost = served.orch("exec", "ghost", "--", "ls")
    assert ghost.returncode == 1 and 'Error from server (NotFound): pods "ghost" not found' in ghost.stderr


def test_orch_exec_i_streams_stdin_to_the_command(served: Served) -> None:
    echoed = served.orch("exec", "-i", "box", "--", "cat", input="hi\nthere\n")
    assert (echoed.returncode, echoed.stdout) == (0, "hi\nthere\n"), echoed.stderr
    counted = served.orch("exec", "-i", "box", "-c", "side", "--", "sh", "-c", "wc -l; exit 4", input="a\nb\nc\n")
    assert (counted.returncode, counted.stdout.strip()) == (4, "3"), counted.stderr
    no_tty = served.orch("exec", "-it", "box", "--", "cat", input="piped\n")  # -t needs a terminal: dropped
    assert (no_tty.returncode, no_tty.stdout) == (0, "piped\n") and "Unable to use a TTY" in no_tty.stderr


def test_orch_exec_it_gives_a_tty_of_the_terminals_size(served: Served) -> None:
    code, output = in_pty([*orch_command(), "exec", "-it", "box", "--", "sh", "-c", TTY_CHECK], env=served.env)
    assert code == 3 and b"/dev/pts/" in output and b"30 100" in output, output
    code, output = in_pty([*orch_command(), "exec", "-it", "box", "--", "sh"], env=served.env,
                          typed=b"echo $((6*7))\rexit 7\r")  # a shell, driven by keys (Enter is \r in raw mode)
    assert code == 7 and b"42\r\n" in output, output


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_exec_prints_output_and_exits_with_the_commands_code(served: Served) -> None:
    hi = served.kubectl("exec", "box", "--", "echo", "hi")
    assert (hi.returncode, hi.stdout) == (0, "hi\n"), hi.stderr
    failed = served.kubectl("exec", "box", "-c", "side", "--", "sh", "-c", "echo bye; exit 3")
    assert (failed.returncode, failed.stdout) == (3, "bye\n"), failed.stderr
    assert "command terminated with exit code 3" in failed.stderr
    apart = served.kubectl("exec", "box", "-c", "main", "--", "sh", "-c", "echo out; echo err >&2")
    assert (apart.stdout, apart.stderr) == ("out\n", "err\n"), apart


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_cp_both_ways(served: Served, tmp_path: Path) -> None:
    """kubectl cp: a tar through exec stdin one way and through stdout the other, while tar
    talks on stderr (which must not end up inside the archive)."""
    (tmp_path / "up.txt").write_text("hello cp\n")
    up = served.kubectl("cp", str(tmp_path / "up.txt"), "default/box:/tmp/up.txt")
    assert up.returncode == 0, up.stderr
    down = served.kubectl("cp", "default/box:/tmp/up.txt", str(tmp_path / "down.txt"))
    assert down.returncode == 0, down.stderr
    assert (tmp_path / "down.txt").read_text() == "hello cp\n"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kubectl_exec_i_and_it(served: Served) -> None:
    echoed = served.kubectl("exec", "-i", "box", "--", "cat", input="hi\n")
    assert (echoed.returncode, echoed.stdout) == (0, "hi\n"), echoed.stderr
    counted = served.kubectl("exec", "-i", "box", "--", "sh", "-c", "wc -l; exit 4", input="a\nb\n")
    assert (counted.returncode, counted.stdout.strip()) == (4, "2"), counted.stderr
    code, output = in_pty(["kubectl", "--kubeconfig", str(served.data / "kubeconfig"), "exec", "-it", "box", "--",
                           "sh", "-c", TTY_CHECK], env=served.env)
    assert code == 3 and b"/dev/pts/" in output and b"30 100" in output, output
