"""Command-line parsing: kinds and names, selectors, env twins, server settings, error output."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from orchestrator.cli import main as cli_main
from orchestrator.cli.common import CliError, check_selectors, namespace_of, resolve_kinds, split_targets
from orchestrator.cli.server import parse_listen, settings_from


@pytest.fixture(autouse=True)
def _keep_structlog_config() -> Iterator[None]:
    """main() configures structlog for the process; put back what other tests expect."""
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def kinds(text: str) -> list[str]:
    return [k.kind for k in resolve_kinds(text)]


@pytest.mark.parametrize("name", ["po", "pod", "pods", "Pod", "PODS"])
def test_any_name_of_a_kind(name: str) -> None:
    assert kinds(name) == ["Pod"]


def test_short_names_lists_and_all() -> None:
    assert kinds("deploy,rs,ds,no,ns") == ["Deployment", "ReplicaSet", "DaemonSet", "Node", "Namespace"]
    assert kinds("deployments.apps") == ["Deployment"]
    assert set(kinds("all")) == {"Pod", "Deployment", "ReplicaSet", "DaemonSet", "Job"}
    with pytest.raises(CliError, match='resource type "gizmo"'):
        resolve_kinds("gizmo")


def test_targets_kind_names_and_kind_slash_name() -> None:
    assert [(k.kind, n) for k, n in split_targets(["po", "a", "b"])] == [("Pod", ["a", "b"])]
    assert [(k.kind, n) for k, n in split_targets(["po/a", "deploy/w", "pod/b"])] == [
        ("Pod", ["a", "b"]), ("Deployment", ["w"])]
    assert [(k.kind, n) for k, n in split_targets(["pods,deploy"])] == [("Pod", []), ("Deployment", [])]
    with pytest.raises(CliError):
        split_targets(["pods", "deploy/w"])
    with pytest.raises(CliError):
        split_targets(["pods,deploy", "a"])
    with pytest.raises(CliError):
        split_targets(["pod/"])


def test_selectors_are_checked_before_asking_the_server() -> None:
    check_selectors(label_selector="app=web,tier in (a,b),!spot", field_selector="spec.nodeName=n1")
    with pytest.raises(CliError):
        check_selectors(label_selector="app in (web")
    with pytest.raises(CliError):
        check_selectors(field_selector="spec.bogus=1")


def parse(*argv: str) -> object:
    return cli_main.build_parser().parse_args(list(argv))


def test_namespace_flag_env_twin_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORCH_NAMESPACE", raising=False)
    assert namespace_of(parse("get", "pods")) == "default"  # type: ignore[arg-type]
    monkeypatch.setenv("ORCH_NAMESPACE", "team")
    assert namespace_of(parse("get", "pods")) == "team"  # type: ignore[arg-type]
    assert namespace_of(parse("get", "pods", "-n", "x")) == "x"  # type: ignore[arg-type]


def test_get_flags() -> None:
    args = parse("get", "po", "-A", "-l", "app=web", "--field-selector", "status.phase=Running", "-o", "wide", "-w")
    assert (args.all_namespaces, args.selector, args.field_selector, args.output, args.watch) == (  # type: ignore[attr-defined]
        True, "app=web", "status.phase=Running", "wide", True)


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:6443") == ("127.0.0.1", 6443)
    assert parse_listen(":7000") == ("127.0.0.1", 7000)
    assert parse_listen("[::1]:7000") == ("::1", 7000)
    for bad in ("nope", "host:http", "h:70000"):
        with pytest.raises(CliError):
            parse_listen(bad)


def test_server_settings_from_flags_and_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ORCH_DATA_DIR", "ORCH_LISTEN", "ORCH_LOG_FORMAT", "ORCH_NO_AGENT", "ORCH_SYNC"):
        monkeypatch.delenv(name, raising=False)
    s = settings_from(parse("server"))  # type: ignore[arg-type]
    assert (str(s.data_dir), s.api.listen_port, s.embedded_agent, s.store.synchronous) == (".orch", 6443, True, "FULL")
    monkeypatch.setenv("ORCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ORCH_LISTEN", "127.0.0.1:7001")
    monkeypatch.setenv("ORCH_NO_AGENT", "true")
    monkeypatch.setenv("ORCH_SYNC", "normal")
    monkeypatch.setenv("ORCH_LOG_FORMAT", "json")
    s = settings_from(parse("server"))  # type: ignore[arg-type]
    assert (s.data_dir, s.api.listen_port, s.embedded_agent, s.store.synchronous, s.log_format) == (
        tmp_path, 7001, False, "NORMAL", "json")
    assert s.store.path == tmp_path / "state.db"
    s = settings_from(parse("server", "--listen", "0.0.0.0:7002", "--sync", "off", "--event-log-retain", "5",  # type: ignore[arg-type]
                            "--compact-interval", "0.5"))
    assert (s.api.listen_host, s.api.listen_port, s.store.synchronous) == ("0.0.0.0", 7002, "OFF")
    assert (s.store.event_log_retain, s.store.compact_interval_s) == (5, 0.5)


def test_expected_errors_print_one_line_and_exit_1(capsys: pytest.CaptureFixture[str],
                                                   monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("ORCH_SERVER", "ORCH_TOKEN", "ORCH_CONFIG", "ORCH_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    assert cli_main.main(["get", "gizmos"]) == 1
    assert capsys.readouterr().err == 'error: the server doesn\'t have a resource type "gizmos"\n'
    assert cli_main.main(["get", "pods"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no client configuration found") and str(tmp_path / ".orch/client.yaml") in err
    assert cli_main.main(["get", "pods", "--server", "http://127.0.0.1:9", "--token", "t"]) == 1
    assert capsys.readouterr().err.startswith("Unable to connect to the server: ")
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containerz: []}\n")
    assert cli_main.main(["apply", "-f", str(bad), "--server", "http://127.0.0.1:9", "--token", "t"]) == 1
    assert capsys.readouterr().err == (f'error: {bad}: document 1 (line 4): Pod "a" is invalid: '
                                       "spec.containerz: unknown field\n")
    assert cli_main.main([]) == 2


def test_verbs_are_registered_from_one_list() -> None:
    assert cli_main.COMMANDS[:6] == ["server", "apply", "get", "describe", "delete", "version"]
    parser = cli_main.build_parser()
    for verb in cli_main.COMMANDS:
        assert parser.parse_args([verb, *(["x"] if verb in ("get", "describe") else [])] + (
            ["-f", "x"] if verb == "apply" else [])).handler is not None
