"""Virtual time in integer microseconds, and the parameter checks every limiter shares.

Limiters take time as seconds (a float the caller passes in; nothing here reads a clock) and work in whole
microseconds: ``now_us = round(now * 1_000_000)``. Integers make the decisions exact and let a Redis Lua
script (whose numbers are doubles, exact only below 2**53) repeat them bit for bit.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

MICROS_PER_SECOND = 1_000_000
# 9e9 s (about 285 years, so Unix timestamps fit) keeps every time in microseconds below 2**53.
MAX_TIME_S = 9_000_000_000.0
MAX_COUNT = 1_000_000  # capacity, queue_size and limit
MIN_RATE, MAX_RATE = 0.000001, 1_000_000.0  # refill_rate and outflow_rate, per second
MIN_WINDOW_S, MAX_WINDOW_S = 0.000001, 1_000_000.0


def _number(name: str, value: object, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number of {unit} (got {value!r})")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number of {unit} (got {value!r})")
    return v


def check_count(name: str, value: object, what: str) -> int:
    """A whole number between 1 and MAX_COUNT; ``what`` says what it counts, for the message."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a whole number of {what} (got {value!r})")
    if not isinstance(value, Integral):
        v = float(value)
        if not (math.isfinite(v) and v.is_integer()):
            raise ValueError(f"{name} must be a whole number of {what} (got {value!r})")
    n = int(value)
    if n < 1:
        raise ValueError(f"{name} must be at least 1 (got {value!r})")
    if n > MAX_COUNT:
        raise ValueError(f"{name} must be at most {MAX_COUNT:,} (got {value!r})")
    return n


def check_rate(name: str, value: object, what: str) -> float:
    """A rate per second between MIN_RATE and MAX_RATE."""
    v = _number(name, value, f"{what} per second")
    if not MIN_RATE <= v <= MAX_RATE:
        raise ValueError(
            f"{name} must be between {MIN_RATE:.6f} and {MAX_RATE:,.0f} {what} per second (got {value!r})"
        )
    return v


def check_window(name: str, value: object) -> int:
    """A window length in seconds; returns it in whole microseconds (at least 1)."""
    v = _number(name, value, "seconds")
    if not MIN_WINDOW_S <= v <= MAX_WINDOW_S:
        raise ValueError(
            f"{name} must be between {MIN_WINDOW_S:.6f} and {MAX_WINDOW_S:,.0f} seconds (got {value!r})"
        )
    return max(1, round(v * MICROS_PER_SECOND))


def check_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False (got {value!r})")
    return value


def to_micros(now: object) -> int:
    """``now`` in seconds -> whole microseconds, rounded to nearest (ties to even, like ``numpy.rint``)."""
    if type(now) is float and 0.0 <= now <= MAX_TIME_S:  # the common case, checked as below (NaN fails here)
        return round(now * MICROS_PER_SECOND)
    v = _number("now", now, "seconds")
    if not 0.0 <= v <= MAX_TIME_S:
        raise ValueError(f"now must be between 0 and {MAX_TIME_S:,.0f} seconds (got {now!r})")
    return round(v * MICROS_PER_SECOND)


def micro_rate(rate: float) -> int:
    """A rate per second in millionths per second (a refill of 1.5 tokens/s -> 1,500,000 micro-tokens/s)."""
    return max(1, round(rate * MICROS_PER_SECOND))


def interval_micros(rate: float) -> int:
    """The time between two departures at ``rate`` per second, rounded UP to a whole microsecond so a
    bucket never drains faster than asked (3/s -> 333,334 µs). The division is the correctly rounded float
    one, so 1/3 per second (a float a hair below a third) gives 3,000,000 µs, as meant, not 3,000,001."""
    return max(1, math.ceil(MICROS_PER_SECOND / rate))
