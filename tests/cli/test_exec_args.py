"""`orch exec` words: the command after `--`, flags on either side of POD, and errors (before any request)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog

from orchestrator.cli import main as cli_main
from orchestrator.cli.exec import split_command

# Nothing listens there: errors must come first. Given before POD, as words after POD with no `--` are the command.
NOWHERE = ["--server", "http://127.0.0.1:9", "--token", "t"]


@pytest.fixture(autouse=True)
def _keep_structlog_config() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.mark.parametrize(("argv", "pod", "command", "namespace", "container"), [
    (["web", "--", "sh", "-c", "exit 3"], "web", ["sh", "-c", "exit 3"], None, ""),
    (["web", "-n", "demo", "-c", "side", "--", "ls", "-l"], "web", ["ls", "-l"], "demo", "side"),
    (["-n", "demo", "pod/web", "--", "echo", "-n", "hi"], "pod/web", ["echo", "-n", "hi"], "demo", ""),
    (["-c", "a", "web", "-n", "d", "--", "grep", "--", "x"], "web", ["grep", "--", "x"], "d", "a"),
    (["web", "--", "grep", "--", "x"], "web", ["grep", "--", "x"], None, ""),  # only the first -- is ours
    (["web", "date"], "web", ["date"], None, ""),
])
def test_the_command_is_everything_after_the_first_dashes(argv: list[str], pod: str, command: list[str],
                                                          namespace: str | None, container: str) -> None:
    args = cli_main.parse(cli_main.build_parser(), ["exec", *argv])
    assert (args.pod, split_command(args), args.namespace, args.container) == (pod, command, namespace, container)


@pytest.mark.parametrize(("argv", "stdin", "tty"), [
    (["-it", "web", "--", "sh"], True, True),
    (["web", "-i", "--", "cat", "-t"], True, False),  # the command's -t is not ours
    (["web", "-t", "-n", "d", "--", "sh"], False, True),
])
def test_i_and_t_are_read_on_either_side_of_pod(argv: list[str], stdin: bool, tty: bool) -> None:
    args = cli_main.parse(cli_main.build_parser(), ["exec", *argv])
    split_command(args)
    assert (args.stdin, args.tty) == (stdin, tty)


@pytest.mark.parametrize(("argv", "message"), [
    (["web"], "error: orch exec needs a command: "),
    (["web", "--"], "error: orch exec needs a command: "),
    ([], "error: orch exec needs a pod: "),
    (["web", "-n", "demo", "ls"], "error: put the command after --: "),
    (["web", "-n", "demo", "extra", "--", "ls"], "error: unexpected 'extra' before --: "),
    (["deploy/web", "--", "ls"], "error: orch exec runs commands in pods; 'deploy/web' is not a pod"),
])
def test_mistakes_exit_1_before_any_request(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.main(["exec", *NOWHERE, *argv]) == 1
    assert capsys.readouterr().err.startswith(message)
