"""Availability: parts in series multiply, redundant parts fail only together, and what a number of nines
means in downtime per year.

A year here is ``YEAR_DAYS`` = 365.25 days (the Julian year, leap years averaged in): tables on the web that
use 365 days give about six hours less a year, so "99.9%" reads 8 h 46 min there against 8 h 45 min 57 s
here. Parts are assumed to fail independently, which is exactly what a shared power feed or a bad deploy
breaks: the numbers are an upper bound.
"""

from __future__ import annotations

import math

from sdcore import checks

YEAR_DAYS = 365.25
SECONDS_PER_DAY = 86_400


def _part(value: object, name: str = "part") -> float:
    return checks.number_between(name, value, 0.0, 1.0)


def _parts(parts: tuple[float, ...], fn: str) -> list[float]:
    if not parts:
        raise ValueError(f"{fn} needs at least one part (got none)")
    return [_part(p) for p in parts]


def availability_series(*parts: float) -> float:
    """Every part must be up: A = A1 * A2 * ... (a chain is weaker than its weakest link)."""
    return math.prod(_parts(parts, "availability_series"))


def availability_parallel(*parts: float) -> float:
    """Any one part up is enough: A = 1 - (1 - A1)(1 - A2)... (redundant copies, each able to carry it all)."""
    return 1.0 - math.prod(1.0 - p for p in _parts(parts, "availability_parallel"))


def availability_k_of_n(needed: int, instances: int, part: float) -> float:
    """At least ``needed`` of ``instances`` identical parts up (a tier that needs k servers for its load):
    sum over j >= k of C(n, j) A^j (1 - A)^(n - j)."""
    n = checks.int_between("instances", instances, 1, 1_000_000)
    k = checks.int_between("needed", needed, 0, n, hi_name="instances")
    a = _part(part)
    if n <= EXACT_TERMS_UP_TO:
        return min(1.0, sum(math.comb(n, j) * a**j * (1 - a) ** (n - j) for j in range(k, n + 1)))
    return _binomial_tail(k, n, a)


# Up to here C(n, j) fits a float and the exact sum is used; above, C(1030, 515) alone overflows a float, so the
# terms are summed in log space (the same sum: tested against exact rational arithmetic).
EXACT_TERMS_UP_TO = 1000


def _binomial_tail(k: int, n: int, a: float) -> float:
    """P(at least k of n up) for large n: each term exp(log C(n, j) + j log a + (n - j) log(1 - a)), with
    log C(n, j) from lgamma; terms below about 1e-300 add nothing a float can hold."""
    if a >= 1.0:
        return 1.0
    if a <= 0.0:
        return 1.0 if k == 0 else 0.0
    la, lb, lg = math.log(a), math.log1p(-a), math.lgamma
    logs = [lg(n + 1) - lg(j + 1) - lg(n - j + 1) + j * la + (n - j) * lb for j in range(k, n + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * math.fsum(math.exp(x - top) for x in logs))


def downtime_per_year(availability: float, days: float = YEAR_DAYS) -> float:
    """Expected seconds down per year of ``days`` days: (1 - A) * days * 86,400."""
    a = _part(availability, "availability")
    d = checks.number_between("days", days, 1.0, 366.0, unit=" days")
    return (1.0 - a) * d * SECONDS_PER_DAY


def nines(availability: float) -> float:
    """-log10(1 - A): 0.999 -> 3.0 ("three nines"); infinite for A = 1."""
    a = _part(availability, "availability")
    return math.inf if a >= 1.0 else -math.log10(1.0 - a)


def instance_availability(failures_per_year: float, repair_seconds: float) -> float:
    """A part that fails ``failures_per_year`` times and is back after ``repair_seconds`` each time:
    MTBF / (MTBF + MTTR) with MTBF = year / failures, the steady-state share of time up."""
    f = checks.number_between("failures_per_year", failures_per_year, 0.0, 10_000.0)
    r = checks.number_between("repair_seconds", repair_seconds, 0.0, 1e9, unit=" seconds")
    return 1.0 / (1.0 + f * r / (YEAR_DAYS * SECONDS_PER_DAY))
