"""A `Sheet`: kubectl describe's layout of `Key:  value` lines, sections, small tables and trees."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from orchestrator.model.tables import NONE, render

MAX_KEY_WIDTH = 26  # keys longer than this do not push every value further right


class _KV:
    """A `Key: value` entry, laid out when the sheet is done (values align per level)."""

    def __init__(self, level: int, key: str, items: list[str]) -> None:
        self.level, self.key, self.items = level, key, items

    def head(self) -> str:
        return f"{'  ' * self.level}{self.key}:"

    def render(self, width: int) -> list[str]:
        width = max(width, len(self.head()) + 1)
        first = f"{self.head().ljust(width)}{self.items[0]}".rstrip()
        return [first, *(f"{' ' * width}{item}".rstrip() for item in self.items[1:])]


class Sheet:
    def __init__(self) -> None:
        self.lines: list[str | _KV] = []

    def kv(self, key: str, value: Any = "", *, level: int = 0) -> None:
        """`Key:  value`; a list value goes one item a line, aligned under the first."""
        items = [str(v) for v in value] if isinstance(value, (list, tuple)) else [_text(value)]
        self.lines.append(_KV(level, key, items or [NONE]))

    def section(self, key: str, *, level: int = 0) -> None:
        self.lines.append(f"{'  ' * level}{key}:")

    def line(self, text: str, *, level: int = 0) -> None:
        self.lines.append(f"{'  ' * level}{text}".rstrip())

    def table(self, key: str, headers: Sequence[str], rows: Sequence[Sequence[str]], *, level: int = 0) -> None:
        """`Key:` then an indented table with kubectl's `----` rule under the headers; `<none>` if empty."""
        if not rows:
            self.kv(key, NONE, level=level)
            return
        self.section(key, level=level)
        rule = ["-" * len(h) for h in headers]
        table = render(headers, [rule, *[[str(c) for c in r] for r in rows]])
        self.lines.extend(f"{'  ' * (level + 1)}{line}" for line in table)

    def tree(self, key: str, value: Any, *, level: int = 0) -> None:
        """Any nested value the describe way: maps as sub-keys, lists of maps as `-` items."""
        if isinstance(value, dict) and value:
            self.section(key, level=level)
            for k, v in value.items():
                self.tree(str(k), v, level=level + 1)
        elif isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
            self.section(key, level=level)
            for item in value:
                if isinstance(item, dict) and item:
                    first, *rest = item.items()
                    self.tree(f"- {first[0]}", first[1], level=level + 1)
                    for k, v in rest:
                        self.tree(f"  {k}", v, level=level + 1)
                else:
                    self.line(f"- {_text(item)}", level=level + 1)
        else:
            self.kv(key, value, level=level)

    def blank(self) -> None:
        self.lines.append("")

    def text(self) -> str:
        widths: dict[int, int] = {}
        for entry in self.lines:
            if isinstance(entry, _KV) and len(entry.head()) + 2 <= MAX_KEY_WIDTH:
                widths[entry.level] = max(widths.get(entry.level, 0), len(entry.head()) + 2)
        out: list[str] = []
        for entry in self.lines:
            out.extend(entry.render(widths.get(entry.level, 0)) if isinstance(entry, _KV) else [entry])
        return "\n".join(out)


def _text(value: Any) -> str:
    if value is None or value == "" or value == {} or value == []:
        return NONE
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


def mapping_lines(value: Any, *, sep: str = "=") -> list[str]:
    """`k=v` lines of a map (labels, selectors), sorted; [] when empty."""
    if not isinstance(value, dict):
        return []
    return [f"{k}{sep}{v}" for k, v in sorted(value.items())]
