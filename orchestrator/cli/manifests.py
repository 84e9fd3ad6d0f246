"""Reading manifests: files, directories and stdin; YAML (multi-document) and JSON.

Every document is decoded into its kind's type and validated before anything is
written, and a bad one is reported where a person can find it:

    configs/web.yaml: document 2 (line 14): Pod "web" is invalid: spec.containers[0].imagee: unknown field

The line comes from walking the composed YAML node tree along the field path
(`spec.containers[0].imagee`); when the path cannot be followed, the deepest node
reached is used, and at worst the document's first line. No I/O but reading files.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import msgspec
import yaml

from orchestrator.model.base import Object
from orchestrator.model.codec import convert
from orchestrator.model.errors import Invalid, NotFound, StatusCause
from orchestrator.model.registry import REGISTRY, Kind

SUFFIXES = (".yaml", ".yml", ".json")


class ManifestError(Exception):
    """One or more manifests could not be read or are invalid; one message per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(slots=True)
class Document:
    source: str          # a file path, or "-" for stdin
    number: int          # 1-based position in its file
    line: int            # 1-based first line
    data: Any
    node: yaml.Node | None

    def where(self, line: int | None = None) -> str:
        return f"{self.source}: document {self.number} (line {line or self.line})"


@dataclass(slots=True)
class Manifest:
    doc: Document
    kind: Kind
    obj: Any             # the kind's msgspec type, namespace filled in
    data: dict[str, Any]  # the document as written (one item when the document is a List)
    prefix: str = ""     # field path of this object inside its document ("items[2]")

    @property
    def name(self) -> str:
        return str(self.obj.metadata.name or self.obj.metadata.generate_name)

    @property
    def namespace(self) -> str:
        return str(self.obj.metadata.namespace)

    @property
    def label(self) -> str:
        return resource_label(self.kind, self.obj.metadata.name or self.obj.metadata.generate_name)


def resource_label(kind: Kind, name: str) -> str:
    """kubectl's `TYPE/NAME`: pod/web, deployment.apps/web."""
    return f"{kind.kind.lower()}{'.' + kind.group if kind.group else ''}/{name}"


# --- reading ---------------------------------------------------------------------------


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files as given; a directory becomes its *.yaml / *.yml / *.json files in name order."""
    out: list[str] = []
    for p in paths:
        path = Path(p)
        if p != "-" and path.is_dir():
            out.extend(str(f) for f in sorted(path.iterdir(), key=lambda f: f.name)
                       if f.is_file() and f.suffix in SUFFIXES)
        else:
            out.append(p)
    return out


def read_documents(paths: Iterable[str], *, stdin: TextIO | None = None) -> list[Document]:
    docs: list[Document] = []
    problems: list[str] = []
    for source in expand_paths(paths):
        try:
            text = (stdin or sys.stdin).read() if source == "-" else Path(source).read_text()
        except OSError as exc:
            problems.append(f"{source}: cannot read: {exc.strerror or exc}")
            continue
        try:
            docs.extend(parse_documents(source, text))
        except ManifestError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ManifestError(problems)
    return docs


def parse_documents(source: str, text: str) -> list[Document]:
    """The documents of one file, with their node trees (JSON with tabs falls back to json)."""
    docs: list[Document] = []
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            data = loader.construct_document(node)
            line = node.start_mark.line + 1 if node is not None else 1
            docs.append(Document(source=source, number=len(docs) + 1, line=line, data=data, node=node))
    except yaml.YAMLError as exc:
        if text.lstrip().startswith(("{", "[")):
            return _parse_json(source, text)
        raise ManifestError([_yaml_problem(source, len(docs) + 1, exc)]) from None
    finally:
        loader.dispose()
    return [d for d in docs if d.data is not None]


def _parse_json(source: str, text: str) -> list[Document]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ManifestError([f"{source}: line {exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})"]) from None
    return [Document(source=source, number=1, line=1, data=data, node=None)]


def _yaml_problem(source: str, number: int, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context, cmark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
    extra = f" ({context} on line {cmark.line + 1})" if context and cmark else ""
    return f"{source}: document {number} ({where}): invalid YAML: {problem}{extra}"


# --- field paths and lines --------------------------------------------------------------

_TOKEN = re.compile(r"""\.?([^.\[\]]+)|\[(\d+)\]|\[(?:'([^']*)'|"([^"]*)"|([^\]]*))\]""")


def split_path(path: str) -> list[str | int | None]:
    """`spec.containers[0].image` -> ["spec", "containers", 0, "image"]; `[...]` -> None."""
    out: list[str | int | None] = []
    for m in _TOKEN.finditer(path):
        name, index, q1, q2, bare = m.groups()
        if index is not None:
            out.append(int(index))
        elif name is not None:
            out.append(name)
        else:
            key = q1 if q1 is not None else q2 if q2 is not None else bare
            out.append(None if key in ("...", "") else key)
    return out


def line_of(node: yaml.Node | None, path: str) -> int | None:
    """The 1-based line of the field at `path` (or of the deepest part of it that exists)."""
    if node is None:
        return None
    line: int = node.start_mark.line + 1
    for token in split_path(path):
        if token is None:
            break
        if isinstance(node, yaml.MappingNode) and isinstance(token, str):
            pair = next(((k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == token), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(token, int) and token < len(node.value):
            node = node.value[token]
            line = node.start_mark.line + 1
        else:
            break
    return line


# --- decoding and validating ------------------------------------------------------------


def load_manifests(paths: Iterable[str], *, namespace: str, explicit_namespace: bool = False,
                   stdin: TextIO | None = None, validate: bool = True) -> list[Manifest]:
    """Every object in the given files, checked; raises ManifestError listing every problem."""
    problems: list[str] = []
    out: list[Manifest] = []
    for doc in read_documents(paths, stdin=stdin):
        for prefix, data in _objects(doc):
            try:
                out.append(to_manifest(doc, data, prefix=prefix, namespace=namespace,
                                       explicit_namespace=explicit_namespace, validate=validate))
            except ManifestError as exc:
                problems.extend(exc.problems)
    if problems:
        raise ManifestError(problems)
    return out


def _objects(doc: Document) -> list[tuple[str, Any]]:
    data = doc.data
    if isinstance(data, dict) and data.get("kind") == "List" and isinstance(data.get("items"), list):
        return [(f"items[{i}]", item) for i, item in enumerate(data["items"])]
    return [("", data)]


def to_manifest(doc: Document, data: Any, *, prefix: str = "", namespace: str,
                explicit_namespace: bool = False, validate: bool = True) -> Manifest:
    def fail(message: str, path: str = "") -> ManifestError:
        full = f"{prefix}.{path}" if prefix and path else prefix or path
        return ManifestError([f"{doc.where(line_of(doc.node, full) if full else None)}: {message}"])

    if not isinstance(data, dict):
        raise fail(f"expected an object with apiVersion, kind and metadata, got {type(data).__name__}")
    kind_name, api_version = data.get("kind"), data.get("apiVersion")
    if not kind_name or not isinstance(kind_name, str):
        raise fail("kind: Required value")
    if not api_version or not isinstance(api_version, str):
        raise fail("apiVersion: Required value")
    try:
        kind = REGISTRY.by_kind(kind_name)
    except NotFound:
        kind = None
    if kind is None or kind.api_version != api_version:
        raise fail(f'no matches for kind "{kind_name}" in version "{api_version}"', "kind")
    meta = data.get("metadata")
    name = str((meta.get("name") or meta.get("generateName") or "") if isinstance(meta, dict) else "")
    label = f'{kind.kind} "{name}"'
    try:
        obj = convert(data, kind.type, kind=kind.kind)
    except Invalid as exc:
        cause = exc.causes[0] if exc.causes else StatusCause(message=exc.message)
        text = f"{cause.field}: {cause.message}" if cause.field else cause.message
        raise fail(f"{label} is invalid: {text}", cause.field) from None
    if not name:
        raise fail(f"{kind.kind} is invalid: metadata.name: Required value", "metadata")
    obj = _with_namespace(obj, kind=kind, namespace=namespace, explicit=explicit_namespace, fail=fail)
    if validate:
        causes = model_validate(kind.kind, obj)
        if causes:
            raise ManifestError([fail(f"{label} is invalid: {c.field + ': ' if c.field else ''}{c.message}",
                                      c.field).problems[0] for c in causes])
    return Manifest(doc=doc, kind=kind, obj=obj, data=data, prefix=prefix)


def _with_namespace(obj: Object, *, kind: Kind, namespace: str, explicit: bool,
                    fail: Callable[..., ManifestError]) -> Any:
    meta = obj.metadata
    if not kind.namespaced:
        if meta.namespace:
            return msgspec.structs.replace(obj, metadata=msgspec.structs.replace(meta, namespace=""))
        return obj
    if meta.namespace and explicit and meta.namespace != namespace:
        raise fail(f'the namespace from the provided object "{meta.namespace}" does not match the namespace '
                   f'"{namespace}". You must pass \'--namespace={meta.namespace}\' to perform this operation.',
                   "metadata.namespace")
    if meta.namespace:
        return obj
    return msgspec.structs.replace(obj, metadata=msgspec.structs.replace(meta, namespace=namespace))


def model_validate(kind_name: str, obj: Any) -> list[StatusCause]:
    """The model's own validation when it is there (`orchestrator.model.validation.validate`)."""
    try:
        from orchestrator.model.validation import validate
    except ModuleNotFoundError as exc:
        if exc.name != "orchestrator.model.validation":
            raise
        return []
    return list(validate(kind_name, obj))


def apply_order(manifests: list[Manifest]) -> list[Manifest]:
    """Namespaces first (so one directory can hold a namespace and what lives in it), then as written."""
    return sorted(manifests, key=lambda m: 0 if m.kind.kind == "Namespace" else 1)
