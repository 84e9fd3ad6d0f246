"""orch: a declarative cluster orchestrator.

Layers, top to bottom (higher imports lower, never the reverse):
cli -> server | agent -> controllers | scheduler -> store | client | runtime -> model -> aio
"""

__version__ = "0.1.0"
