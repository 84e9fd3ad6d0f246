"""STUB: batch/v1 Job (to be completed)."""
from __future__ import annotations
import msgspec
from orchestrator.model.base import Object, Spec


class JobSpec(Spec):
    completions: int | None = None


class Job(Object):
    spec: JobSpec = msgspec.field(default_factory=JobSpec)
