"""Kubernetes resource quantities (`250m`, `2`, `0.5`, `512Mi`, `1Gi`, `1G`, `1e3`, `100k`).

    quantity ::= [+-] number suffix
    number   ::= digits | digits "." digits? | "." digits
    suffix   ::= "" | n u m k M G T P E           (decimal SI)
               | Ki Mi Gi Ti Pi Ei                (binary SI)
               | (e|E) [+-] digits                (decimal exponent)

Values are exact (`fractions.Fraction`); the integer views round up, as Kubernetes'
`MilliValue()` and `Value()` do, so `0.1m` of CPU is 1 milli and never 0. Parsing is
cached: the same few strings come back in every pod spec.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import lru_cache

_RE = re.compile(r"([+-]?)(\d+(?:\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?\d+|[numkMGTPE]?)")

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "": Fraction(1), "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
}
_FORMAT_BINARY = (("Ei", 2**60), ("Pi", 2**50), ("Ti", 2**40), ("Gi", 2**30), ("Mi", 2**20), ("Ki", 2**10))
_MAX_EXPONENT = 40  # beyond any real resource; keeps `1e999999` from eating memory


QuantityValue = str | int | float  # what a manifest may hold: YAML turns `nvidia.com/gpu: 1` into an int


def quantity_text(value: QuantityValue) -> str:
    """A quantity as its string form: `1` -> "1", `0.5` -> "0.5", "250m" unchanged."""
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def normalize_quantities(amounts: dict[str, QuantityValue]) -> dict[str, str]:
    """The same map with every value a string (the same dict when it already is)."""
    for v in amounts.values():
        if type(v) is not str:
            return {k: quantity_text(x) for k, x in amounts.items()}
    return amounts  # type: ignore[return-value]


class QuantityError(ValueError):
    """A string that is not a quantity; the message names it and shows the accepted forms."""


@lru_cache(maxsize=8192)
def parse_quantity(value: QuantityValue) -> Fraction:
    """The exact value of a quantity string; QuantityError on anything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return Fraction(value)
    if isinstance(value, float):
        value = quantity_text(value)
    if not isinstance(value, str):
        raise QuantityError(f"invalid quantity {value!r}: expected a string such as \"500m\" or \"1Gi\"")
    m = _RE.fullmatch(value)
    if m is None:
        raise QuantityError(
            f'invalid quantity "{value}": must be a number with an optional suffix '
            "(m, k, M, G, T, Ki, Mi, Gi, Ti, or an exponent), e.g. 250m, 2, 0.5, 512Mi, 1Gi, 1e3"
        )
    sign, number, suffix = m.groups()
    n = Fraction(number)
    if suffix in _BINARY:
        n *= _BINARY[suffix]
    elif suffix in _DECIMAL:
        n *= _DECIMAL[suffix]
    else:
        exp = int(suffix[1:])
        if abs(exp) > _MAX_EXPONENT:
            raise QuantityError(f'invalid quantity "{value}": exponent {exp} is out of range')
        n *= Fraction(10) ** exp
    return -n if sign == "-" else n


def parse_cpu_millis(value: QuantityValue) -> int:
    """CPU in thousandths of a core, rounded up: `250m` -> 250, `2` -> 2000, `0.5` -> 500."""
    return math.ceil(parse_quantity(value) * 1000)


def parse_bytes(value: QuantityValue) -> int:
    """Bytes (or any count), rounded up: `1Gi` -> 1073741824, `1G` -> 10**9."""
    return math.ceil(parse_quantity(value))


def parse_count(value: QuantityValue) -> int:
    """A whole count (`nvidia.com/gpu`, `pods`); QuantityError when it has a fraction."""
    q = parse_quantity(value)
    if q.denominator != 1:
        raise QuantityError(f'invalid quantity "{value}": must be a whole number')
    return int(q)


def is_quantity(value: str) -> bool:
    try:
        parse_quantity(value)
    except QuantityError:
        return False
    return True


def format_cpu(millis: int) -> str:
    """`250` -> "250m", `2000` -> "2"."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def format_bytes(n: int) -> str:
    """The largest binary suffix that divides exactly: `17179869184` -> "16Gi", `1000` -> "1000"."""
    if n:
        for suffix, size in _FORMAT_BINARY:
            if n % size == 0:
                return f"{n // size}{suffix}"
    return str(n)
