"""The scheduler: puts pending pods on nodes, GPUs included (DESIGN.md, Control).

    informers (Node, Pod) -> snapshot.py (node state in memory) + queue.py (pending pods)
    -> planning.py `schedule(snapshot, pods) -> Plan` (pure: filters.py, scores.py)
    -> applier.py (bind with compare-and-swap, bounded concurrency) -> events (eventing.py)

Invariants:
- The planner reads only the snapshot; the snapshot changes only through informer
  events and the planner's own `assume` (forgotten when a binding fails), so a batch
  never double-books and no GPU device goes to two pods while its holder counts.
- A binding names the pod's resourceVersion and records the GPU device UUIDs in the same
  write (`orch.io/gpu-devices`); a conflict means nothing was written.
- Unschedulable pods are retried when the cluster changes, never in a polling loop.
- Imports: client, model, aio only (never store, server or controllers).
"""

from orchestrator.scheduler.running import Scheduler, SchedulerSettings, run_scheduler

__all__ = ["Scheduler", "SchedulerSettings", "run_scheduler"]
