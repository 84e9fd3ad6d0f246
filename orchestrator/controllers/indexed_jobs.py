"""Indexed Jobs (completionMode: Indexed), pure: each of `completions` indexes must succeed
once. Each pod carries its index (annotation and label
`batch.kubernetes.io/job-completion-index`, env `JOB_COMPLETION_INDEX`, hostname
`<job>-<index>`), as Kubernetes does, so distributed training and sharded batch work can
tell their rank. status.completedIndexes lists the done ones as ranges ("0-3,7").
"""

from __future__ import annotations

from collections.abc import Iterable

from orchestrator.model.batch import Job
from orchestrator.model.containers import EnvVar, EnvVarSource, ObjectFieldSelector
from orchestrator.model.pods import Pod

INDEX_KEY = "batch.kubernetes.io/job-completion-index"
INDEX_ENV = "JOB_COMPLETION_INDEX"


def is_indexed(job: Job) -> bool:
    return job.spec.completion_mode == "Indexed" and job.spec.completions is not None


def completion_index(pod: Pod, completions: int) -> int | None:
    """The pod's index, or None if it has none in range (not ours to count)."""
    text = pod.metadata.annotations.get(INDEX_KEY, pod.metadata.labels.get(INDEX_KEY, ""))
    if not text.isdigit():
        return None
    index = int(text)
    return index if index < completions else None


def parse_indexes(text: str) -> set[int]:
    out: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, _, high = part.partition("-")
        if low.isdigit() and (not high or high.isdigit()):
            out.update(range(int(low), int(high or low) + 1))
    return out


def format_indexes(indexes: Iterable[int]) -> str:
    """Sorted ranges: {0, 1, 2, 5} -> "0-2,5"."""
    runs: list[list[int]] = []
    for i in sorted(set(indexes)):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(f"{a}-{b}" if b > a else str(a) for a, b in runs)


def label_pod(pod: Pod, job_name: str, index: int) -> Pod:
    """Mark a new pod with its index, the way Kubernetes does."""
    pod.metadata.annotations[INDEX_KEY] = pod.metadata.labels[INDEX_KEY] = str(index)
    pod.metadata.generate_name = f"{job_name}-{index}-"
    pod.spec.hostname = pod.spec.hostname or f"{job_name}-{index}"[:63].rstrip("-.")
    ref = EnvVar(name=INDEX_ENV, value_from=EnvVarSource(
        field_ref=ObjectFieldSelector(field_path=f"metadata.annotations['{INDEX_KEY}']")))
    for c in (*pod.spec.init_containers, *pod.spec.containers):
        if not any(e.name == INDEX_ENV for e in c.env):
            c.env.append(ref)
    return pod


def plan_indexes(pods: list[Pod], *, completions: int, done_before: str, active: list[Pod],
                 parallelism: int) -> tuple[set[int], list[int], list[Pod]]:
    """(completed indexes, indexes to start now, active pods to delete: duplicates of an
    index or pods of an index already done)."""
    done = parse_indexes(done_before) | {
        i for p in pods if p.status.phase == "Succeeded" and (i := completion_index(p, completions)) is not None}
    by_index: dict[int, list[Pod]] = {}
    extra: list[Pod] = []
    for p in sorted(active, key=lambda p: (p.metadata.creation_timestamp or "", p.metadata.name)):
        i = completion_index(p, completions)
        if i is None or i in done or i in by_index:
            extra.append(p)
        else:
            by_index[i] = [p]
    room = max(parallelism - len(by_index), 0)
    start = [i for i in range(completions) if i not in done and i not in by_index][:room]
    return done, start, extra
