"""Controllers: one per root kind, each a pure `plan(desired, observed) -> Plan` and a thin
reconcile that reads the shared informers' caches, plans, applies the plan's actions
through an `ObjectAPI`, and waits until its cache has seen its own writes (so the next
pass never acts twice on the same gap: client-go's expectations, by revision).

- `runner`: informers -> work queue of keys -> reconcile (retry / stop / check later).
- `manager.run_controllers(api, ...)`: the shared informers and every controller in one
  TaskGroup; the server runs it on its LocalAPI, anything else can on the HTTP Client.
- `informing` (shared informers and their indexes), `actions` (what plans ask for, and
  the one applier), `settings` (ControllerSettings, ORCH_* twins).
- Pure helpers: `pods`, `owners`, `placement`, `clock`, `rollouts`.
- Plans: `replicasets`, `deployments` + `deployment_status`, `jobs`, `daemonsets`,
  `garbage`, `node_health`; each with its `*_controller` shell.

Invariants: plans do no I/O and never mutate what they are given (objects from a cache
are shared); controllers import client, model and aio only.
"""
