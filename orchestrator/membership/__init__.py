"""Gossip-lite membership over HTTP, shared by agents and the server (both are members).

Every member keeps a table of members (name, address, role, incarnation, heartbeat
counter, status, capacity digest) and, every interval, pushes it to a few random peers
(`POST /gossip`), merging what they answer (push-pull). `tables.py` holds the rules,
pure and clock-free (callers pass `now`); `wire.py` the message types and signatures;
`gossiping.py` the loop.

Invariants:
- Merge rules: a higher incarnation wins; at the same incarnation the worse status
  wins (dead > suspect > alive); heartbeat counters only grow (max).
- Only a member itself raises its incarnation: when it hears itself called suspect or
  dead at its current incarnation it refutes with incarnation + 1. Nothing else can
  bring a suspect or dead member back.
- A member not heard of (heartbeat not rising) for `suspect_after_s` is probed
  directly, then indirectly through other members; if none reaches it, it is suspect,
  and dead after another `suspect_after_s`. Dead entries are forgotten later.
- Sits beside `client` and `runtime` in the layers: imports nothing from the project
  but `aio`, so both `agent` and `server` can use it.
"""
