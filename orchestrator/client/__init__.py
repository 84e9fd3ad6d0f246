"""The HTTP client: typed CRUD, watch with resume and re-list, client config discovery.

`Client` (clients.py) is the only thing above the model that speaks HTTP to the API;
the CLI, out-of-process agents and controllers all go through it. Non-2xx answers turn
into typed errors in one place (`responses.check_response`). A watch resumes from its
last revision after a drop and re-lists by itself after 410 Gone (watching.py). Exec
speaks Kubernetes' websocket remote-command protocol (executing.py).
"""

from orchestrator.client.clients import Client, ObjectList, kind_of, resolve_kind
from orchestrator.client.config import ClientConfig, ConfigNotFound, find_config
from orchestrator.client.executing import ExecResult, ExecSession
from orchestrator.client.responses import Unreachable, check_response
from orchestrator.model.api import WatchEvent

__all__ = ["Client", "ClientConfig", "ConfigNotFound", "ExecResult", "ExecSession", "ObjectList", "Unreachable", "WatchEvent",
           "check_response", "find_config", "kind_of", "resolve_kind"]
