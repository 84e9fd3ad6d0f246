"""The node agent: `orch agent`, and the embedded agent of `orch server`.

    main.py         run_agent(): fingerprint -> runtime -> bind -> join -> one TaskGroup
    joining.py      the join request and the join/rejoin loop (token, or node.json's credential)
    identities.py   node.json (0600): name, credential, API servers, proxy token, gossip key
    listener.py     the agent's HTTP listener: /join forward, /gossip, /healthz, log and exec routes
    log_routes.py, exec_routes.py: a container's log, a command run in it (for the server only);
    exec_sessions.py, exec_targets.py: interactive exec (a websocket), the container an exec picks
    heartbeating.py Lease renewal and the Ready condition
    runtimes.py     which container runtime, and why
    podsync*.py, probes*.py, containers*.py, status*.py: running the pods bound here
    fingerprints/   CPU, memory, host, GPUs

Invariants:
- the agent talks to the API only through `orchestrator.client` (its node credential);
  it never imports server, store, controllers or scheduler;
- stopping the agent (SIGTERM, or the server stopping its embedded agent) never stops
  containers: the next start, on the same data dir, rejoins as the same node and adopts
  what runs;
- every loop is owned by the root TaskGroup, jittered, and survives failed calls (they
  are logged and tried again); only a refused join ends the agent.
"""
