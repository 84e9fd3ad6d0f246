"""`orch agent` flags and their ORCH_* twins; `orch token --ttl` durations."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from orchestrator.cli.agent import options_from
from orchestrator.cli.common import CliError
from orchestrator.cli.main import build_parser
from orchestrator.cli.token import parse_ttl

ENV = {"ORCH_JOIN": "10.0.0.1:6443", "ORCH_TOKEN": "tok", "ORCH_NODE_NAME": "n7", "ORCH_ADVERTISE": "10.0.0.7:7000",
       "ORCH_LISTEN": "0.0.0.0:7000", "ORCH_DATA_DIR": "/var/lib/orch-agent", "ORCH_RUNTIME": "process",
       "ORCH_GPUS": "2xH100-80GB", "ORCH_LABELS": "zone=a, rack=r1", "ORCH_LEASE_RENEW": "2.5",
       "ORCH_GOSSIP_INTERVAL": "0.5", "ORCH_GOSSIP_FANOUT": "4", "ORCH_SUSPECT_AFTER": "3"}


def parse(*argv: str):  # noqa: ANN201
    return options_from(build_parser().parse_args(["agent", *argv]))


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_every_flag_has_an_env_twin(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        clean_env.setenv(name, value)
    o = parse()
    assert (o.join_url, o.join_token, o.name, o.advertise, o.listen) == \
        ("http://10.0.0.1:6443", "tok", "n7", "10.0.0.7:7000", "0.0.0.0:7000")
    assert (o.data_dir, o.runtime, o.gpus, o.labels) == \
        (Path("/var/lib/orch-agent"), "process", "2xH100-80GB", {"zone": "a", "rack": "r1"})
    n = o.nodes
    assert (n.lease_renew_s, n.gossip_interval_s, n.gossip_fanout, n.suspect_after_s) == (2.5, 0.5, 4, 3.0)


def test_flags_win_over_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        clean_env.setenv(name, value)
    o = parse("--join", "https://s:1/", "--name", "other", "--label", "x=1", "--label", "y=", "--runtime", "sim",
              "--lease-renew", "1")
    assert o.join_url == "https://s:1" and o.name == "other" and o.labels == {"x": "1", "y": ""}
    assert o.runtime == "sim" and o.nodes.lease_renew_s == 1.0


def test_defaults_and_mistakes(clean_env: pytest.MonkeyPatch) -> None:
    o = parse("--join", "http://s:6443")
    assert (o.listen, o.data_dir, o.runtime, o.gpus, o.name, o.join_token) == \
        ("0.0.0.0:10250", Path(".orch-agent"), "auto", "auto", "", "")
    with pytest.raises(CliError, match="--join URL is required"):
        parse()
    with pytest.raises(CliError, match="KEY=VALUE"):
        parse("--join", "s:1", "--label", "novalue")
    with pytest.raises(CliError, match="must be positive"):
        parse("--join", "s:1", "--gossip-interval", "0")
    clean_env.setenv("ORCH_LEASE_RENEW", "soon")
    with pytest.raises(CliError, match="ORCH_LEASE_RENEW"):
        parse("--join", "s:1")


def test_token_ttls() -> None:
    assert parse_ttl("90s") == timedelta(seconds=90) and parse_ttl("1h") == timedelta(hours=1)
    assert parse_ttl("2h30m") == timedelta(hours=2, minutes=30) and parse_ttl("7d") == timedelta(days=7)
    assert parse_ttl("0") is None and parse_ttl("never") is None
    for bad in ("", "1x", "h", "1h 2m", "-1h", "0s"):
        with pytest.raises(CliError):
            parse_ttl(bad)
