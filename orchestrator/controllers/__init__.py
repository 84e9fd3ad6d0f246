"""Controllers: one per root kind, each a pure `plan(desired, observed) -> Plan` and a thin
reconcile that reads the shared informers' caches, plans, applies the actions through an
`ObjectAPI` and waits until its cache has seen its own writes (so the next reconcile does
not act twice on the same gap).

Modules: `runner` (informers -> work queue -> reconcile), `informing` (the shared informers
and their indexes), `actions` (what plans ask for, and the one applier), `pods`/`owners`/
`placement`/`clock` (pure helpers), then per kind a plan module (`replicasets`,
`rollouts` + `deployments`, `jobs`, `daemonsets`, `garbage`, `node_health`) and its
controller (`*_controller`). Controllers import client, model and aio only.
"""
