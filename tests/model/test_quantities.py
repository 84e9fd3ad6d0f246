"""Quantities parse exactly, round up to integers, format back, and reject junk clearly."""

from __future__ import annotations

from fractions import Fraction

import pytest

from orchestrator.model.quantities import (
    QuantityError,
    format_bytes,
    format_cpu,
    normalize_quantities,
    parse_bytes,
    parse_count,
    parse_cpu_millis,
    parse_quantity,
)


@pytest.mark.parametrize(("text", "value"), [
    ("250m", Fraction(1, 4)), ("2", Fraction(2)), ("0.5", Fraction(1, 2)), (".5", Fraction(1, 2)),
    ("1.", Fraction(1)), ("512Mi", Fraction(512 * 2**20)), ("1Gi", Fraction(2**30)), ("1G", Fraction(10**9)),
    ("1e3", Fraction(1000)), ("1E3", Fraction(1000)), ("2e-3", Fraction(2, 1000)), ("100k", Fraction(100_000)),
    ("1Ki", Fraction(1024)), ("1Ti", Fraction(2**40)), ("3T", Fraction(3 * 10**12)), ("1E", Fraction(10**18)),
    ("+1", Fraction(1)), ("-1", Fraction(-1)), ("500n", Fraction(5, 10**7)), ("10u", Fraction(1, 10**5)),
    ("0", Fraction(0)), ("1.5Gi", Fraction(3 * 2**29)), (7, Fraction(7)), (0.25, Fraction(1, 4)),
])
def test_parse_quantity(text: str | int | float, value: Fraction) -> None:
    assert parse_quantity(text) == value


@pytest.mark.parametrize(("text", "millis"), [
    ("250m", 250), ("2", 2000), ("0.5", 500), ("1.5", 1500), ("0.1m", 1), ("1e3", 1_000_000), (4, 4000),
])
def test_parse_cpu_millis_rounds_up(text: str | int, millis: int) -> None:
    assert parse_cpu_millis(text) == millis


@pytest.mark.parametrize(("text", "n"), [
    ("1Gi", 1073741824), ("512Mi", 536870912), ("1G", 10**9), ("128974848", 128974848), ("129e6", 129_000_000),
    ("123Mi", 128974848), ("1.5Ki", 1536), ("0.5", 1),
])
def test_parse_bytes(text: str, n: int) -> None:
    assert parse_bytes(text) == n


@pytest.mark.parametrize("junk", ["abc", "", "1.2.3", "1Gb", "Gi", "1 Gi", "--1", "1e", "1mi", "0x10", "1e999"])
def test_junk_is_rejected_with_the_value_named(junk: str) -> None:
    with pytest.raises(QuantityError, match=f'invalid quantity "{junk}"'):
        parse_quantity(junk)


def test_quantity_error_is_a_value_error_that_shows_examples() -> None:
    with pytest.raises(ValueError) as info:
        parse_cpu_millis("two")
    assert "250m" in str(info.value) and "1Gi" in str(info.value)


def test_parse_count_wants_whole_numbers() -> None:
    assert parse_count("2") == 2
    assert parse_count(1) == 1
    with pytest.raises(QuantityError, match="whole number"):
        parse_count("500m")


@pytest.mark.parametrize(("millis", "text"), [(250, "250m"), (2000, "2"), (0, "0"), (1500, "1500m")])
def test_format_cpu(millis: int, text: str) -> None:
    assert format_cpu(millis) == text
    assert parse_cpu_millis(text) == millis


@pytest.mark.parametrize(("n", "text"), [
    (16 * 2**30, "16Gi"), (2**20, "1Mi"), (1536, "1536"), (1000, "1000"), (0, "0"),
    (3 * 2**40, "3Ti"), (1024 + 2**30, "1048577Ki"),
])
def test_format_bytes(n: int, text: str) -> None:
    assert format_bytes(n) == text
    assert parse_bytes(text) == n


def test_normalize_quantities_turns_numbers_into_text() -> None:
    same = {"cpu": "1"}
    assert normalize_quantities(same) is same
    assert normalize_quantities({"nvidia.com/gpu": 1, "cpu": 0.5, "memory": "1Gi"}) == {
        "nvidia.com/gpu": "1", "cpu": "0.5", "memory": "1Gi"}
