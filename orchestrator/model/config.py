"""core/v1 ConfigMap and Secret.

Secret `data` values are base64 strings, as on the Kubernetes wire; `stringData` is
write-only plain text that defaulting folds into `data` (so it is never stored). An
`immutable: true` object refuses changes to its data (checked on update).
"""

from __future__ import annotations

import msgspec

from orchestrator.model.base import Object

SECRET_TYPE_OPAQUE = "Opaque"
MAX_DATA_BYTES = 1024 * 1024  # Kubernetes' 1 MiB cap on ConfigMap and Secret payloads


class ConfigMap(Object):
    data: dict[str, str] = msgspec.field(default_factory=dict)
    binary_data: dict[str, str] = msgspec.field(default_factory=dict)  # base64
    immutable: bool | None = None


class Secret(Object):
    data: dict[str, str] = msgspec.field(default_factory=dict)  # base64
    string_data: dict[str, str] = msgspec.field(default_factory=dict)
    type: str = ""  # Opaque (default) | kubernetes.io/tls | kubernetes.io/dockerconfigjson | ...
    immutable: bool | None = None
