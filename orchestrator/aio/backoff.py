"""Jittered exponential back-off (full jitter, floor at half the step)."""

from __future__ import annotations

import random


def backoff_delay(attempt: int, *, base: float = 0.01, cap: float = 30.0) -> float:
    step = min(cap, base * (2 ** min(attempt, 30)))
    return random.uniform(step / 2, step)
