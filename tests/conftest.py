"""Shared fixtures: real `orch server` processes, the Docker requirement, task hygiene.

- `free_port()`: a TCP port on 127.0.0.1 nobody listens on (yet).
- `orch_server`: a factory; each call starts `orch server --data-dir TMP --listen
  127.0.0.1:PORT --no-agent` as a subprocess, waits for `/readyz`, and returns an
  `OrchServer` handle (url, token, data_dir, env for the CLI, stop/kill/start). Every
  server is stopped at teardown; when the test failed, the tail of each server's log
  is printed (pytest shows it under "Captured stdout teardown").
- `docker_required` (fixture) and the `docker` marker: the test needs a Docker engine
  and the test image `orch-test/busybox:latest`. Missing either, the test is skipped,
  or fails under `CI=true`, where skipping would hide that nothing was tested.
- An autouse check that fails a test which leaves asyncio tasks running after itself
  and its fixtures (kopf's habit); it hooks in beside pytest-asyncio's loop runner and
  does nothing for sync tests.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.runtime.image import DOCKER_SOCKET, TEST_IMAGE, engine_answers, ensure_test_image

IN_CI = os.environ.get("CI") == "true"
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0

_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


def free_port() -> int:
    """A port free on 127.0.0.1 right now (the OS picks it; a race is possible but rare)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def orch_command() -> list[str]:
    """The `orch` of the interpreter running the tests, else the module behind it."""
    exe = Path(sys.executable).with_name("orch")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "orchestrator.cli.main"]


# --- orch server ---------------------------------------------------------------------------

class OrchServer:
    """One `orch server` subprocess on a fixed data dir and port; restartable."""

    def __init__(self, *, data_dir: Path, port: int, log_path: Path, args: tuple[str, ...] = ()) -> None:
        self.data_dir = data_dir
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.args = args
        self.token = ""
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def env(self) -> dict[str, str]:
        """The environment for running the `orch` CLI against this server."""
        return {**os.environ, "ORCH_SERVER": self.url, "ORCH_TOKEN": self.token}

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start (or restart) on the same data dir and port; return once /readyz says 200."""
        assert not self.running, "the server is already running"
        cmd = [*orch_command(), "server", "--data-dir", str(self.data_dir),
               "--listen", f"127.0.0.1:{self.port}", "--no-agent",
               *(() if "--kube-port" in self.args else ("--kube-port", "0")), *self.args]
        with self.log_path.open("ab") as log:
            log.write(f"--- {' '.join(cmd)}\n".encode())
            log.flush()
            # Its own session: a Ctrl-C aimed at pytest does not race our own shutdown.
            self.process = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()
        self.token = (self.data_dir / "admin-token").read_text().strip()

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"orch server exited with {self.process.returncode} before it was ready;"
                            f" log tail:\n{self.log_tail()}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=2) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except (OSError, urllib.error.URLError) as exc:
                last = str(exc)
            time.sleep(0.1)
        self.kill()
        pytest.fail(f"orch server not ready within {READY_TIMEOUT_S:.0f}s ({last}); log tail:\n"
                    f"{self.log_tail()}", pytrace=False)

    def stop(self, *, timeout: float = STOP_TIMEOUT_S) -> int:
        """SIGTERM and wait; the exit code. Killed (and the test failed) if it hangs."""
        assert self.process is not None, "the server was never started"
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"orch server did not stop within {timeout:.0f}s of SIGTERM; log tail:\n"
                            f"{self.log_tail()}", pytrace=False)
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL and reap: a crash, as far as the server can tell."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def cli(self, *args: str, check: bool = True, timeout: float = 30.0, cwd: Path | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run `orch ARGS` against this server (or as `env` says); stdout and stderr as text."""
        result = subprocess.run([*orch_command(), *args], env=self.env if env is None else env, cwd=cwd,
                                capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and result.returncode != 0:
            pytest.fail(f"orch {' '.join(args)} exited with {result.returncode}:\n"
                        f"{result.stdout}{result.stderr}", pytrace=False)
        return result

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture
def orch_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., OrchServer]]:
    """Factory: `orch_server(*extra_args, data_dir=None)` -> a started OrchServer."""
    servers: list[OrchServer] = []

    def make(*args: str, data_dir: Path | None = None) -> OrchServer:
        n = len(servers)
        data = data_dir or tmp_path / f"orch-{n}"
        data.mkdir(parents=True, exist_ok=True)
        server = OrchServer(data_dir=data, port=free_port(), log_path=tmp_path / f"orch-{n}.log",
                            args=args)
        servers.append(server)
        server.start()
        return server

    yield make

    try:
        for server in servers:
            if server.running:
                server.stop()  # a server that hangs on SIGTERM fails the test here
    finally:
        for server in servers:
            server.kill()
        if any(r.failed for r in request.node.stash.get(_reports, {}).values()):
            for server in servers:
                print(f"--- orch server {server.url} ({server.log_path}), last lines:\n{server.log_tail()}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


# --- docker --------------------------------------------------------------------------------

@functools.cache
def _docker_problem() -> str | None:
    """Why Docker cannot be used for tests, or None when it can (the image built if needed).

    Asked once per session: the answer does not change while the tests run.
    """
    if not engine_answers(timeout=5.0):
        return f"no Docker engine answers on {DOCKER_SOCKET} (scripts/test starts one)"
    try:
        ensure_test_image()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        return f"the test image {TEST_IMAGE} could not be built: {exc}"
    return None


def require_docker() -> None:
    """Skip (fail under CI=true) unless a Docker engine and the test image are there."""
    problem = _docker_problem()
    if problem is None:
        return
    if IN_CI:
        pytest.fail(f"Docker is required under CI=true: {problem}", pytrace=False)
    pytest.skip(f"needs Docker: {problem}")


@pytest.fixture
def docker_required() -> None:
    require_docker()


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("docker") is not None:
        require_docker()


# --- asyncio task hygiene ------------------------------------------------------------------

def _pending_tasks() -> set[asyncio.Task[object]]:
    """Not-done tasks of every event loop (asyncio keeps them in one weak registry)."""
    for _ in range(100):
        try:
            return {t for t in list(asyncio.tasks._all_tasks) if not t.done()}  # type: ignore[attr-defined]
        except RuntimeError:  # the weak set changed while we copied it
            continue
    return set()


@pytest.fixture(autouse=True)
def _no_leftover_asyncio_tasks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves tasks running once it and its async fixtures are done.

    pytest-asyncio runs each async test in an `asyncio.Runner` fixture, which cancels
    whatever is left when it closes, and so hides leaks. Requesting that runner here
    makes this fixture set up just after it and torn down just before it: after the
    test's own async fixtures have cleaned up, while the loop can still be inspected.
    """
    # Only a per-test loop: a wider one holds tasks of wider fixtures set up after this.
    name = "_function_scoped_runner"
    runner = request.getfixturevalue(name) if name in request.fixturenames else None
    if not isinstance(runner, asyncio.Runner):
        yield
        return
    before = _pending_tasks()
    yield
    loop = runner.get_loop()
    if loop.is_closed():
        return
    loop.run_until_complete(asyncio.sleep(0))  # let tasks that were finishing finish
    leftover = {t for t in _pending_tasks() - before if t.get_loop() is loop}
    if leftover:
        names = ", ".join(sorted(f"{t.get_name()} ({t.get_coro()!r})" for t in leftover))
        pytest.fail(f"the test left asyncio tasks running: {names}", pytrace=False)
