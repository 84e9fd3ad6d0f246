"""`orch logs` flags: --since durations, --since-time, and their errors (before any request)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from orchestrator.cli import main as cli_main
from orchestrator.cli.common import CliError
from orchestrator.cli.logs import parse_since

NOWHERE = ["--server", "http://127.0.0.1:9", "--token", "t"]  # nothing listens: errors must come first


@pytest.fixture(autouse=True)
def _keep_structlog_config() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.mark.parametrize(("text", "seconds"), [
    ("10s", 10), ("5m", 300), ("1h", 3600), ("1h30m", 5400), ("1.5h", 5400), ("2h45m30s", 9930),
    ("500ms", 1), ("1500ms", 2), ("0.1h", 360), (".5s", 1), ("1m0.5s", 61),  # rounded up, as kubectl
])
def test_since_durations(text: str, seconds: int) -> None:
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text", ["10", "5 m", "1d", "abc", "h", "1h30", "0s", "0", "-5m", "1h-5m", "1e3s", "٣s"])
def test_since_junk(text: str) -> None:
    with pytest.raises(CliError, match="^--since "):
        parse_since(text)


def test_logs_flag_errors_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["logs", "web", "--since", "soon", *NOWHERE]) == 1
    assert capsys.readouterr().err == ("error: --since 'soon': expected a positive duration like "
                                       "10s, 5m, 1h or 1h30m\n")
    assert cli_main.main(["logs", "web", "--since-time", "2026-11-28", *NOWHERE]) == 1
    assert capsys.readouterr().err.startswith("error: --since-time: '2026-11-28' is not an RFC 3339 time")
    assert cli_main.main(["logs", "web", "--since", "5m", "--since-time", "2026-11-28T18:00:00Z", *NOWHERE]) == 1
    assert capsys.readouterr().err == "error: give at most one of --since and --since-time\n"
    assert cli_main.main(["logs", "web", "--since", "5m", "--timestamps", *NOWHERE]) == 1  # valid: it tries
    assert capsys.readouterr().err.startswith("Unable to connect to the server: ")
