"""Put the five limiters side by side on one trace: what each admits, how bursty its output is, what it
costs in latency and memory, and how far the sliding window counter strays from the exact log."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from sdcore.ratelimit.limiters import (
    GCRA,
    FixedWindowCounter,
    LeakingBucket,
    Limiter,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
)
from sdcore.ratelimit.simulate import (
    SimulationResult,
    _seg_search,
    check_timestamps,
    client_codes,
    simulate,
)
from sdcore.ratelimit.units import MICROS_PER_SECOND, check_count, check_rate, check_window

BYTES_PER_NUMBER = 8  # one 64-bit integer; a real store (a Redis hash, a sorted set) adds overhead


def _max_in_window_us(t_us: np.ndarray, window_us: int) -> int:
    """Most entries of a sorted array within any half-open window (t - W, t]: the busiest window can
    always be slid until it ends on an entry."""
    if len(t_us) == 0:
        return 0
    inside = np.arange(1, len(t_us) + 1) - np.searchsorted(t_us, t_us - window_us, side="right")
    return int(inside.max())


def max_admitted_in_window(timestamps_admitted, window: float) -> int:
    """The most requests admitted in any half-open window ``(t - window, t]`` (times in seconds, any
    order, resolved to the microsecond like the limiters). A limit of L per window is kept iff this is
    at most L."""
    w = check_window("window", window)
    t = np.sort(
        np.rint(np.asarray(timestamps_admitted, dtype=np.float64) * MICROS_PER_SECOND).astype(np.int64)
    )
    return _max_in_window_us(t, w)


def max_admitted_per_client(result: SimulationResult, window: float, codes: np.ndarray | None = None) -> int:
    """:func:`max_admitted_in_window` for each client of a simulation, the worst client's number.
    ``codes`` (each request's client as an integer, from :func:`client_codes`) saves factorizing the keys
    again when several results of one trace are measured."""
    w = check_window("window", window)
    ok = result.allowed
    t = result.time_us[ok]
    if result.keys is None:
        return _max_in_window_us(t, w)
    if len(t) == 0:
        return 0
    if codes is None:
        codes = client_codes(result.keys, len(result))[0]
    # Each client's admitted times are non-decreasing in arrival order (the clock is clamped), so a
    # stable grouping by client sorts them; one searchsorted on (client, time) pairs counts every window.
    c = codes[ok]
    order = np.argsort(c, kind="stable")
    c, t = c[order], t[order]
    inside = np.arange(1, len(t) + 1) - _seg_search(c, t, c, t - w, "right")
    return int(inside.max())


@dataclass(frozen=True)
class LimiterSettings:
    """One budget for every limiter: ``limit`` requests per ``window`` seconds. By default the token
    bucket holds ``limit`` tokens refilled at ``limit / window`` per second and the leaking bucket queues
    ``limit`` requests drained at ``limit / window`` per second; set them to compare other choices."""

    limit: int = 10
    window: float = 1.0
    capacity: int | None = None
    refill_rate: float | None = None
    queue_size: int | None = None
    outflow_rate: float | None = None

    def __post_init__(self) -> None:
        check_count("limit", self.limit, "requests")
        check_window("window", self.window)
        if self.capacity is not None:
            check_count("capacity", self.capacity, "tokens")
        if self.queue_size is not None:
            check_count("queue_size", self.queue_size, "requests")
        if self.refill_rate is not None:
            check_rate("refill_rate", self.refill_rate, "tokens")
        if self.outflow_rate is not None:
            check_rate("outflow_rate", self.outflow_rate, "requests")

    def limiters(self) -> dict[str, Limiter]:
        """The five limiters plus the sliding log's library variant, and GCRA (a burst of ``limit``, then
        ``limit`` per ``window``: the token bucket's decisions from one stored timestamp), by a short name."""
        rate = self.limit / self.window
        return {
            "token_bucket": TokenBucket(self.capacity or self.limit, self.refill_rate or rate),
            "leaking_bucket": LeakingBucket(self.queue_size or self.limit, self.outflow_rate or rate),
            "fixed_window": FixedWindowCounter(self.limit, self.window),
            "sliding_log": SlidingWindowLog(self.limit, self.window, log_rejected=True),
            "sliding_log_admitted_only": SlidingWindowLog(self.limit, self.window, log_rejected=False),
            "sliding_window_counter": SlidingWindowCounter(self.limit, self.window),
            "gcra": GCRA(self.limit, self.window),
        }


@dataclass(frozen=True)
class ComparisonRow:
    """One limiter on the shared trace.

    ``max_in_window``: the most requests one client got admitted in any window of length ``window`` (the
    limit is ``limit``). ``mean_delay``/``max_delay``: seconds a request waits in the leaking bucket's
    queue (``None`` for the others, which answer at once). ``state_numbers``: the most integers one
    client's state needed during the run (``state_bytes`` at 8 bytes each). ``differs_from_counter``:
    for the two sliding logs, the share of requests the sliding window counter decides differently.
    """

    name: str
    label: str
    accepted: int
    rejected: int
    accepted_share: float
    max_in_window: int
    limit: int
    mean_delay: float | None
    max_delay: float | None
    state_numbers: int
    state_bytes: int
    state_note: str
    differs_from_counter: float | None


def _state_size(name: str, result: SimulationResult) -> tuple[int, str]:
    if name == "token_bucket":
        return 3, "tokens, a sub-micro-token carry, the time of the last refill"
    if name == "leaking_bucket":
        return 2, "the last departure and the last arrival time (the queue is implicit)"
    if name == "fixed_window":
        return 2, "the count and the time of the last request (which gives the window)"
    if name == "sliding_window_counter":
        return 4, "two counts, the window number, the time of the last request"
    if name == "gcra":
        return 2, "the theoretical arrival time and the time of the last request"
    biggest = int(result.state.max()) if len(result) else 0
    what = "every request" if name == "sliding_log" else "every admitted request"
    return 1 + biggest, f"a timestamp for {what} in the last window (up to {biggest:,}) and the last time"


@dataclass(frozen=True)
class Comparison:
    settings: LimiterSettings
    results: MappingProxyType  # name -> SimulationResult
    rows: tuple[ComparisonRow, ...] = field(default=())

    def row(self, name: str) -> ComparisonRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise ValueError(f"no limiter named {name!r} (names: {', '.join(r.name for r in self.rows)})")

    def to_frame(self):
        """The table as a pandas DataFrame, one row per limiter."""
        import pandas as pd

        return pd.DataFrame([r.__dict__ for r in self.rows]).set_index("name")


def compare_limiters(timestamps, keys=None, settings: LimiterSettings | None = None) -> Comparison:
    """Run every limiter of ``settings`` (default: 10 per second) on the same trace, each on its own."""
    settings = settings or LimiterSettings()
    codes = None
    if keys is not None:  # factorized once for the seven runs (a Categorical costs simulate nothing)
        import pandas as pd

        codes, names = client_codes(keys, len(check_timestamps(timestamps)))
        keys = pd.Categorical.from_codes(codes, names)
    results = {name: simulate(lim, timestamps, keys) for name, lim in settings.limiters().items()}
    counter = results["sliding_window_counter"].allowed
    rows = []
    for name, r in results.items():
        delays = None
        if r.departure is not None and r.accepted:
            delays = r.departure[r.allowed] - r.time_us[r.allowed] / MICROS_PER_SECOND
        numbers, note = _state_size(name, r)
        n = len(r)
        rows.append(
            ComparisonRow(
                name=name,
                label=r.label,
                accepted=r.accepted,
                rejected=r.rejected,
                accepted_share=r.accepted / n if n else 0.0,
                max_in_window=max_admitted_per_client(r, settings.window, codes),
                limit=settings.limit,
                mean_delay=None if delays is None else float(delays.mean()),
                max_delay=None if delays is None else float(delays.max()),
                state_numbers=numbers,
                state_bytes=numbers * BYTES_PER_NUMBER,
                state_note=note,
                differs_from_counter=(
                    float(np.count_nonzero(r.allowed != counter)) / n
                    if name.startswith("sliding_log") and n
                    else None
                ),
            )
        )
    return Comparison(settings, MappingProxyType(results), tuple(rows))


# --- one run summarized, the change against the previous run, one setting of an A/B ------------------


@dataclass(frozen=True)
class RunSummary:
    """What a run admitted, per algorithm: ``(name, accepted, rejected, max_in_window)`` rows."""

    key: Hashable
    requests: int
    rows: tuple[tuple[str, int, int, int], ...]

    def share(self, name: str) -> float | None:
        for n, accepted, _, _ in self.rows:
            if n == name:
                return accepted / self.requests if self.requests else 0.0
        return None


def summarize(key: Hashable, comparison: Comparison) -> RunSummary:
    n = len(next(iter(comparison.results.values())))
    return RunSummary(
        key, n, tuple((r.name, r.accepted, r.rejected, r.max_in_window) for r in comparison.rows)
    )


def remember(
    history: tuple[RunSummary, RunSummary | None] | None, current: RunSummary
) -> tuple[RunSummary, RunSummary | None]:
    """``(last, previous)`` after a run: a run with new parameters pushes the last one back; a rerun with
    the same parameters (a time slider moved) keeps the previous one, so the deltas stay."""
    if history is None:
        return current, None
    last, previous = history
    return (current, previous) if last.key == current.key else (current, last)


@dataclass(frozen=True)
class Side:
    """One setting of the A/B comparison, measured."""

    label: str
    accepted: int
    rejected: int
    max_in_window: int
    window: float
    quota: str  # what caps it: "limit 100", "capacity 500", "queue 100"
    wait: float | None  # leaking bucket: mean seconds in the queue
    retry_after: float | None  # the others: median Retry-After of rejected requests

    @property
    def share(self) -> float:
        n = self.accepted + self.rejected
        return self.accepted / n if n else 0.0


QUOTA_NAMES = MappingProxyType({"token_bucket": "capacity", "leaking_bucket": "queue"})


def side(result: SimulationResult, window: float) -> Side:
    """Measure one limiter's run for the A/B columns; ``max_in_window`` uses ``window`` seconds."""
    wait = retry = None
    if result.departure is not None:
        if result.accepted:
            wait = float(np.mean(result.departure[result.allowed] - result.time_us[result.allowed] / 1e6))
    elif result.rejected:
        retry = float(np.median(result.retry_after[~result.allowed]))
    quota = f"{QUOTA_NAMES.get(result.algorithm, 'limit')} {result.limit:,}"
    return Side(
        result.label,
        result.accepted,
        result.rejected,
        max_admitted_per_client(result, window),
        window,
        quota,
        wait,
        retry,
    )
