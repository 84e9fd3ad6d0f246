"""Name rules: DNS-1123 subdomains and labels, label keys and values, generated names.

Each `*_errors` function returns a list of messages (empty = valid) worded as
Kubernetes words them, so a person who knows kubectl recognises them. Results are
cached: the same names and label keys come back on every write, and validation sits
on the write path.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
LABEL_VALUE_MAX = 63
QUALIFIED_NAME_MAX = 63
# generateName: Kubernetes appends 5 random characters and keeps the result a label.
GENERATED_SUFFIX_LEN = 5
GENERATED_PREFIX_MAX = DNS1123_LABEL_MAX - GENERATED_SUFFIX_LEN
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # no vowels: no words by accident

_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN_FMT = _LABEL_FMT + r"(\." + _LABEL_FMT + ")*"
_QNAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE_FMT = "(" + _QNAME_FMT + ")?"

_LABEL_RE = re.compile(_LABEL_FMT)
_SUBDOMAIN_RE = re.compile(_SUBDOMAIN_FMT)
_QNAME_RE = re.compile(_QNAME_FMT)
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE_FMT)
_CONFIG_KEY_RE = re.compile(r"[-._a-zA-Z0-9]+")

DNS1123_LABEL_MSG = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    f"regex used for validation is '{_LABEL_FMT}')"
)
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'example.com', "
    f"regex used for validation is '{_SUBDOMAIN_FMT}')"
)
QUALIFIED_NAME_MSG = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
    f"regex used for validation is '{_QNAME_FMT}')"
)
LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
    "and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "
    f"'12345', regex used for validation is '{_LABEL_VALUE_FMT}')"
)
CONFIG_KEY_MSG = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"


def _too_long(limit: int) -> str:
    return f"must be no more than {limit} characters"


@lru_cache(maxsize=4096)
def dns1123_label_errors(value: str) -> tuple[str, ...]:
    """Namespaces (and other single-segment names): `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, ≤ 63."""
    errs: list[str] = []
    if len(value) > DNS1123_LABEL_MAX:
        errs.append(_too_long(DNS1123_LABEL_MAX))
    if not _LABEL_RE.fullmatch(value):
        errs.append(DNS1123_LABEL_MSG)
    return tuple(errs)


@lru_cache(maxsize=16384)
def dns1123_subdomain_errors(value: str) -> tuple[str, ...]:
    """Most object names: dot-separated DNS labels, ≤ 253."""
    errs: list[str] = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(_too_long(DNS1123_SUBDOMAIN_MAX))
    if not _SUBDOMAIN_RE.fullmatch(value):
        errs.append(DNS1123_SUBDOMAIN_MSG)
    return tuple(errs)


@lru_cache(maxsize=4096)
def qualified_name_errors(value: str) -> tuple[str, ...]:
    """Label and annotation keys, resource names: `[prefix/]name`, prefix a DNS subdomain."""
    prefix, slash, name = value.rpartition("/")
    if slash and "/" in prefix:
        return ("a qualified name " + QUALIFIED_NAME_MSG + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",)
    errs: list[str] = []
    if slash:
        if not prefix:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + e for e in dns1123_subdomain_errors(prefix))
    if not name:
        errs.append("name part must be non-empty")
    else:
        if len(name) > QUALIFIED_NAME_MAX:
            errs.append("name part " + _too_long(QUALIFIED_NAME_MAX))
        if not _QNAME_RE.fullmatch(name):
            errs.append("name part " + QUALIFIED_NAME_MSG)
    return tuple(errs)


label_key_errors = qualified_name_errors


@lru_cache(maxsize=16384)
def label_value_errors(value: str) -> tuple[str, ...]:
    errs: list[str] = []
    if len(value) > LABEL_VALUE_MAX:
        errs.append(_too_long(LABEL_VALUE_MAX))
    if not _LABEL_VALUE_RE.fullmatch(value):
        errs.append(LABEL_VALUE_MSG)
    return tuple(errs)


def config_key_errors(value: str) -> tuple[str, ...]:
    """Keys of ConfigMap and Secret data (they become file names)."""
    errs: list[str] = []
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        errs.append(_too_long(DNS1123_SUBDOMAIN_MAX))
    if not _CONFIG_KEY_RE.fullmatch(value):
        errs.append(CONFIG_KEY_MSG)
    if value in (".", "..") or value.startswith(".."):
        errs.append("must not be '.' or '..' or start with '..'")
    return tuple(errs)


def is_dns1123_label(value: str) -> bool:
    return not dns1123_label_errors(value)


def is_dns1123_subdomain(value: str) -> bool:
    return not dns1123_subdomain_errors(value)


def generate_name(prefix: str, *, rng: random.Random | None = None) -> str:
    """`generateName` + 5 random characters, the prefix cut so the result stays ≤ 63."""
    pick = rng.choice if rng is not None else random.choice
    return prefix[:GENERATED_PREFIX_MAX] + "".join(pick(_SUFFIX_ALPHABET) for _ in range(GENERATED_SUFFIX_LEN))
