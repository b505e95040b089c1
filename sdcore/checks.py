"""Input checks for the whole engine: every failure is one sentence a student can act on.

Each check names the parameter, says what is allowed and echoes the value it got, in one form::

    W must be between 1 and N (got W=4, N=3)
    policy must be one of closed, open (got policy='ajar')

They return the value in its canonical type (an ``int`` for a whole number, a ``float`` for a number), so
a constructor reads ``self.size = int_between("size", size, 1, 1000)`` and is done.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real

__all__ = [
    "boolean",
    "count_between",
    "int_between",
    "number_between",
    "one_of",
    "positive_finite",
    "real_number",
    "seconds_between",
    "seed",
    "whole_number",
]


def _got(name: str, value: object, extra: str = "") -> str:
    return f"(got {name}={value!r}{extra})"


def whole_number(name: str, value: object) -> int:
    """``value`` as an int; a float that is a whole number (3.0) is accepted, True/False are not."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a whole number {_got(name, value)}")
    if not isinstance(value, Integral):
        v = float(value)
        if not (math.isfinite(v) and v.is_integer()):
            raise ValueError(f"{name} must be a whole number {_got(name, value)}")
    return int(value)


def real_number(name: str, value: object) -> float:
    """``value`` as a finite float."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number {_got(name, value)}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number {_got(name, value)}")
    return v


def positive_finite(name: str, value: object, unit: str = "") -> float:
    """A finite float greater than 0; ``unit`` (" seconds") is appended to the rule."""
    v = real_number(name, value)
    if not v > 0:
        raise ValueError(f"{name} must be a finite number greater than 0{unit} {_got(name, value)}")
    return v


def _bound_text(bound: float | str) -> str:
    if isinstance(bound, str):
        return bound
    if isinstance(bound, int) or float(bound).is_integer():
        return f"{int(bound):,}"
    return f"{bound:g}"


def int_between(
    name: str, value: object, lo: int, hi: int, *, lo_name: str | None = None, hi_name: str | None = None
) -> int:
    """A whole number in [lo, hi]. ``lo_name``/``hi_name`` word a bound that is another parameter:
    ``int_between("W", 4, 1, 3, hi_name="N")`` -> "W must be between 1 and N (got W=4, N=3)"."""
    n = whole_number(name, value)
    if not lo <= n <= hi:
        extra = "".join(f", {b}={v}" for b, v in ((lo_name, lo), (hi_name, hi)) if b)
        raise ValueError(
            f"{name} must be between {lo_name or _bound_text(lo)} and {hi_name or _bound_text(hi)} "
            f"{_got(name, value, extra)}"
        )
    return n


def number_between(
    name: str, value: object, lo: float, hi: float, *, unit: str = "", lo_open: bool = False
) -> float:
    """A finite float in [lo, hi] (or (lo, hi] with ``lo_open``); ``unit`` (" seconds") follows hi."""
    v = real_number(name, value)
    if (v <= lo if lo_open else v < lo) or v > hi:
        rule = f"more than {_bound_text(lo)} and at most" if lo_open else f"between {_bound_text(lo)} and"
        raise ValueError(f"{name} must be {rule} {_bound_text(hi)}{unit} {_got(name, value)}")
    return v


def one_of(name: str, value: object, choices: Iterable[object]) -> object:
    """``value`` if it is one of ``choices`` (a registry's names), else the list of what is allowed."""
    options = tuple(choices)
    try:
        ok = value in options
    except TypeError:  # an unhashable value against a mapping's keys
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {', '.join(map(str, options))} {_got(name, value)}")
    return value


def count_between(name: str, value: object, lo: int, hi: int) -> int:
    """A whole number in [lo, hi] given as an int (not a float, not a bool): counts of clients, runs, windows.
    "clients must be a whole number between 1 and 64 (got 99)"."""
    if isinstance(value, bool) or not isinstance(value, Integral) or not lo <= value <= hi:
        raise ValueError(f"{name} must be a whole number between {lo} and {hi:,} (got {value!r})")
    return int(value)


def seconds_between(name: str, value: object, lo: float, hi: float) -> float:
    """A duration in (lo, hi] seconds: "window must be more than 0 and at most 10 seconds (got 0)"."""
    if isinstance(value, bool) or not isinstance(value, Real) or not lo < value <= hi:
        raise ValueError(f"{name} must be more than {lo:g} and at most {hi:g} seconds (got {value!r})")
    return float(value)


def boolean(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False {_got(name, value)}")
    return value


def seed(value: object, name: str = "seed") -> int:
    """A seed for ``numpy.random.default_rng``: a whole number >= 0."""
    n = whole_number(name, value)
    if n < 0:
        raise ValueError(f"{name} must be a whole number >= 0 {_got(name, value)}")
    return n
