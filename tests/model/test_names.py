"""DNS-1123 names, label keys and values, with Kubernetes' messages."""

from __future__ import annotations

import random

import pytest

from orchestrator.model.names import (
    DNS1123_LABEL_MSG,
    DNS1123_SUBDOMAIN_MSG,
    config_key_errors,
    dns1123_label_errors,
    dns1123_subdomain_errors,
    generate_name,
    is_dns1123_label,
    is_dns1123_subdomain,
    label_value_errors,
    qualified_name_errors,
)


@pytest.mark.parametrize("name", ["a", "web-0", "0abc", "a" * 63])
def test_good_labels(name: str) -> None:
    assert is_dns1123_label(name)


@pytest.mark.parametrize("name", ["", "Web", "-a", "a-", "a.b", "a_b", "a" * 64])
def test_bad_labels(name: str) -> None:
    assert dns1123_label_errors(name)


def test_label_messages() -> None:
    assert dns1123_label_errors("Web") == (DNS1123_LABEL_MSG,)
    assert "a lowercase RFC 1123 label must consist of" in DNS1123_LABEL_MSG
    assert dns1123_label_errors("a" * 64) == ("must be no more than 63 characters",)


@pytest.mark.parametrize("name", ["a", "web.example.com", "api-7d4b9c-x8k2p", "a." * 126 + "a"])
def test_good_subdomains(name: str) -> None:
    assert is_dns1123_subdomain(name)


@pytest.mark.parametrize("name", ["", "Web", "a..b", ".a", "a.", "a_b", "a" * 254])
def test_bad_subdomains(name: str) -> None:
    assert dns1123_subdomain_errors(name)


def test_subdomain_message() -> None:
    assert dns1123_subdomain_errors("My_Pod") == (DNS1123_SUBDOMAIN_MSG,)
    assert DNS1123_SUBDOMAIN_MSG.startswith("a lowercase RFC 1123 subdomain must consist of")


@pytest.mark.parametrize("key", ["app", "app.kubernetes.io/name", "nvidia.com/gpu.product", "A_b.c-D", "x/" + "y" * 63])
def test_good_label_keys(key: str) -> None:
    assert qualified_name_errors(key) == ()


@pytest.mark.parametrize(("key", "fragment"), [
    ("", "name part must be non-empty"),
    ("/a", "prefix part must be non-empty"),
    ("Bad_Prefix/a", "prefix part a lowercase RFC 1123 subdomain"),
    ("a/b/c", "a qualified name must consist of"),
    ("bad key", "name part must consist of alphanumeric characters"),
    ("-a", "name part must consist of"),
    ("a" * 64, "name part must be no more than 63 characters"),
])
def test_bad_label_keys(key: str, fragment: str) -> None:
    errs = qualified_name_errors(key)
    assert any(fragment in e for e in errs), errs


@pytest.mark.parametrize("value", ["", "v1", "1.4.2", "NVIDIA-H100-80GB-HBM3", "a_b"])
def test_good_label_values(value: str) -> None:
    assert label_value_errors(value) == ()


@pytest.mark.parametrize("value", ["-a", "a b", "a/b", "v" * 64])
def test_bad_label_values(value: str) -> None:
    assert label_value_errors(value)


def test_config_keys() -> None:
    assert config_key_errors("app.properties") == ()
    assert config_key_errors("a/b")
    assert config_key_errors("..")


def test_generate_name_keeps_a_label() -> None:
    name = generate_name("web-", rng=random.Random(1))
    assert name.startswith("web-") and len(name) == 9 and is_dns1123_label(name)
    long = generate_name("x" * 80)
    assert len(long) == 63
