"""Client config discovery: flags, then env, then the first config file found; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.client.config import ConfigNotFound, find_config


def write(path: Path, server: str, token: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"server: {server}\ntoken: {token}\n")
    return path


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    return {"cwd": tmp_path / "work", "home": tmp_path / "home", "data": tmp_path / "data",
            "explicit": tmp_path / "explicit.yaml"}


def find(places: dict[str, Path], env: dict[str, str] | None = None, **kw: str) -> tuple[str, str, str]:
    cfg = find_config(env=env or {}, cwd=places["cwd"], home=places["home"], **kw)
    return cfg.server, cfg.token, cfg.source


def test_files_in_order_cwd_then_home(places: dict[str, Path]) -> None:
    home = write(places["home"] / ".config/orch/config.yaml", "http://home", "th")
    assert find(places) == ("http://home", "th", str(home))
    cwd = write(places["cwd"] / ".orch/client.yaml", "http://cwd", "tc")
    assert find(places) == ("http://cwd", "tc", str(cwd))


def test_data_dir_flag_or_env_names_client_yaml(places: dict[str, Path]) -> None:
    write(places["cwd"] / ".orch/client.yaml", "http://cwd", "tc")
    data = write(places["data"] / "client.yaml", "http://data", "td")
    assert find(places, data_dir=str(places["data"])) == ("http://data", "td", str(data))
    assert find(places, {"ORCH_DATA_DIR": str(places["data"])}) == ("http://data", "td", str(data))
    other = write(places["data"].parent / "other" / "client.yaml", "http://other", "to")
    assert find(places, {"ORCH_DATA_DIR": str(places["data"])}, data_dir=str(other.parent))[0] == "http://other"


def test_orch_config_wins_over_data_dir(places: dict[str, Path]) -> None:
    write(places["data"] / "client.yaml", "http://data", "td")
    explicit = write(places["explicit"], "http://explicit", "te")
    env = {"ORCH_CONFIG": str(explicit), "ORCH_DATA_DIR": str(places["data"])}
    assert find(places, env)[:2] == ("http://explicit", "te")
    assert find(places, {"ORCH_DATA_DIR": str(places["data"])}, config_path=str(explicit))[0] == "http://explicit"


def test_env_overrides_the_file_and_flags_override_env(places: dict[str, Path]) -> None:
    write(places["cwd"] / ".orch/client.yaml", "http://cwd", "tc")
    assert find(places, {"ORCH_TOKEN": "envtoken"})[:2] == ("http://cwd", "envtoken")
    assert find(places, {"ORCH_SERVER": "http://env"})[:2] == ("http://env", "tc")
    env = {"ORCH_SERVER": "http://env", "ORCH_TOKEN": "envtoken"}
    assert find(places, env) == ("http://env", "envtoken", "flags/environment")
    assert find(places, env, server="http://flag")[:2] == ("http://flag", "envtoken")
    assert find(places, env, server="http://flag", token="ft")[:2] == ("http://flag", "ft")


def test_flags_alone_need_no_file(places: dict[str, Path]) -> None:
    assert find(places, server="http://x", token="t")[:2] == ("http://x", "t")


def test_nothing_found_says_where_it_looked(places: dict[str, Path]) -> None:
    with pytest.raises(ConfigNotFound) as info:
        find(places)
    msg = str(info.value)
    assert str(places["cwd"] / ".orch/client.yaml") in msg
    assert str(places["home"] / ".config/orch/config.yaml") in msg
    assert "ORCH_SERVER" in msg


def test_a_named_file_that_is_missing_is_an_error_not_a_fallback(places: dict[str, Path]) -> None:
    write(places["cwd"] / ".orch/client.yaml", "http://cwd", "tc")
    with pytest.raises(ConfigNotFound, match=str(places["data"] / "client.yaml")):
        find(places, data_dir=str(places["data"]))
    with pytest.raises(ConfigNotFound, match="nope.yaml"):
        find(places, {"ORCH_CONFIG": str(places["cwd"] / "nope.yaml")})


def test_bad_files(places: dict[str, Path]) -> None:
    path = places["cwd"] / ".orch/client.yaml"
    path.parent.mkdir(parents=True)
    path.write_text("server: [unclosed\n")
    with pytest.raises(ConfigNotFound, match="not valid YAML"):
        find(places)
    path.write_text("server: http://x\n")
    with pytest.raises(ConfigNotFound, match="has no token"):
        find(places)
    path.write_text("- a list\n")
    with pytest.raises(ConfigNotFound, match="mapping"):
        find(places)
