"""The `orch` command: a thin layer over the client, one module per verb group.

main.py holds the verb table (COMMANDS); common.py what verbs share (env twins of flags,
connecting, kind names, error types). Pure helpers sit beside the verbs: manifests.py
(reading and checking manifests), merging.py (apply's three-way merge), tables.py and
columns.py (get's tables), sheets.py and describing.py (describe's pages), printing.py.
Command output goes to stdout with print; logs and errors go to stderr.
"""
