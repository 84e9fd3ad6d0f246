"""The revisioned object store and the API semantics over it.

    objects.Objects   what create/update/patch/delete/bind mean (finalizers, generation, ...)
    store.Store       one writer task, group commit, revisions, CAS, cache, watch from a revision
    bus.Bus           ordered fan-out of committed events to bounded subscriber queues
    base.LogBackend   the durable log behind Store (sqlite.SqliteLog; the only aiosqlite importer)
    local_api.LocalAPI  the ObjectAPI for in-process controllers and scheduler

Invariants: a write is acknowledged only after its COMMIT; revisions are global and
strictly increasing; every subscriber sees events in revision order with no gaps, or is
cut off with the revision to resume from.
"""
