"""Fixtures for fingerprinting: a fake nvidia-smi on PATH, and no real NVML."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures"


def _load_fake_nvidia_smi() -> Callable[..., Path]:
    # By path: the tests directory is not a package, and pytest's default import mode
    # puts only test directories (not the repository root) on sys.path.
    spec = importlib.util.spec_from_file_location("fake_nvidia_smi", FIXTURES / "fake_nvidia_smi.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.install_fake_nvidia_smi


install_fake_nvidia_smi = _load_fake_nvidia_smi()


@pytest.fixture(autouse=True)
def no_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    """``import pynvml`` fails even where nvidia-ml-py is installed (None in
    sys.modules makes the import raise ImportError), so results do not depend on the host."""
    monkeypatch.setitem(sys.modules, "pynvml", None)


@pytest.fixture
def gpu_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """``gpu_path(fixture_name, **kw)``: install a fake nvidia-smi in the only directory
    on PATH (from the start, so a GPU host's real one is never found)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))

    def install(fixture_name: str, **kwargs: object) -> Path:
        return install_fake_nvidia_smi(bin_dir, fixture_name, **kwargs)

    return install
