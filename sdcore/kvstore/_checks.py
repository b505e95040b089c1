"""Input checks shared by the key-value store engine: each failure is a sentence a student can act on."""

from __future__ import annotations

import math
import numbers


def whole_number(name: str, value: object) -> int:
    """``value`` as an int, or a ValueError naming ``name`` when it is not a whole number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number (got {name}={value!r})")
    return int(value)


def positive_finite(name: str, value: object, unit: str = "") -> float:
    """``value`` as a float > 0 and finite, or a ValueError naming ``name``."""
    number = real_number(name, value)
    if not (number > 0 and math.isfinite(number)):
        raise ValueError(f"{name} must be a finite number greater than 0{unit} (got {name}={value!r})")
    return number


def real_number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number (got {name}={value!r})")
    return float(value)


def replica_counts(n: object, r: object, w: object, *, max_n: int | None = None) -> tuple[int, int, int]:
    """Check N (replicas), R (read quorum) and W (write quorum): 1 <= R, W <= N."""
    n = whole_number("N", n)
    if max_n is None and n < 1:
        raise ValueError(f"N, the number of replicas, must be at least 1 (got N={n})")
    if max_n is not None and not 1 <= n <= max_n:
        raise ValueError(f"N, the number of replicas, must be between 1 and {max_n} here (got N={n})")
    r = whole_number("R", r)
    if not 1 <= r <= n:
        raise ValueError(f"R must be between 1 and N (got R={r}, N={n})")
    w = whole_number("W", w)
    if not 1 <= w <= n:
        raise ValueError(f"W must be between 1 and N (got W={w}, N={n})")
    return n, r, w
