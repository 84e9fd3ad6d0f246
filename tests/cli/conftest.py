"""Running the real `orch` executable against a real `orch server` subprocess.

The server comes from the shared `orch_server` fixture (tests/conftest.py). The CLI finds
it the way a person's shell would: through ORCH_DATA_DIR (the server's client.yaml),
with every other ORCH_* variable cleared.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import OrchServer, orch_command

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Cli:
    server: OrchServer
    cwd: Path
    started: list[Running] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORCH_")}
        env["ORCH_DATA_DIR"] = str(self.server.data_dir)
        return env

    def __call__(self, *args: str, ok: bool | None = True, stdin: str | None = None,
                 timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
        """`orch ARGS`; ok=True expects exit 0, ok=False non-zero, None either."""
        result = subprocess.run([*orch_command(), *args], env=self.env, cwd=self.cwd, capture_output=True,
                                text=True, timeout=timeout, input=stdin)
        if ok is not None and (result.returncode == 0) != ok:
            pytest.fail(f"orch {' '.join(args)} exited with {result.returncode}:\n"
                        f"--- stdout\n{result.stdout}--- stderr\n{result.stderr}", pytrace=False)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def start(self, *args: str) -> Running:
        proc = subprocess.Popen([*orch_command(), *args], env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        self.started.append(Running(proc))
        return self.started[-1]

    def close(self) -> None:
        for r in self.started:
            if r.proc.poll() is None:
                r.proc.kill()
                r.proc.wait()


@dataclass
class Running:
    """A long-running `orch` (get -w): its stdout read line by line, with timeouts."""

    proc: subprocess.Popen[str]
    lines: queue.Queue[str] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, predicate: Callable[[str], bool], *, timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        seen = []
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if predicate(line):
                return line
        pytest.fail(f"no matching line within {timeout}s; got:\n" + "\n".join(seen), pytrace=False)

    def stop(self) -> tuple[int, str]:
        """Ctrl-C, like a person would; (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        assert self.proc.stderr is not None
        return self.proc.returncode, self.proc.stderr.read()


@pytest.fixture
def cli(orch_server: Callable[..., OrchServer], tmp_path: Path) -> Iterator[Cli]:
    work = tmp_path / "work"
    work.mkdir()
    runner = Cli(server=orch_server(), cwd=work)
    yield runner
    runner.close()
