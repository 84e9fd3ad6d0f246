"""A tiny Prometheus text-format registry: counters, gauges and histograms with labels.

Enough for /metrics without a dependency; each subsystem gets the registry passed in
(no module-level singleton).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable

DEFAULT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

Labels = tuple[tuple[str, str], ...]


def _fmt_labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{k}="{v}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class Counter:
    def __init__(self, name: str, help_: str) -> None:
        self.name, self.help = name, help_
        self.values: dict[Labels, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self.values[key] = self.values.get(key, 0.0) + amount

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} counter"]
        out += [f"{self.name}{_fmt_labels(k)} {v:g}" for k, v in self.values.items()]
        return out


class Gauge:
    """A gauge read from a callback at scrape time."""

    def __init__(self, name: str, help_: str, read: Callable[[], float]) -> None:
        self.name, self.help, self.read = name, help_, read

    def render(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} gauge", f"{self.name} {self.read():g}"]


class Histogram:
    def __init__(self, name: str, help_: str, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        self.name, self.help, self.buckets = name, help_, buckets
        self.series: dict[Labels, list[float]] = {}  # bucket counts..., +Inf count, sum

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        s = self.series.get(key)
        if s is None:
            s = self.series[key] = [0.0] * (len(self.buckets) + 2)
        s[bisect.bisect_left(self.buckets, value)] += 1
        s[-1] += value

    def render(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        for key, s in self.series.items():
            cumulative = 0.0
            for bound, count in zip(self.buckets, s):
                cumulative += count
                le = 'le="%g"' % bound
                out.append(f"{self.name}_bucket{_fmt_labels(key, le)} {cumulative:g}")
            cumulative += s[len(self.buckets)]
            inf = 'le="+Inf"'
            out.append(f"{self.name}_bucket{_fmt_labels(key, inf)} {cumulative:g}")
            out.append(f"{self.name}_sum{_fmt_labels(key)} {s[-1]:g}")
            out.append(f"{self.name}_count{_fmt_labels(key)} {cumulative:g}")
        return out


class Metrics:
    def __init__(self) -> None:
        self._items: dict[str, Counter | Gauge | Histogram] = {}

    def counter(self, name: str, help_: str) -> Counter:
        return self._get(name, lambda: Counter(name, help_))  # type: ignore[return-value]

    def histogram(self, name: str, help_: str, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> Histogram:
        return self._get(name, lambda: Histogram(name, help_, buckets))  # type: ignore[return-value]

    def gauge(self, name: str, help_: str, read: Callable[[], float]) -> Gauge:
        self._items[name] = g = Gauge(name, help_, read)
        return g

    def _get(self, name: str, make: Callable[[], Counter | Histogram]) -> Counter | Gauge | Histogram:
        item = self._items.get(name)
        if item is None:
            item = self._items[name] = make()
        return item

    def render(self) -> str:
        lines: list[str] = []
        for item in self._items.values():
            lines += item.render()
        return "\n".join(lines) + "\n"
