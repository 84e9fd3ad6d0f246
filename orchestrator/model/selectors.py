"""Label selectors and field selectors, compiled once and matched cheaply.

Label selector strings (the `labelSelector` query parameter, `Scale.status.selector`):

    app=web,tier!=db,env in (prod,stage),track notin (canary),gpu,!spot,rank>3

A `LabelSelector` struct (matchLabels + matchExpressions) compiles to the same
`Selector`. A missing struct selects nothing; an empty one selects everything.
`=` is `In` with one value and `!=` is `NotIn` with one value, so every selector has
one canonical string (`str(selector)`). `!=` and `notin` match objects that lack the key.

Field selectors (`fieldSelector`) live in field_selectors.py and are re-exported here:
`=`, `==`, `!=` on a fixed set of fields (`FIELDS`); anything else is a SelectorError
naming the field.

Parsing is cached and a Selector is immutable, so the server parses a watcher's
selector once and calls `matches` per event: equality terms are a dict lookup each.
Errors are `SelectorError` (a ValueError), worded for the person who typed the selector.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from orchestrator.model.names import label_value_errors, qualified_name_errors
from orchestrator.model.templates import LabelSelector

if TYPE_CHECKING:
    from orchestrator.model.field_selectors import FIELDS, FieldSelector, field_value, parse_field_selector

_FIELD_NAMES = frozenset(("FIELDS", "FieldSelector", "field_value", "parse_field_selector"))

IN, NOT_IN, EXISTS, DOES_NOT_EXIST, GT, LT = "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"
LABEL_SELECTOR_OPERATORS = (IN, NOT_IN, EXISTS, DOES_NOT_EXIST)


class SelectorError(ValueError):
    """A selector that cannot be parsed or is not allowed; `field` is set for struct selectors."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist | Gt | Lt
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        op, value = self.operator, labels.get(self.key)
        if op == IN:
            return value is not None and value in self.values
        if op == NOT_IN:
            return value is None or value not in self.values
        if op == EXISTS:
            return value is not None
        if op == DOES_NOT_EXIST:
            return value is None
        if value is None:
            return False
        try:
            n = int(value)
        except ValueError:
            return False
        return n > int(self.values[0]) if op == GT else n < int(self.values[0])

    def __str__(self) -> str:
        op, key, vals = self.operator, self.key, self.values
        if op == IN and len(vals) == 1:
            return f"{key}={vals[0]}"
        if op == NOT_IN and len(vals) == 1:
            return f"{key}!={vals[0]}"
        if op in (IN, NOT_IN):
            return f"{key} {op.lower()} ({','.join(sorted(vals))})"
        if op == EXISTS:
            return key
        if op == DOES_NOT_EXIST:
            return f"!{key}"
        return f"{key}{'>' if op == GT else '<'}{vals[0]}"


class Selector:
    """Requirements ANDed. `matches(labels)` is the hot path: equality terms first."""

    __slots__ = ("requirements", "_eq", "_rest", "_nothing")

    def __init__(self, requirements: tuple[Requirement, ...] = (), *, nothing: bool = False) -> None:
        self.requirements = requirements
        self._nothing = nothing
        self._eq = tuple((r.key, r.values[0]) for r in requirements if r.operator == IN and len(r.values) == 1)
        self._rest = tuple(r.matches for r in requirements if not (r.operator == IN and len(r.values) == 1))

    @classmethod
    def everything(cls) -> Selector:
        return _EVERYTHING

    @classmethod
    def nothing(cls) -> Selector:
        return _NOTHING

    def empty(self) -> bool:
        """True when it selects everything."""
        return not self.requirements and not self._nothing

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self._nothing:
            return False
        get = labels.get
        for key, value in self._eq:
            if get(key) != value:
                return False
        for check in self._rest:
            if not check(labels):
                return False
        return True

    def __str__(self) -> str:
        return ",".join(sorted(str(r) for r in self.requirements))

    def __repr__(self) -> str:
        return "Selector(<nothing>)" if self._nothing else f"Selector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Selector) and (self._nothing, str(self)) == (other._nothing, str(other))

    def __hash__(self) -> int:
        return hash((self._nothing, str(self)))


_EVERYTHING = Selector()
_NOTHING = Selector(nothing=True)


# --- label selector strings ---------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(==|!=|=|!|,|\(|\)|>|<)|([^\s!=,()<>]+))")
_PUNCT = frozenset(("==", "!=", "=", "!", ",", "(", ")", ">", "<"))
_LIST_PUNCT = frozenset((",", "(", ")"))


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos, end = 0, len(text)
    while pos < end:
        m = _TOKEN.match(text, pos)
        if m is None:  # only trailing whitespace is left
            if text[pos:].strip():
                raise SelectorError(f'unable to parse label selector "{text}": unexpected {text[pos:]!r}')
            break
        out.append(m.group(1) or m.group(2))
        pos = m.end()
    return out


def _check_key(text: str, key: str) -> None:
    if errs := qualified_name_errors(key):
        raise SelectorError(f'invalid label selector "{text}": key "{key}": {errs[0]}')


def _check_value(text: str, value: str) -> None:
    if errs := label_value_errors(value):
        raise SelectorError(f'invalid label selector "{text}": value "{value}": {errs[0]}')


@lru_cache(maxsize=1024)
def parse_label_selector(text: str) -> Selector:
    """A selector string -> Selector; "" selects everything. SelectorError when malformed."""
    toks = _tokens(text)
    if not toks:
        return _EVERYTHING
    reqs: list[Requirement] = []
    i, n = 0, len(toks)

    def fail(expected: str) -> SelectorError:
        found = f'"{toks[i]}"' if i < n else "end of selector"
        return SelectorError(f'unable to parse label selector "{text}": expected {expected}, found {found}')

    def ident(expected: str) -> str:
        nonlocal i
        if i >= n or toks[i] in _PUNCT:
            raise fail(expected)
        i += 1
        return toks[i - 1]

    while True:
        if i < n and toks[i] == "!":
            i += 1
            key = ident("a label key after '!'")
            _check_key(text, key)
            reqs.append(Requirement(key, DOES_NOT_EXIST))
        else:
            key = ident("a label key")
            _check_key(text, key)
            op = toks[i] if i < n else ","
            if op == ",":
                reqs.append(Requirement(key, EXISTS))
            elif op in ("=", "==", "!="):
                i += 1
                value = toks[i] if i < n and toks[i] not in _PUNCT else ""
                i += bool(value)
                _check_value(text, value)
                reqs.append(Requirement(key, NOT_IN if op == "!=" else IN, (value,)))
            elif op in ("in", "notin"):
                i += 1
                if i >= n or toks[i] != "(":
                    raise fail(f"'(' after '{op}'")
                i += 1
                if i < n and toks[i] == ")":
                    raise SelectorError(f'invalid label selector "{text}": the value list of "{key} {op}" is empty')
                values: list[str] = []
                while True:
                    value = toks[i] if i < n and toks[i] not in _LIST_PUNCT else ""
                    i += bool(value)
                    _check_value(text, value)
                    values.append(value)
                    if i < n and toks[i] == ",":
                        i += 1
                        continue
                    if i < n and toks[i] == ")":
                        i += 1
                        break
                    raise fail("',' or ')' in a value list")
                reqs.append(Requirement(key, IN if op == "in" else NOT_IN, tuple(sorted(set(values)))))
            elif op in (">", "<"):
                i += 1
                value = ident(f"an integer after '{op}'")
                if not re.fullmatch(r"-?\d+", value):
                    raise SelectorError(f'invalid label selector "{text}": "{value}" after "{op}" must be an integer')
                reqs.append(Requirement(key, GT if op == ">" else LT, (value,)))
            else:
                raise fail("'=', '!=', 'in', 'notin' or ','")
        if i >= n:
            break
        if toks[i] != ",":
            raise fail("','")
        i += 1
    return Selector(tuple(reqs))


def from_label_selector(sel: LabelSelector | None) -> Selector:
    """A LabelSelector struct -> Selector (None selects nothing, empty selects everything).

    SelectorError.field is the path of the offending part, relative to the selector.
    """
    if sel is None:
        return _NOTHING
    reqs = [Requirement(k, IN, (v,)) for k, v in sel.match_labels.items()]
    for k, v in sel.match_labels.items():
        if errs := qualified_name_errors(k):
            raise SelectorError(f'Invalid value: "{k}": {errs[0]}', field="matchLabels")
        if errs := label_value_errors(v):
            raise SelectorError(f'Invalid value: "{v}": {errs[0]}', field=f"matchLabels.{k}")
    for j, expr in enumerate(sel.match_expressions):
        where = f"matchExpressions[{j}]"
        if errs := qualified_name_errors(expr.key):
            raise SelectorError(f'Invalid value: "{expr.key}": {errs[0]}', field=f"{where}.key")
        if expr.operator in (IN, NOT_IN):
            if not expr.values:
                raise SelectorError("Required value: must be specified when `operator` is 'In' or 'NotIn'",
                                    field=f"{where}.values")
        elif expr.operator in (EXISTS, DOES_NOT_EXIST):
            if expr.values:
                raise SelectorError("Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                                    field=f"{where}.values")
        else:
            raise SelectorError(f'Unsupported value: "{expr.operator}": supported values: '
                                '"In", "NotIn", "Exists", "DoesNotExist"', field=f"{where}.operator")
        for v in expr.values:
            if errs := label_value_errors(v):
                raise SelectorError(f'Invalid value: "{v}": {errs[0]}', field=f"{where}.values")
        reqs.append(Requirement(expr.key, expr.operator, tuple(sorted(set(expr.values)))))
    return Selector(tuple(reqs)) if reqs else _EVERYTHING


def __getattr__(name: str) -> Any:
    """Field selector names, re-exported lazily (field_selectors.py imports SelectorError from here)."""
    if name in _FIELD_NAMES:
        from orchestrator.model import field_selectors

        return getattr(field_selectors, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
