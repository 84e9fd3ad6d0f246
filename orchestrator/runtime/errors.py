"""Errors every runtime driver raises, sorted by what the caller should do.

    RuntimeError_                 anything a driver reports
    ├── RuntimeUnavailable        engine down or not answering: retry later (transient)
    ├── ContainerNotFound         the id is gone: forget it, re-create if still wanted
    ├── ContainerConflict         name taken / wrong state (exec on a stopped container)
    ├── InvalidSpec               the spec cannot run here (terminal for this spec)
    ├── ExecTimeout               an exec ran past its timeout (a failed probe)
    ├── Unsupported               this driver cannot do what was asked (e.g. log times)
    └── ImageError
        ├── ImagePullError        missing locally and the pull failed (engine's message)
        └── ImageNotPresent       missing locally and policy Never forbids a pull

Each driver translates its library's errors into these in exactly one place, so the
agent never sees aiodocker or OSError types.  The trailing underscore keeps the name
from shadowing the builtin ``RuntimeError``.
"""

from __future__ import annotations


class RuntimeError_(Exception):
    """Base of every error a container runtime driver raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RuntimeUnavailable(RuntimeError_):
    """The engine does not answer (socket missing, daemon down, call timed out)."""


class ContainerNotFound(RuntimeError_):
    """No container with that id (or it is not one this runtime manages)."""


class ContainerConflict(RuntimeError_):
    """The engine refused because of the container's name or current state."""


class InvalidSpec(RuntimeError_):
    """The spec cannot be run by this driver (e.g. no command for a host process)."""


class ExecTimeout(RuntimeError_, TimeoutError):
    """An exec did not finish within its timeout; probes count it as a failure."""


class Unsupported(RuntimeError_):
    """The driver cannot do this at all (not a transient failure): callers answer 400."""


class ImageError(RuntimeError_):
    """The image is not usable."""

    def __init__(self, message: str, *, image: str) -> None:
        super().__init__(message)
        self.image = image


class ImagePullError(ImageError):
    """The image is missing locally and pulling it failed (message from the engine)."""


class ImageNotPresent(ImageError):
    """The image is missing locally and imagePullPolicy Never forbids pulling it."""
