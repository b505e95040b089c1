"""Request traces to push through the limiters: generated from a seed, or uploaded as CSV.

Every generator returns a :class:`Trace` sorted by time (stable), so the same seed gives the same trace.

>>> from sdcore.ratelimit.traffic import poisson
>>> trace = poisson(rate=100.0, duration=10.0, rng=7)
>>> len(trace) == len(poisson(rate=100.0, duration=10.0, rng=7))
True
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from types import MappingProxyType

import numpy as np

from sdcore.checks import number_text
from sdcore.ratelimit.units import MAX_TIME_S

MAX_REQUESTS = 5_000_000  # a generated trace: about 40 MB of timestamps
MAX_GEN_RATE = 1_000_000.0
MAX_CSV_BYTES = 5_000_000
MAX_CSV_ROWS = 1_000_000
SHOWN_BAD_ROWS = 5


@dataclass(frozen=True, eq=False)
class Trace:
    """Arrival times in seconds (sorted) and, for traces with several clients, the client of each request.

    ``notices`` are sentences for the user about what was done to the input (e.g. it was sorted);
    ``reordered`` says whether the input was out of time order.

    Traces read from an access log (:func:`sdcore.ratelimit.logs.parse_trace`) also keep: ``start``, the
    UTC time of the first request (``timestamps`` are seconds since it); ``format`` (``"generated"``,
    ``"csv"``, ``"common"``, ``"combined"``; see ``sdcore.ratelimit.logs.FORMATS``) and ``compressed``
    (it came gzipped); ``malformed``, how many lines were skipped, with ``malformed_examples``, the first
    few as ``(line number, line)``; and per request, as integer codes into a table of distinct values
    (a million requests share a few thousand strings): ``paths`` / ``path_table`` (the path without its
    query string), ``methods`` / ``method_table``, ``user_agents`` / ``user_agent_table`` (``None`` and
    ``()`` where the format has no such field), and ``statuses``, the HTTP status itself (0 for ``-``).
    """

    timestamps: np.ndarray
    keys: np.ndarray | None
    description: str
    notices: tuple[str, ...] = ()
    reordered: bool = False
    start: datetime | None = None
    format: str = "generated"
    compressed: bool = False
    malformed: int = 0
    malformed_examples: tuple[tuple[int, str], ...] = ()
    paths: np.ndarray | None = None
    path_table: tuple[str, ...] = ()
    methods: np.ndarray | None = None
    method_table: tuple[str, ...] = ()
    statuses: np.ndarray | None = None
    user_agents: np.ndarray | None = None
    user_agent_table: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def duration(self) -> float:
        return float(self.timestamps[-1] - self.timestamps[0]) if len(self) else 0.0

    def clients(self) -> list[str]:
        return ["default"] if self.keys is None else list(dict.fromkeys(self.keys.tolist()))


def _trace(t: np.ndarray, keys: np.ndarray | None, description: str, **kw) -> Trace:
    order = np.argsort(t, kind="stable")
    t = np.ascontiguousarray(t[order], dtype=np.float64)
    t.flags.writeable = False
    if keys is not None:
        keys = keys[order]
        keys.flags.writeable = False
    return Trace(t, keys, description, **kw)


def _rng(rng: np.random.Generator | int) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(rng)
    raise ValueError(f"rng must be a seed (a whole number, 0 or more) or a numpy Generator (got {rng!r})")


def _positive(name: str, value: object, unit: str, *, upper: float, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a number of {unit} (got {value!r})")
    low_ok = value >= 0 if allow_zero else value > 0
    if not low_ok or value > upper:
        low = "0" if allow_zero else "more than 0"
        raise ValueError(f"{name} must be {low} and at most {number_text(upper)} {unit} (got {value!r})")
    return float(value)


def _duration(value: object) -> float:
    return _positive("duration", value, "seconds", upper=MAX_TIME_S / 2)


def _start(value: object) -> float:
    return _positive("start", value, "seconds", upper=MAX_TIME_S / 2, allow_zero=True)


def _check_size(expected: float) -> None:
    if expected > MAX_REQUESTS:
        raise ValueError(
            f"this trace would hold about {expected:,.0f} requests, more than the {MAX_REQUESTS:,} allowed; "
            "lower the rate or the duration"
        )


def steady(rate: float, duration: float, *, start: float = 0.0) -> Trace:
    """One request every ``1 / rate`` seconds from ``start`` for ``duration`` seconds (no randomness)."""
    rate = _positive("rate", rate, "requests per second", upper=MAX_GEN_RATE)
    duration, start = _duration(duration), _start(start)
    _check_size(rate * duration)
    n = math.ceil(rate * duration)
    t = start + np.arange(n) / rate
    return _trace(
        t[t < start + duration], None, f"steady: {number_text(rate)} requests/s for {number_text(duration)} s"
    )


def poisson(rate: float, duration: float, *, rng: np.random.Generator | int = 0, start: float = 0.0) -> Trace:
    """Independent arrivals at ``rate`` per second on average (a Poisson process) for ``duration`` s."""
    rate = _positive("rate", rate, "requests per second", upper=MAX_GEN_RATE)
    duration, start, g = _duration(duration), _start(start), _rng(rng)
    _check_size(rate * duration)
    n = g.poisson(rate * duration)
    return _trace(
        start + g.uniform(0.0, duration, n),
        None,
        f"Poisson: {number_text(rate)} requests/s for {number_text(duration)} s",
    )


def bursty(
    burst_rate: float,
    idle_rate: float,
    on: float,
    off: float,
    duration: float,
    *,
    rng: np.random.Generator | int = 0,
) -> Trace:
    """On/off traffic: Poisson at ``burst_rate`` for ``on`` seconds, then at ``idle_rate`` for ``off``
    seconds, repeated from t = 0 for ``duration`` seconds."""
    burst_rate = _positive("burst_rate", burst_rate, "requests per second", upper=MAX_GEN_RATE)
    idle_rate = _positive("idle_rate", idle_rate, "requests per second", upper=MAX_GEN_RATE, allow_zero=True)
    on = _positive("on", on, "seconds", upper=MAX_TIME_S)
    off = _positive("off", off, "seconds", upper=MAX_TIME_S)
    duration, g = _duration(duration), _rng(rng)
    _check_size(max(burst_rate, idle_rate) * duration)
    period = on + off
    if duration / period > 1_000_000:
        raise ValueError(
            f"on + off = {number_text(period)} s is too short for {number_text(duration)} s: over a million bursts"
        )
    parts = []
    for s in np.arange(0.0, duration, period):
        for begin, length, rate in ((s, on, burst_rate), (s + on, off, idle_rate)):
            length = min(length, duration - begin)
            if length > 0 and rate > 0:
                parts.append(begin + g.uniform(0.0, length, g.poisson(rate * length)))
    t = np.concatenate(parts) if parts else np.empty(0)
    return _trace(
        t,
        None,
        f"bursty: {number_text(burst_rate)}/s for {number_text(on)} s, then {number_text(idle_rate)}/s for {number_text(off)} s, repeated",
    )


def boundary_burst(
    burst_size: int,
    window: float,
    *,
    boundary: int = 1,
    spread: float = 0.1,
    background_rate: float = 0.0,
    rng: np.random.Generator | int = 0,
) -> Trace:
    """The fixed-window 2x problem: ``burst_size`` requests evenly spaced over
    ``[B - spread * window, B)`` with ``B = boundary * window``, and ``burst_size`` more over
    ``[B, B + spread * window)`` (the first exactly on the boundary). All ``2 * burst_size`` fall within
    less than ``2 * spread * window`` <= one window. Optional Poisson background over ``[0, (boundary + 1) * window)``.
    """
    if (
        isinstance(burst_size, bool)
        or not isinstance(burst_size, int)
        or not 1 <= burst_size <= MAX_REQUESTS // 2
    ):
        raise ValueError(
            f"burst_size must be a whole number from 1 to {MAX_REQUESTS // 2:,} (got {burst_size!r})"
        )
    window = _positive("window", window, "seconds", upper=1_000_000.0)
    if isinstance(boundary, bool) or not isinstance(boundary, int) or not 1 <= boundary <= 1_000_000:
        raise ValueError(f"boundary must be a whole number of windows from 1 to 1,000,000 (got {boundary!r})")
    if isinstance(spread, bool) or not isinstance(spread, int | float) or not 0 < spread <= 0.5:
        raise ValueError(
            f"spread must be a share of the window, more than 0 and at most 0.5 (got {spread!r})"
        )
    background_rate = _positive(
        "background_rate", background_rate, "requests per second", upper=MAX_GEN_RATE, allow_zero=True
    )
    step = spread * window / burst_size
    if step < 0.000002:
        raise ValueError(
            f"burst_size {burst_size:,} is too many for a spread of {number_text(spread)} x {number_text(window)} s: requests would be "
            "closer than 2 microseconds apart; lower burst_size or widen spread"
        )
    b = boundary * window
    j = np.arange(burst_size)
    t = np.concatenate([b - step * (burst_size - j), b + step * j])
    end = (boundary + 1) * window
    _check_size(2 * burst_size + background_rate * end)
    if background_rate > 0:
        g = _rng(rng)
        t = np.concatenate([t, g.uniform(0.0, end, g.poisson(background_rate * end))])
    return _trace(
        t, None, f"{burst_size} requests just before and {burst_size} just after t = {number_text(b)} s"
    )


def ramp(start_rate: float, end_rate: float, duration: float, *, rng: np.random.Generator | int = 0) -> Trace:
    """Poisson arrivals whose rate grows (or falls) linearly from ``start_rate`` to ``end_rate`` over
    ``duration`` seconds: the moment a limiter starts rejecting shows its real threshold."""
    a = _positive("start_rate", start_rate, "requests per second", upper=MAX_GEN_RATE, allow_zero=True)
    b = _positive("end_rate", end_rate, "requests per second", upper=MAX_GEN_RATE, allow_zero=True)
    if a == 0 and b == 0:
        raise ValueError("start_rate and end_rate cannot both be 0: the trace would be empty")
    duration, g = _duration(duration), _rng(rng)
    total = (a + b) / 2 * duration
    _check_size(total)
    u = g.uniform(0.0, 1.0, g.poisson(total))
    # Inverse of the cumulative rate a*x + (b - a)*x**2 / (2*duration), in the form stable when a == b.
    m = u * total
    root = np.sqrt(a * a + 2.0 * (b - a) * m / duration)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(m > 0, 2.0 * m / (a + root), 0.0)
    return _trace(
        np.minimum(t, np.nextafter(duration, 0)),
        None,
        f"ramp: {number_text(a)} to {number_text(b)} requests/s over {number_text(duration)} s",
    )


def many_clients(
    n_clients: int,
    rate: float,
    abuser_rate: float,
    duration: float,
    *,
    rng: np.random.Generator | int = 0,
) -> Trace:
    """``n_clients`` well-behaved clients (``client-1``, ...) each sending Poisson traffic at ``rate`` per
    second, plus one client ``abuser`` at ``abuser_rate``: a per-client limit stops only the abuser."""
    if isinstance(n_clients, bool) or not isinstance(n_clients, int) or not 1 <= n_clients <= 100_000:
        raise ValueError(f"n_clients must be a whole number from 1 to 100,000 (got {n_clients!r})")
    rate = _positive("rate", rate, "requests per second", upper=MAX_GEN_RATE)
    abuser_rate = _positive("abuser_rate", abuser_rate, "requests per second", upper=MAX_GEN_RATE)
    duration, g = _duration(duration), _rng(rng)
    _check_size((n_clients * rate + abuser_rate) * duration)
    counts = g.poisson(rate * duration, n_clients)
    n_abuser = g.poisson(abuser_rate * duration)
    t = g.uniform(0.0, duration, counts.sum() + n_abuser)
    width = len(str(n_clients))
    names = np.array([f"client-{i + 1:0{width}d}" for i in range(n_clients)] + ["abuser"], dtype=object)
    keys = np.repeat(names, np.r_[counts, n_abuser])
    return _trace(
        t,
        keys,
        f"{n_clients} clients at {number_text(rate)}/s each and one abuser at {number_text(abuser_rate)}/s for {number_text(duration)} s",
    )


# --- CSV upload ------------------------------------------------------------------------------------------


def _size(n: int) -> str:
    return f"{n:,} bytes ({n / 1e6:.1f} MB)" if n >= 100_000 else f"{n:,} bytes"


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def parse_trace_csv(data: bytes, max_bytes: int = MAX_CSV_BYTES, max_rows: int = MAX_CSV_ROWS) -> Trace:
    """Read an uploaded trace: one request per row, the first column its time in seconds (0 or more), an
    optional second column its client; further columns are ignored. The first row is a header if its
    first cell is not a number; blank rows are skipped. Rows are counted as in a text editor (the header
    is row 1).

    The size is checked before anything is parsed. Every bad row is found; the error lists the first few
    with their row numbers. Rows out of time order are accepted and sorted (stable: equal times keep their
    order); ``reordered`` and a notice say so.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"the uploaded trace must be bytes (got {type(data).__name__})")
    for name, value in (("max_bytes", max_bytes), ("max_rows", max_rows)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a whole number, at least 1 (got {value!r})")
    if len(data) > max_bytes:
        raise ValueError(
            f"the file is {_size(len(data))}, larger than the limit of {_size(max_bytes)}; "
            "upload a shorter trace"
        )
    try:
        text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"the file is not UTF-8 text (byte {e.start:,} cannot be read); save it as CSV"
        ) from None

    rows: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text))
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                rows.append((reader.line_num, cells))
    except csv.Error as e:
        raise ValueError(f"row {reader.line_num}: the CSV cannot be read ({e})") from None
    notices: list[str] = []
    if rows and not _is_number(rows[0][1][0].strip()):
        line, header = rows.pop(0)
        notices.append(f"Row {line} was read as a header: {', '.join(c.strip() for c in header)}.")
    if not rows:
        raise ValueError("the file has no timestamps: it is empty or holds only a header")
    if len(rows) > max_rows:
        raise ValueError(f"the file has {len(rows):,} rows of timestamps, more than the {max_rows:,} allowed")

    has_clients = any(len(cells) > 1 and cells[1].strip() for _, cells in rows)
    times = np.empty(len(rows), dtype=np.float64)
    clients: list[str] = []
    bad: list[str] = []
    for i, (line, cells) in enumerate(rows):
        cell = cells[0].strip()
        try:
            v = float(cell)
        except ValueError:
            bad.append(f"row {line}: {cell!r} is not a number")
            v = 0.0
        else:
            if not math.isfinite(v):
                bad.append(f"row {line}: {cell!r} is not a finite number")
            elif v < 0:
                bad.append(f"row {line}: {cell} is negative (times are seconds, 0 or more)")
            elif v > MAX_TIME_S:
                bad.append(f"row {line}: {cell} is later than {MAX_TIME_S:,.0f} seconds")
        times[i] = v
        if has_clients:
            client = cells[1].strip() if len(cells) > 1 else ""
            if not client:
                bad.append(f"row {line}: the client is missing (other rows name one)")
            clients.append(client)
    if bad:
        shown = "; ".join(bad[:SHOWN_BAD_ROWS])
        more = f"; and {len(bad) - SHOWN_BAD_ROWS:,} more" if len(bad) > SHOWN_BAD_ROWS else ""
        raise ValueError(f"the file has {len(bad):,} bad row{'s' if len(bad) > 1 else ''}: {shown}{more}")

    out_of_order = int(np.count_nonzero(times[1:] < times[:-1]))
    if out_of_order:
        notices.append(
            f"The timestamps were not in time order ({out_of_order:,} "
            f"{'row was' if out_of_order == 1 else 'rows were'} earlier than the row before); "
            "they were sorted, and rows with equal times kept their order."
        )
    keys = np.array(clients, dtype=object) if has_clients else None
    return _trace(
        times,
        keys,
        f"uploaded trace: {len(rows):,} requests",
        notices=tuple(notices),
        reordered=out_of_order > 0,
        format="csv",
    )


# --- a generated trace from a few numbers (what a page's widgets set) ----------------------------------

MAX_PAGE_REQUESTS = 1_000_000
BURST_ON_S, BURST_OFF_S = 1.0, 4.0  # bursty traffic: peak for 1 s, then the base rate for 4 s
SHAPES: tuple[str, ...] = ("steady", "poisson", "bursty", "boundary", "ramp", "clients")

# The traffic parameters each shape reads; the others are reset so that equal traces share a cache entry.
SHAPE_USES: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "steady": frozenset({"rate", "duration"}),
        "poisson": frozenset({"rate", "duration", "seed"}),
        "bursty": frozenset({"rate", "peak", "duration", "seed"}),
        "boundary": frozenset({"limit", "window"}),
        "ramp": frozenset({"rate", "peak", "duration", "seed"}),
        "clients": frozenset({"rate", "peak", "duration", "clients", "seed"}),
    }
)


@dataclass(frozen=True)
class TrafficConfig:
    """A generated trace, from the page's few numbers (hashable: the page caches the trace on it).

    ``rate`` is the base rate in requests per second (per client for ``clients``); ``peak`` multiplies it:
    the burst rate (bursty), the final rate (ramp) or the abusive client's rate (clients). The boundary
    burst puts ``limit`` requests just before and ``limit`` just after the edge of a ``window``.
    """

    shape: str = "poisson"
    rate: float = 80.0
    peak: float = 5.0
    duration: float = 60.0
    clients: int = 20
    seed: int = 0
    limit: int = 100
    window: float = 1.0

    def __post_init__(self) -> None:
        if self.shape not in SHAPES:
            raise ValueError(f"the traffic shape must be one of {', '.join(SHAPES)} (got {self.shape!r})")

    def normalized(self) -> TrafficConfig:
        """The same traffic with the parameters its shape ignores reset to their defaults."""
        uses = SHAPE_USES[self.shape]
        return replace(self, **{f.name: f.default for f in fields(self) if f.name not in uses | {"shape"}})

    def expected_requests(self) -> float:
        """About how many requests the trace will hold (before it is drawn)."""
        r, d = self.rate, self.duration
        if self.shape == "boundary":
            return 2.0 * self.limit
        if self.shape == "bursty":
            return r * (self.peak * BURST_ON_S + BURST_OFF_S) / (BURST_ON_S + BURST_OFF_S) * d
        if self.shape == "ramp":
            return r * (1 + self.peak) / 2 * d
        if self.shape == "clients":
            return r * (self.clients + self.peak) * d
        return r * d

    def build(self) -> Trace:
        """Draw the trace; a ValueError if it would exceed the page's cap or a parameter is out of range."""
        if self.peak < 1:
            raise ValueError(f"peak must be at least 1 (x the base rate), got {self.peak!r}")
        n = self.expected_requests()
        if not math.isfinite(n) or n > MAX_PAGE_REQUESTS:
            raise ValueError(
                f"this traffic would send about {n:,.0f} requests; the page simulates at most "
                f"{MAX_PAGE_REQUESTS:,} (rate x duration): lower the rate or the duration"
            )
        r, d, g = self.rate, self.duration, self.seed
        if self.shape == "steady":
            return steady(r, d)
        if self.shape == "poisson":
            return poisson(r, d, rng=g)
        if self.shape == "bursty":
            return bursty(r * self.peak, r, BURST_ON_S, BURST_OFF_S, d, rng=g)
        if self.shape == "boundary":
            return boundary_burst(self.limit, self.window)
        if self.shape == "ramp":
            return ramp(r, r * self.peak, d, rng=g)
        return many_clients(self.clients, r, r * self.peak, d, rng=g)


def _client_counts(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(code of each request's client, client names in order of first appearance, requests per client):
    a hash table, not a sort, so a million requests take a few tens of milliseconds."""
    import pandas as pd

    codes, names = pd.factorize(keys)
    return codes, np.asarray(names, dtype=object), np.bincount(codes, minlength=len(names))


def clients_by_volume(trace: Trace) -> list[str]:
    """The clients, busiest first (ties in order of first appearance)."""
    if trace.keys is None:
        return ["default"]
    _, names, counts = _client_counts(trace.keys)
    order = np.argsort(-counts, kind="stable")
    return [str(n) for n in names[order]]
