"""The store's safety nets with real `orch server` processes: one server per data dir,
automatic snapshots with retention, `orch snapshot save|list|restore`."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import OrchServer, free_port, orch_command

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*orch_command(), *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, env=env)


def test_snapshots_and_one_server_per_data_dir(orch_server: Callable[..., OrchServer]) -> None:
    server = orch_server("--no-agent", "--kube-port", "0", "--snapshot-interval", "0.3", "--snapshot-retain", "2")
    data = str(server.data_dir)
    second = _run("server", "--data-dir", data, "--listen", f"127.0.0.1:{free_port()}", "--kube-port", "0",
                  "--no-agent")
    assert second.returncode == 1 and "in use by another orch server" in second.stderr, second.stderr

    server.cli("apply", "-f", str(CONFIGS / "namespace.yaml"), "-f", str(CONFIGS / "configmap.yaml"))
    saved = server.cli("snapshot", "save", "--data-dir", data, str(server.data_dir / "before.db")).stdout
    assert "snapshot saved" in saved and "before.db" in saved, saved
    server.cli("delete", "configmap", "web-config", "-n", "demo")
    time.sleep(1.2)  # a few automatic rounds
    listed = json.loads(server.cli("snapshot", "list", "--data-dir", data, "-o", "json").stdout)
    assert len(listed) == 2, listed  # retention: the newest two
    assert all(Path(s["path"]).name.startswith("state-") for s in listed)
    busy = _run("snapshot", "restore", str(server.data_dir / "before.db"), "--data-dir", data)
    assert busy.returncode == 1 and "in use by another orch server" in busy.stderr, busy.stderr

    assert server.stop() == 0
    restored = _run("snapshot", "restore", str(server.data_dir / "before.db"), "--data-dir", data)
    assert restored.returncode == 0 and "previous store is kept at" in restored.stdout, restored
    server.start()
    got = server.cli("get", "configmap", "web-config", "-n", "demo", "-o", "name").stdout
    assert got.strip() == "configmap/web-config"  # back from the snapshot
    table = server.cli("snapshot", "list", "--data-dir", data, "--dir", data).stdout
    assert table.splitlines()[0].split() == ["NAME", "TAKEN", "REVISION", "OBJECTS", "SIZE"]
