"""Minimum, median and maximum: how live experiments (real threads, a real server) report a measurement
they repeat, since wall-clock runs cannot be deterministic."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    """Minimum, median and maximum of a live measurement repeated a few times."""

    min: float
    median: float
    max: float

    @classmethod
    def of(cls, values) -> Spread:
        values = list(values)
        return cls(min(values), statistics.median(values), max(values))
