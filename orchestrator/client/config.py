"""Where a client finds its server and token.

Each of server and token, first found wins:
  1. explicit values (the CLI's --server / --token),
  2. the environment: ORCH_SERVER, ORCH_TOKEN,
  3. a config file (YAML `server:` and `token:`), the first of:
       --config / ORCH_CONFIG (must exist when named),
       --data-dir / ORCH_DATA_DIR: DIR/client.yaml (must exist when named),
       ./.orch/client.yaml (what `orch server` writes in its default data dir),
       ~/.config/orch/config.yaml.
When server or token is still missing, ConfigNotFound says every place it looked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

CLIENT_FILE = "client.yaml"


class ConfigNotFound(Exception):
    """No usable client configuration; the message lists where we looked."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    server: str
    token: str
    source: str = ""  # where it came from, for messages


def candidate_files(*, config_path: str = "", data_dir: str = "", env: Mapping[str, str],
                    cwd: Path, home: Path) -> tuple[list[Path], bool]:
    """The config files to try in order, and whether the first was named explicitly."""
    if named := config_path or env.get("ORCH_CONFIG", ""):
        return [Path(named).expanduser()], True
    if named_dir := data_dir or env.get("ORCH_DATA_DIR", ""):
        return [Path(named_dir).expanduser() / CLIENT_FILE], True
    return [cwd / ".orch" / CLIENT_FILE, home / ".config" / "orch" / "config.yaml"], False


def load_file(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigNotFound(f"the client config {path} is not valid YAML: {exc}") from None
    except OSError as exc:
        raise ConfigNotFound(f"cannot read the client config {path}: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise ConfigNotFound(f"the client config {path} should be a mapping with `server:` and `token:`")
    return {k: str(v) for k, v in data.items() if isinstance(k, str) and v is not None}


def find_config(*, server: str = "", token: str = "", config_path: str = "", data_dir: str = "",
                env: Mapping[str, str] | None = None, cwd: Path | None = None,
                home: Path | None = None) -> ClientConfig:
    env = os.environ if env is None else env
    server = server or env.get("ORCH_SERVER", "")
    token = token or env.get("ORCH_TOKEN", "")
    if server and token:
        return ClientConfig(server=server, token=token, source="flags/environment")
    files, named = candidate_files(config_path=config_path, data_dir=data_dir, env=env,
                                   cwd=cwd or Path.cwd(), home=home or Path.home())
    for path in files:
        if path.is_file():
            data = load_file(path)
            cfg = ClientConfig(server=server or data.get("server", ""), token=token or data.get("token", ""),
                               source=str(path))
            missing = [k for k in ("server", "token") if not getattr(cfg, k)]
            if missing:
                raise ConfigNotFound(f"the client config {path} has no {' or '.join(missing)}")
            return cfg
        if named:
            break
    looked = ", ".join(str(p) for p in files)
    lacking = " and ".join(k for k, v in (("server", server), ("token", token)) if not v)
    raise ConfigNotFound(
        f"no client configuration found: {lacking} not given (--server/--token or ORCH_SERVER/ORCH_TOKEN) "
        f"and no config file at {looked}. Start a server with `orch server` (it writes "
        f"<data-dir>/client.yaml), or point --data-dir / ORCH_DATA_DIR or ORCH_CONFIG at one")
