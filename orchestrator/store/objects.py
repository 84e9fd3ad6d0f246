"""API semantics over the store: what create/update/patch/delete/bind mean for an object.

Both the HTTP routes and in-process controllers write through this one layer, so the
rules hold whoever writes:
- create: namespace must exist; name or generateName; uid, creationTimestamp,
  generation=1; defaults and admission (model.defaults), then validation.
- update: CAS on metadata.resourceVersion when given; server-owned metadata kept;
  status ignored on the main resource and everything but status ignored on /status;
  generation bumped only when the spec changed; removing the last finalizer of an
  object being deleted deletes it.
- delete: preconditions; Foreground/Orphan add their finalizer; an object with
  finalizers only gets deletionTimestamp; a pod bound to a live node is deleted
  gracefully (its agent finishes the deletion). A namespace goes Terminating and stays
  until the namespace controller has deleted its contents and removed its
  `kubernetes` finalizer (the `finalize` subresource); default, kube-system,
  kube-public and orch-system cannot be deleted.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from collections.abc import Callable
from typing import Any
from datetime import datetime, timezone

from orchestrator.model import codec, defaults, patching, strategic, validation
from orchestrator.model.base import Object, clone
from orchestrator.model.errors import (AlreadyExists, ApiError, BadRequest, Conflict, Forbidden, Invalid,
                                       NotFound, StatusCause, UnsupportedMediaType)
from orchestrator.model.field_errors import invalid_error
from orchestrator.model.gpus import assigned_gpus, gpu_devices_annotation
from orchestrator.model.registry import REGISTRY, Kind
from orchestrator.model.update_validation import validate_update
from orchestrator.store.filtering import compile_predicate
from orchestrator.store import binding
from orchestrator.store.gpu_ledger import GpuLedger
from orchestrator.store.store import Entry, Store

FOREGROUND, ORPHAN = "foregroundDeletion", "orphan"
NAMESPACE_FINALIZER = "kubernetes"  # spec.finalizers: held until the namespace controller emptied it
PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public", "orch-system")
POLICIES = ("Background", "Foreground", "Orphan")
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
APPLY_PATCH = "application/apply-patch+yaml"  # server-side apply: kubectl apply --server-side
MERGE_PATCH = ("application/merge-patch+json", APPLY_PATCH)
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _what(kind: Kind, name: str) -> str:
    return f'{kind.resource} "{name}"'


def _parse_rv(value: str, where: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{where}: invalid resourceVersion {value!r}: must be an integer") from None


def _spec_bytes(obj: Object) -> bytes:
    """What counts as 'spec' for generation: everything but metadata and status."""
    fields = {f: getattr(obj, f) for f in obj.__struct_fields__ if f not in ("metadata", "status", "api_version", "kind")}
    return codec.encode(fields)


class Objects:
    def __init__(self, store: Store, *, clock: Callable[[], str] = now_rfc3339) -> None:
        self.store = store
        self.clock = clock
        self.gpus = GpuLedger(store)

    # ---- reads -----------------------------------------------------------------------------

    def get(self, kind: Kind, namespace: str, name: str) -> Entry:
        entry = self.store.get_entry(kind.key(namespace, name))
        if entry is None:
            raise NotFound(f"{_what(kind, name)} not found", kind=kind.plural, name=name)
        return entry

    def list(self, kind: Kind, namespace: str = "", *, label_selector: str = "", field_selector: str = "",
             limit: int = 0, continue_: str = "") -> tuple[list[Entry], int, str, int | None]:
        """(entries, revision, continue token, remaining count) for a list request."""
        predicate = compile_predicate(label_selector=label_selector, field_selector=field_selector)
        entries, rev = self.store.list(kind.prefix(namespace), predicate)
        if continue_:
            after = self._decode_continue(continue_)
            entries = [e for e in entries if kind.key(e.obj.metadata.namespace, e.obj.metadata.name) > after]
        if limit and len(entries) > limit:
            last = entries[limit - 1].obj.metadata
            token = base64.urlsafe_b64encode(json.dumps(
                {"key": kind.key(last.namespace, last.name), "rv": rev}).encode()).decode()
            return entries[:limit], rev, token, len(entries) - limit
        return entries, rev, "", None

    @staticmethod
    def _decode_continue(token: str) -> str:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            return str(data["key"])
        except Exception:
            raise BadRequest(f"invalid continue token {token!r}") from None

    # ---- create ----------------------------------------------------------------------------

    async def create(self, kind: Kind, obj: Object, *, namespace: str = "") -> Entry:
        meta = obj.metadata
        self._check_envelope(kind, obj)
        if kind.namespaced:
            namespace = namespace or meta.namespace or "default"
            if meta.namespace and meta.namespace != namespace:
                raise BadRequest(f"the namespace of the object ({meta.namespace}) does not match the namespace "
                                 f"on the request ({namespace})")
            meta.namespace = namespace
            ns = self.store.get_entry(REGISTRY.by_kind("Namespace").key("", namespace))
            if ns is None:
                raise NotFound(f'namespaces "{namespace}" not found', kind="namespaces", name=namespace)
            if ns.obj.metadata.deletion_timestamp:
                raise Forbidden(f'unable to create new content in namespace {namespace} because it is being terminated')
        else:
            meta.namespace = ""
        if meta.resource_version:
            raise BadRequest("metadata.resourceVersion: must not be set on objects to be created")
        if not meta.name and not meta.generate_name:
            raise Invalid(f"{kind.kind} is invalid: metadata.name: Required value: name or generateName is required",
                          kind=kind.kind, causes=[validation_cause("metadata.name", "Required value")])
        meta.uid = str(uuid.uuid4())
        meta.creation_timestamp = self.clock()
        meta.generation = 1
        meta.deletion_timestamp = None
        meta.deletion_grace_period_seconds = None
        defaults.apply_defaults(kind.kind, obj)
        if kind.kind == "Namespace":  # the namespace controller empties it before it may go
            if not obj.spec.finalizers:  # type: ignore[attr-defined]
                obj.spec.finalizers = [NAMESPACE_FINALIZER]  # type: ignore[attr-defined]
            obj.status.phase = "Active"  # type: ignore[attr-defined]
        generated = not meta.name
        for _ in range(8):
            if generated:
                meta.name = meta.generate_name + "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))
            self._validate(kind, obj)
            try:
                if kind.kind == "Pod" and obj.spec.node_name:  # type: ignore[attr-defined]
                    return await self._create_bound_pod(kind, obj)
                return await self.store.create(kind.key(namespace, meta.name), obj)
            except AlreadyExists:
                if not generated:
                    raise AlreadyExists(f"{_what(kind, meta.name)} already exists", kind=kind.plural,
                                        name=meta.name) from None
        raise AlreadyExists(f"could not find a free name for generateName {meta.generate_name!r}")

    async def _create_bound_pod(self, kind: Kind, pod: Any) -> Entry:
        """A pod created with spec.nodeName (DaemonSet-style) gets its GPUs from the ledger."""
        meta = pod.metadata
        async with self.gpus.claiming(pod, pod.spec.node_name, assigned_gpus(pod)) as devices:
            if devices:
                meta.annotations.update(gpu_devices_annotation(devices))
            return await self.store.create(kind.key(meta.namespace, meta.name), pod)

    @staticmethod
    def _check_envelope(kind: Kind, obj: Object) -> None:
        if obj.kind and obj.kind != kind.kind:
            raise BadRequest(f"kind {obj.kind!r} does not match the request's resource ({kind.kind})")
        if obj.api_version and obj.api_version != kind.api_version:
            raise BadRequest(f"apiVersion {obj.api_version!r} does not match the request's ({kind.api_version})")
        obj.kind, obj.api_version = kind.kind, kind.api_version

    @staticmethod
    def _validate(kind: Kind, obj: Object, old: Object | None = None) -> None:
        causes = validation.validate(kind.kind, obj)
        if old is not None:
            causes += validate_update(kind.kind, obj, old)
        if causes:
            raise invalid_error(kind.kind, obj.metadata.name, causes)

    # ---- update / patch --------------------------------------------------------------------

    async def update(self, kind: Kind, obj: Object, *, namespace: str, name: str,
                     subresource: str = "") -> Entry:
        self._check_envelope(kind, obj)
        if obj.metadata.name and obj.metadata.name != name:
            raise BadRequest(f"the name of the object ({obj.metadata.name}) does not match the name on the URL ({name})")
        if kind.namespaced and obj.metadata.namespace and obj.metadata.namespace != namespace:
            raise BadRequest(f"the namespace of the object ({obj.metadata.namespace}) does not match the URL ({namespace})")
        expected = _parse_rv(obj.metadata.resource_version, "metadata.resourceVersion")
        key = kind.key(namespace, name)
        if subresource == "":
            defaults.apply_defaults(kind.kind, obj)

        def merge(current: Object) -> Object | None:
            if expected is not None and str(expected) != current.metadata.resource_version:
                raise Conflict(f"Operation cannot be fulfilled on {_what(kind, name)}: the object has been modified; "
                               "please apply your changes to the latest version and try again",
                               kind=kind.plural, name=name)
            return self._merge_update(kind, current, obj, subresource)

        return await self.mutate(kind, key, name, merge)

    def _merge_update(self, kind: Kind, current: Object, new: Object, subresource: str) -> Object | None:
        if subresource == "status":
            out = clone(current)
            out.status = new.status  # type: ignore[attr-defined]
            return out
        if subresource == "finalize":  # Namespace: spec.finalizers change here and only here
            out = clone(current)
            out.spec.finalizers = list(new.spec.finalizers)  # type: ignore[attr-defined]
            if out.metadata.deletion_timestamp and not out.metadata.finalizers and not _spec_finalizers(out):
                raise _DeleteNow("the namespace is finalized")
            return out
        if kind.kind == "Namespace":
            new.spec.finalizers = list(current.spec.finalizers)  # type: ignore[attr-defined]
        old, meta = current.metadata, new.metadata
        meta.name, meta.namespace, meta.uid = old.name, old.namespace, old.uid
        meta.creation_timestamp, meta.generate_name = old.creation_timestamp, old.generate_name
        meta.deletion_timestamp = old.deletion_timestamp
        meta.deletion_grace_period_seconds = old.deletion_grace_period_seconds
        meta.generation = old.generation
        if kind.has_status:
            new.status = current.status  # type: ignore[attr-defined]
        if _spec_bytes(new) != _spec_bytes(current):
            meta.generation = old.generation + 1
        self._validate(kind, new, current)
        if old.deletion_timestamp and not meta.finalizers and not _spec_finalizers(new):
            raise _DeleteNow("the last finalizer was removed")
        return new

    async def mutate(self, kind: Kind, key: str, name: str, fn: Callable[[Object], Object | None]) -> Entry:
        """`fn(current) -> new` atomically (see Store.guaranteed_update), with API semantics: an
        update that clears the last finalizer of an object being deleted deletes it."""
        try:
            return await self.store.guaranteed_update(key, fn)
        except _DeleteNow:
            return await self.store.delete(key)
        except NotFound:
            raise NotFound(f"{_what(kind, name)} not found", kind=kind.plural, name=name) from None

    async def patch(self, kind: Kind, *, namespace: str, name: str, body: bytes, content_type: str,
                    subresource: str = "") -> Entry:
        patch = codec.loads(body)
        ctype = content_type.split(";")[0].strip().lower()
        if ctype == JSON_PATCH:
            apply: Callable[[object], object] = lambda doc: patching.json_patch(doc, patch)
        elif ctype in MERGE_PATCH:
            if not isinstance(patch, dict):
                raise BadRequest("a merge patch must be a JSON object")
            apply = lambda doc: patching.merge_patch(doc, patch)
        elif ctype == STRATEGIC_PATCH:
            apply = lambda doc: strategic.strategic_merge_patch(doc, patch)
        else:
            raise UnsupportedMediaType(f"unsupported patch content type {content_type!r}; use "
                                       f"application/merge-patch+json, application/strategic-merge-patch+json "
                                       f"or application/json-patch+json")

        if ctype == APPLY_PATCH and not subresource and self.store.get_entry(kind.key(namespace, name)) is None:
            return await self._apply_create(kind, patch, namespace=namespace, name=name)

        def patched(current: Object) -> Object | None:
            doc = apply(codec.to_builtins(current))
            new = codec.convert(doc, kind.type, kind=kind.kind)
            given_rv = new.metadata.resource_version
            if given_rv and given_rv != current.metadata.resource_version:
                raise Conflict(f"Operation cannot be fulfilled on {_what(kind, name)}: the object has been modified; "
                               "please apply your changes to the latest version and try again",
                               kind=kind.plural, name=name)
            self._check_envelope(kind, new)
            if subresource == "":
                defaults.apply_defaults(kind.kind, new)
            return self._merge_update(kind, current, new, subresource)

        return await self.mutate(kind, kind.key(namespace, name), name, patched)

    async def _apply_create(self, kind: Kind, doc: dict[str, object], *, namespace: str, name: str) -> Entry:
        """Server-side apply of an object that does not exist yet creates it (as Kubernetes does).

        Managed fields are not tracked: a later apply merges like a merge patch."""
        obj = codec.convert(doc, kind.type, kind=kind.kind)
        if obj.metadata.name and obj.metadata.name != name:
            raise BadRequest(f"the name in the body ({obj.metadata.name!r}) does not match the name in the URL "
                             f"({name!r})")
        obj.metadata.name = name
        return await self.create(kind, obj, namespace=namespace)

    # ---- delete ----------------------------------------------------------------------------

    async def delete(self, kind: Kind, *, namespace: str, name: str, propagation_policy: str = "",
                     precondition_rv: str = "", precondition_uid: str = "",
                     grace_period_seconds: int | None = None) -> tuple[Entry, bool]:
        """Delete or mark for deletion; returns (entry, gone_now)."""
        if propagation_policy and propagation_policy not in POLICIES:
            raise BadRequest(f"propagationPolicy must be one of {', '.join(POLICIES)}, not {propagation_policy!r}")
        key = kind.key(namespace, name)
        current = self.get(kind, namespace, name)
        meta = current.obj.metadata
        if precondition_uid and precondition_uid != meta.uid:
            raise Conflict(f"Precondition failed: UID in precondition: {precondition_uid}, UID in object meta: {meta.uid}")
        expected = _parse_rv(precondition_rv, "preconditions.resourceVersion")
        if expected is not None and str(expected) != meta.resource_version:
            raise Conflict(f"Operation cannot be fulfilled on {_what(kind, name)}: the object has been modified; "
                           "please apply your changes to the latest version and try again")
        namespace_kind = kind.kind == "Namespace"
        if namespace_kind and name in PROTECTED_NAMESPACES:
            raise Forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                            kind=kind.plural, name=name)
        extra = {"Foreground": FOREGROUND, "Orphan": ORPHAN}.get(propagation_policy)
        graceful = self._graceful_pod(kind, current.obj, grace_period_seconds)
        if not meta.finalizers and extra is None and graceful is None and not namespace_kind:
            try:
                return await self.store.delete(key), True
            except NotFound:
                raise NotFound(f"{_what(kind, name)} not found", kind=kind.plural, name=name) from None

        def mark(obj: Object) -> Object | None:
            out = clone(obj)
            m = out.metadata
            if extra and extra not in m.finalizers:
                m.finalizers.append(extra)
            if graceful is not None:
                m.deletion_grace_period_seconds = graceful
            if namespace_kind:  # Terminating: the namespace controller deletes its contents, then finalizes
                out.status.phase = "Terminating"  # type: ignore[attr-defined]
                if NAMESPACE_FINALIZER not in out.spec.finalizers:  # type: ignore[attr-defined]
                    out.spec.finalizers.append(NAMESPACE_FINALIZER)  # type: ignore[attr-defined]
            if m.deletion_timestamp and extra is None and graceful is None:
                return None
            m.deletion_timestamp = m.deletion_timestamp or self.clock()
            return out

        entry = await self.mutate(kind, key, name, mark)
        return entry, False

    def _graceful_pod(self, kind: Kind, obj: Object, grace: int | None) -> int | None:
        """The grace period for a pod whose agent must stop it first; None: delete right away."""
        if kind.kind != "Pod" or grace == 0:
            return None
        node_name = obj.spec.node_name  # type: ignore[attr-defined]
        if not node_name or obj.status.phase in ("Succeeded", "Failed"):  # type: ignore[attr-defined]
            return None
        if self.store.get_entry(REGISTRY.by_kind("Node").key("", node_name)) is None:
            return None
        if grace is None:
            grace = obj.spec.termination_grace_period_seconds  # type: ignore[attr-defined]
        return 30 if grace is None else grace

    # ---- binding ---------------------------------------------------------------------------

    async def bind(self, *, namespace: str, name: str, node_name: str, expected_rv: str = "",
                   annotations: dict[str, str] | None = None) -> Entry:
        """Set a pending pod's node (the scheduler's only write); see `store.binding`."""
        return await binding.bind(self, namespace=namespace, name=name, node_name=node_name,
                                  expected_rv=expected_rv, annotations=annotations)


def _spec_finalizers(obj: Object) -> list[str]:
    """A Namespace's spec.finalizers (what the namespace controller holds); [] for other kinds."""
    return list(getattr(getattr(obj, "spec", None), "finalizers", None) or [])


class _DeleteNow(ApiError):
    """Internal: an update removed the last finalizer of an object being deleted."""


def validation_cause(field: str, message: str) -> StatusCause:
    return StatusCause(reason="FieldValueInvalid", field=field, message=message)
