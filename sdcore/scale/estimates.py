"""Back-of-the-envelope estimates with their arithmetic shown, the way an interview does them on a whiteboard.

Each helper returns its numbers and ``arithmetic``: the lines of the calculation with the numbers put in
("10,000,000 DAU × 10 requests ÷ 86,400 s = 1,157 requests/s"), so a page shows how the answer was reached and
a student can check it by hand. A day is 86,400 s; a year is 365.25 days (the Julian year, as
``sdcore.scale.availability`` uses).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sdcore import checks

SECONDS_PER_DAY = 86_400
DAYS_PER_YEAR = 365.25
_UNITS = ("B", "KB", "MB", "GB", "TB", "PB", "EB")


def _n(x: float) -> str:
    """A number for the arithmetic: thousands separators, up to 3 significant decimals for small values."""
    if x == 0 or abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.{max(0, 2 - int(math.floor(math.log10(abs(x)))))}f}".rstrip("0").rstrip(".")


def format_bytes(n: float) -> str:
    """Decimal units, as capacity planning uses them: 1 KB = 1,000 bytes. 1.5e12 -> "1.5 TB"."""
    n = float(n)
    i = 0
    while abs(n) >= 1000 and i < len(_UNITS) - 1:
        n /= 1000
        i += 1
    if i == 0 or n >= 100:
        return f"{n:,.0f} {_UNITS[i]}"
    return f"{n:.3g} {_UNITS[i]}"  # %g on purpose: 1 <= n < 100 here, never an exponent


@dataclass(frozen=True)
class QpsEstimate:
    daily_active_users: int
    requests_per_user_per_day: float
    peak_factor: float
    requests_per_day: float
    average_qps: float
    peak_qps: float
    arithmetic: tuple[str, ...]


def qps_from_dau(
    daily_active_users: int, requests_per_user_per_day: float, peak_factor: float = 2.0
) -> QpsEstimate:
    """Average requests per second = DAU × requests per user per day ÷ 86,400; peak = average × peak factor.

    >>> e = qps_from_dau(10_000_000, 10, 2)
    >>> round(e.average_qps), round(e.peak_qps)
    (1157, 2315)
    """
    dau = checks.int_between("daily_active_users", daily_active_users, 0, 100_000_000_000)
    r = checks.number_between("requests_per_user_per_day", requests_per_user_per_day, 0.0, 1_000_000.0)
    pf = checks.number_between("peak_factor", peak_factor, 1.0, 100.0)
    per_day = dau * r
    avg = per_day / SECONDS_PER_DAY
    peak = avg * pf
    lines = (
        f"{_n(dau)} DAU × {_n(r)} requests per user per day = {_n(per_day)} requests per day",
        f"{_n(per_day)} requests ÷ {SECONDS_PER_DAY:,} s per day = {_n(avg)} requests/s on average",
        f"{_n(avg)} requests/s × peak factor {_n(pf)} = {_n(peak)} requests/s at peak",
    )
    return QpsEstimate(dau, r, pf, per_day, avg, peak, lines)


@dataclass(frozen=True)
class StorageEstimate:
    daily_active_users: int
    writes_per_user_per_day: float
    bytes_per_write: float
    replicas: int
    years: float
    bytes_per_day: float
    bytes_per_year: float  # one copy
    total_bytes: float  # all replicas, all years
    arithmetic: tuple[str, ...]


def storage_per_year(
    daily_active_users: int,
    writes_per_user_per_day: float,
    bytes_per_write: float,
    replicas: int = 3,
    years: float = 1.0,
) -> StorageEstimate:
    """New data per year = DAU × writes per user per day × bytes per write × 365.25; stored × replicas × years.

    >>> e = storage_per_year(1_000_000, 2, 1_000, replicas=3, years=5)
    >>> format_bytes(e.bytes_per_year), format_bytes(e.total_bytes)
    ('730 GB', '11 TB')
    """
    dau = checks.int_between("daily_active_users", daily_active_users, 0, 100_000_000_000)
    w = checks.number_between("writes_per_user_per_day", writes_per_user_per_day, 0.0, 1_000_000.0)
    b = checks.number_between("bytes_per_write", bytes_per_write, 0.0, 1e12, unit=" bytes")
    k = checks.int_between("replicas", replicas, 1, 100)
    y = checks.number_between("years", years, 0.0, 100.0, lo_open=True)
    per_day = dau * w * b
    per_year = per_day * DAYS_PER_YEAR
    total = per_year * k * y
    lines = (
        f"{_n(dau)} DAU × {_n(w)} writes per user per day × {format_bytes(b)} = {format_bytes(per_day)} per day",
        f"{format_bytes(per_day)} × {DAYS_PER_YEAR} days = {format_bytes(per_year)} per year",
        f"{format_bytes(per_year)} × {k} replica{'s' if k != 1 else ''} × {_n(y)} year{'s' if y != 1 else ''} "
        f"= {format_bytes(total)} stored",
    )
    return StorageEstimate(dau, w, b, k, y, per_day, per_year, total, lines)


@dataclass(frozen=True)
class BandwidthEstimate:
    qps: float
    bytes_per_request: float
    bytes_per_second: float
    arithmetic: tuple[str, ...]


def bandwidth_from_qps(qps: float, bytes_per_request: float) -> BandwidthEstimate:
    """Bytes per second = requests per second × bytes per response (bits: × 8)."""
    q = checks.number_between("qps", qps, 0.0, 1e12)
    b = checks.number_between("bytes_per_request", bytes_per_request, 0.0, 1e12, unit=" bytes")
    bps = q * b
    lines = (
        f"{_n(q)} requests/s × {format_bytes(b)} = {format_bytes(bps)}/s (× 8 = {_n(bps * 8 / 1e6)} Mbit/s)",
    )
    return BandwidthEstimate(q, b, bps, lines)


@dataclass(frozen=True)
class ServersEstimate:
    peak_qps: float
    qps_per_server: float
    target_utilization: float
    servers: int
    arithmetic: tuple[str, ...]


def servers_for(peak_qps: float, qps_per_server: float, target_utilization: float = 0.6) -> ServersEstimate:
    """Servers = ceil(peak QPS ÷ (QPS one server sustains × target utilization)); at least 1."""
    q = checks.number_between("peak_qps", peak_qps, 0.0, 1e12)
    cap = checks.positive_finite("qps_per_server", qps_per_server, " requests per second")
    u = checks.number_between("target_utilization", target_utilization, 0.0, 1.0, lo_open=True)
    n = max(1, math.ceil(q / (cap * u) - 1e-9))
    lines = (
        f"{_n(q)} requests/s ÷ ({_n(cap)} requests/s per server × {_n(u)} target) = {_n(q / (cap * u))} "
        f"→ {n} servers",
    )
    return ServersEstimate(q, cap, u, n, lines)
