"""`orch sim` subprocesses next to a real `orch server` (see tests/conftest.py).

- `orch_sim(server, *args)`: starts `orch sim --join URL --token JOIN_TOKEN ARGS` with
  a loopback control listener, waits for its "control listening" and "joined" lines, and
  returns a `SimProcess` (stdout log, control URL, stop()). Every sim is stopped at teardown.
- `Api`: tiny synchronous JSON calls against the server with the admin token.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import OrchServer, orch_command

START_TIMEOUT_S = 20.0


class SimProcess:
    def __init__(self, *, process: subprocess.Popen[bytes], log_path: Path) -> None:
        self.process, self.log_path = process, log_path
        self.control = ""

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_line(self, prefix: str, *, timeout: float = START_TIMEOUT_S) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.output.splitlines():
                if line.startswith(prefix):
                    return line
            if self.process.poll() is not None:
                pytest.fail(f"orch sim exited with {self.process.returncode}:\n{self.output}", pytrace=False)
            time.sleep(0.05)
        pytest.fail(f"orch sim printed no {prefix!r} line within {timeout:.0f}s:\n{self.output}", pytrace=False)

    def post(self, path: str) -> Any:
        req = urllib.request.Request(self.control + path, method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.load(r)

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.control + path, timeout=5) as r:
            return json.load(r)

    def stop(self, *, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"orch sim did not stop within {timeout:.0f}s of SIGTERM:\n{self.output}", pytrace=False)
        return self.process.returncode


def start_sim(server: OrchServer, *args: str, log_path: Path, control: bool = True) -> SimProcess:
    token = (server.data_dir / "join-token").read_text().strip()
    cmd = [*orch_command(), "sim", "--join", server.url, f"--token={token}", *args]  # a token may start with "-"
    if control:
        cmd += ["--control", "127.0.0.1:0"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    sim = SimProcess(process=proc, log_path=log_path)
    if control:
        sim.control = sim.wait_for_line("control listening on ").rpartition(" ")[2]
        sim.wait_for_line("joined ")
    return sim


@pytest.fixture
def orch_sim(tmp_path: Path) -> Iterator[Callable[..., SimProcess]]:
    sims: list[SimProcess] = []

    def make(server: OrchServer, *args: str, control: bool = True) -> SimProcess:
        sim = start_sim(server, *args, log_path=tmp_path / f"sim-{len(sims)}.log", control=control)
        sims.append(sim)
        return sim

    yield make
    for sim in sims:
        sim.stop()


class Api:
    def __init__(self, server: OrchServer) -> None:
        self.url, self.token = server.url, server.token

    def call(self, method: str, path: str, body: Any = None, *,
             content_type: str = "application/json") -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": f"Bearer {self.token}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.load(r)
        except urllib.error.HTTPError as exc:
            return exc.code, json.load(exc)

    def get(self, path: str) -> Any:
        status, body = self.call("GET", path)
        assert status == 200, body
        return body

    def wait_for(self, what: str, fn: Callable[[], Any], *, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = fn()
            if result:
                return result
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}", pytrace=False)
            time.sleep(0.05)
