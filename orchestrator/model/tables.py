"""Aligned tables like kubectl's: columns, AGE, and rendering. Pure functions of dicts.

Objects arrive as plain dicts (the wire form); every column reads them through `dig`, so
a field the model does not have yet shows as `<none>` or `0` rather than failing. The
per-kind columns are in `columns.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

NONE = "<none>"
PAD = 3  # spaces between columns, like kubectl

Cell = Callable[[dict[str, Any], datetime], str]
Column = tuple[str, Cell]


def dig(obj: Any, *path: str | int, default: Any = None) -> Any:
    """obj["a"]["b"][0] or default when any step is missing or of the wrong shape."""
    for step in path:
        if isinstance(step, int):
            if not isinstance(obj, list) or not -len(obj) <= step < len(obj):
                return default
        elif not isinstance(obj, dict) or step not in obj:
            return default
        obj = obj[step]
    return default if obj is None else obj


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def human_duration(seconds: float) -> str:
    """kubectl's HumanDuration: 45s, 119s, 3m12s, 15m, 5h30m, 10h, 2d5h, 20d, 3y45d."""
    if seconds < -1:
        return "<invalid>"
    s = int(max(seconds, 0))
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def age(value: Any, now: datetime) -> str:
    t = parse_time(value)
    return human_duration((now - t).total_seconds()) if t else "<unknown>"


def age_of(obj: dict[str, Any], now: datetime) -> str:
    return age(dig(obj, "metadata", "creationTimestamp"), now)


def name_of(obj: dict[str, Any], _now: datetime) -> str:
    return str(dig(obj, "metadata", "name", default=""))


def labels_text(labels: Any) -> str:
    if not isinstance(labels, dict) or not labels:
        return NONE
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], *, widths: list[int] | None = None) -> list[str]:
    """Lines of an aligned table; pass `widths` to keep later rows in line with earlier ones."""
    if widths is None:
        widths = [0] * len(headers)
    for row in [headers, *rows]:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    return [format_row(row, widths) for row in [headers, *rows] if row is not None]


def format_row(row: Sequence[str], widths: Sequence[int]) -> str:
    cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
    return (" " * PAD).join(cells).rstrip()
