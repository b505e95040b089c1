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
    "number_text",
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


def number_text(x: float | str, digits: int = 6) -> str:
    """A number as a sentence prints it, to ``digits`` significant digits, never in exponent form:
    whole numbers in full with thousands separators, big ones rounded to a whole number.

    >>> [number_text(v) for v in (100, 1000.0, 4.5e9, 2**31 - 1, 0.25, 123456.7, 1e-7, "N")]
    ['100', '1,000', '4,500,000,000', '2,147,483,647', '0.25', '123,457', '0.0000001', 'N']
    >>> [number_text(v, 3) for v in (1234.5678, 12.3456, 0.000123, 999.95)]
    ['1,235', '12.3', '0.000123', '1,000']
    """
    if isinstance(x, str):
        return x
    v = float(x)
    if not math.isfinite(v):
        return str(v)
    if v.is_integer() and abs(v) < 1e18:
        return f"{int(v):,}"
    if abs(v) >= 10 ** min(digits, 5) or abs(float(f"{v:.{digits}g}")) >= 10**digits:
        return f"{v:,.0f}"
    if abs(v) < 1e-4:
        return f"{v:.12f}".rstrip("0")
    return f"{v:.{digits}g}"


def int_between(
    name: str, value: object, lo: int, hi: int, *, lo_name: str | None = None, hi_name: str | None = None
) -> int:
    """A whole number in [lo, hi]. ``lo_name``/``hi_name`` word a bound that is another parameter:
    ``int_between("W", 4, 1, 3, hi_name="N")`` -> "W must be between 1 and N (got W=4, N=3)"."""
    n = whole_number(name, value)
    if not lo <= n <= hi:
        extra = "".join(f", {b}={v}" for b, v in ((lo_name, lo), (hi_name, hi)) if b)
        raise ValueError(
            f"{name} must be between {lo_name or number_text(lo)} and {hi_name or number_text(hi)} "
            f"{_got(name, value, extra)}"
        )
    return n


def number_between(
    name: str, value: object, lo: float, hi: float, *, unit: str = "", lo_open: bool = False
) -> float:
    """A finite float in [lo, hi] (or (lo, hi] with ``lo_open``); ``unit`` (" seconds") follows hi."""
    v = real_number(name, value)
    if (v <= lo if lo_open else v < lo) or v > hi:
        rule = f"more than {number_text(lo)} and at most" if lo_open else f"between {number_text(lo)} and"
        raise ValueError(f"{name} must be {rule} {number_text(hi)}{unit} {_got(name, value)}")
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
        raise ValueError(
            f"{name} must be more than {number_text(lo)} and at most {number_text(hi)} seconds (got {value!r})"
        )
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
