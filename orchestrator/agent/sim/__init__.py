"""`orch sim`: many simulated nodes in one process, like kwok (no containers at all).

Data flow:

    join (POST /join per node, join token or a saved node credential) -> SimNode (credential)
    heartbeating: one heap of due times -> PATCH Lease spec.renewTime (node credential)
    nodekeeping:  watch Nodes -> Ready != True while our lease is fresh -> PUT Node status
    podsync:      one websocket watch of bound pods -> ours? -> WorkQueue(key) -> N workers
                  -> decide() (pure, statuses.py) -> PUT pod status / DELETE grace 0
                     (the credential of the node the pod is bound to)
    controlling:  optional loopback HTTP listener: stop/start one node's lease, stats

Invariants:
- Every write is made with the credential of the node it concerns, exactly as a real
  agent's would be: the server's authorization applies unchanged.
- A pod key is in at most one worker at a time and repeats collapse (WorkQueue); a
  status write carries the resourceVersion it was planned from (409 -> re-plan from
  the next watch event, never a blind overwrite).
- All requests share one aiohttp session; at most `concurrency` pod writes and
  `lease_concurrency` lease writes are in flight.
- Every long-lived task belongs to the TaskGroup in running.py; SIGTERM/SIGINT end it.
"""
