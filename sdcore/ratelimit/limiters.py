"""The five rate limiters. Each validates its parameters, converts them to integers once, and leaves the
state and the atomic decision to its store (``store=``, in memory by default).

>>> from sdcore.ratelimit import TokenBucket
>>> bucket = TokenBucket(capacity=2, refill_rate=1.0)
>>> [bucket.allow(now=0.0).allowed for _ in range(3)]
[True, True, False]
>>> bucket.allow(now=0.0).retry_after
1.0
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from sdcore.checks import number_text
from sdcore.ratelimit.decision import Decision
from sdcore.ratelimit.store import MemoryStore, Store
from sdcore.ratelimit.units import (
    MICROS_PER_SECOND,
    check_bool,
    check_count,
    check_rate,
    check_window,
    interval_micros,
    micro_rate,
    to_micros,
)

ALGORITHMS = MappingProxyType(
    {
        "token_bucket": "Token bucket",
        "leaking_bucket": "Leaking bucket",
        "fixed_window": "Fixed window counter",
        "sliding_log": "Sliding window log",
        "sliding_window_counter": "Sliding window counter",
    }
)


def _fmt(x: float) -> str:
    return f"{number_text(x)}"


class Limiter(ABC):
    """A rate limiter: ``allow(now, key)`` decides one request of client ``key`` at virtual time ``now``
    (seconds). ``params`` holds the integer parameters the decisions use (microseconds, micro-tokens)."""

    algorithm: ClassVar[str]

    def __init__(self, store: Store | None) -> None:
        if store is None:
            store = MemoryStore()
        elif not isinstance(store, Store):
            raise ValueError(f"store must be a Store such as MemoryStore() (got {store!r})")
        self.store = store

    @property
    @abstractmethod
    def limit(self) -> int:
        """The quota reported in decisions and headers."""

    @property
    @abstractmethod
    def params(self) -> MappingProxyType:
        """The integer parameters of the decisions (what a Lua script receives)."""

    @property
    @abstractmethod
    def label(self) -> str:
        """Name and parameters, for a chart legend or a table."""

    @abstractmethod
    def allow(self, now: float, key: str = "default") -> Decision:
        """Decide one request of client ``key`` arriving at ``now`` seconds (virtual time)."""

    def __repr__(self) -> str:
        return f"<{self.label}>"


class TokenBucket(Limiter):
    """A bucket of ``capacity`` tokens, full at the start, refilled continuously at ``refill_rate`` tokens
    per second; each request takes one token. Allows bursts up to ``capacity``, then ``refill_rate`` per
    second on average. Tokens are counted in micro-tokens, so ``refill_rate`` is resolved to a millionth of
    a token per second."""

    algorithm = "token_bucket"

    def __init__(self, capacity: int, refill_rate: float, *, store: Store | None = None) -> None:
        self.capacity = check_count("capacity", capacity, "tokens")
        self.refill_rate = check_rate("refill_rate", refill_rate, "tokens")
        self._capacity_ut = self.capacity * MICROS_PER_SECOND
        self._rate_uts = micro_rate(self.refill_rate)
        super().__init__(store)

    @property
    def limit(self) -> int:
        return self.capacity

    @property
    def params(self) -> MappingProxyType:
        return MappingProxyType({"capacity_ut": self._capacity_ut, "rate_uts": self._rate_uts})

    @property
    def label(self) -> str:
        return f"Token bucket (capacity {self.capacity}, refill {_fmt(self.refill_rate)}/s)"

    def allow(self, now: float, key: str = "default") -> Decision:
        now_us = to_micros(now)
        allowed, tokens_ut, retry_us = self.store.token_bucket(key, now_us, self._capacity_ut, self._rate_uts)
        return Decision(
            bool(allowed),
            self.capacity,
            tokens_ut // MICROS_PER_SECOND,
            None if allowed else retry_us / MICROS_PER_SECOND,
        )


class LeakingBucket(Limiter):
    """A FIFO queue of at most ``queue_size`` waiting requests, served one every ``1 / outflow_rate``
    seconds: output at a steady rate, at the price of added latency. A request that arrives when the
    server is idle is served at once and never waits, so a burst at one instant admits ``queue_size + 1``
    (one served, ``queue_size`` waiting). The interval is rounded up to a whole microsecond."""

    algorithm = "leaking_bucket"

    def __init__(self, queue_size: int, outflow_rate: float, *, store: Store | None = None) -> None:
        self.queue_size = check_count("queue_size", queue_size, "requests")
        self.outflow_rate = check_rate("outflow_rate", outflow_rate, "requests")
        self._interval_us = interval_micros(self.outflow_rate)
        super().__init__(store)

    @property
    def limit(self) -> int:
        return self.queue_size

    @property
    def params(self) -> MappingProxyType:
        return MappingProxyType({"queue_size": self.queue_size, "interval_us": self._interval_us})

    @property
    def label(self) -> str:
        return f"Leaking bucket (queue {self.queue_size}, outflow {_fmt(self.outflow_rate)}/s)"

    def allow(self, now: float, key: str = "default") -> Decision:
        now_us = to_micros(now)
        allowed, dep_us, waiting, retry_us = self.store.leaking_bucket(
            key, now_us, self.queue_size, self._interval_us
        )
        if allowed:
            return Decision(
                True, self.queue_size, self.queue_size - waiting, None, dep_us / MICROS_PER_SECOND
            )
        return Decision(False, self.queue_size, self.queue_size - waiting, retry_us / MICROS_PER_SECOND)


class _WindowLimiter(Limiter):
    """What the three window algorithms share: ``limit`` requests per ``window`` seconds."""

    title: ClassVar[str]

    def __init__(self, limit: int, window: float, *, store: Store | None = None) -> None:
        self._limit = check_count("limit", limit, "requests")
        self._window_us = check_window("window", window)
        self.window = float(window)
        super().__init__(store)

    @property
    def limit(self) -> int:
        return self._limit

    @property
    def params(self) -> MappingProxyType:
        return MappingProxyType({"limit": self._limit, "window_us": self._window_us})

    @property
    def label(self) -> str:
        return f"{self.title} ({self._limit} per {_fmt(self.window)} s)"

    def _decision(self, allowed: int, remaining: int, retry_us: int) -> Decision:
        return Decision(
            bool(allowed), self._limit, max(0, remaining), None if allowed else retry_us / MICROS_PER_SECOND
        )


class FixedWindowCounter(_WindowLimiter):
    """At most ``limit`` requests in each window ``[k * window, (k + 1) * window)`` (aligned from t = 0).
    Cheap (one counter per client) but a burst across a boundary can admit ``2 * limit`` within one window
    length."""

    algorithm = "fixed_window"
    title = "Fixed window counter"

    def allow(self, now: float, key: str = "default") -> Decision:
        allowed, count, retry_us = self.store.fixed_window(key, to_micros(now), self._limit, self._window_us)
        return self._decision(allowed, self._limit - count, retry_us)


class SlidingWindowLog(_WindowLimiter):
    """At most ``limit`` requests in any window ``(now - window, now]``, exactly, by keeping a log of
    timestamps. ``log_rejected=True`` (the textbook version) logs rejected requests too, so a client that
    keeps sending stays blocked until it pauses; ``log_rejected=False`` (most libraries) logs only admitted
    requests. ``inclusive_edge=True`` counts the closed window ``[now - window, now]`` instead, as Xu's
    book and ``limits``' moving window do: an entry exactly one window old still counts. It matters for
    timestamps on a grid (access logs have whole seconds): with the half-open window and a window of one
    second, requests logged in different seconds never share a window, so the log behaves like a fixed
    window of one second; the closed one counts the previous second too. Memory: one timestamp per logged
    request in the window."""

    algorithm = "sliding_log"
    title = "Sliding window log"

    def __init__(
        self,
        limit: int,
        window: float,
        log_rejected: bool = True,
        inclusive_edge: bool = False,
        *,
        store: Store | None = None,
    ) -> None:
        self.log_rejected = check_bool("log_rejected", log_rejected)
        self.inclusive_edge = check_bool("inclusive_edge", inclusive_edge)
        super().__init__(limit, window, store=store)

    @property
    def params(self) -> MappingProxyType:
        return MappingProxyType(
            {
                **super().params,
                "log_rejected": int(self.log_rejected),
                "inclusive_edge": int(self.inclusive_edge),
            }
        )

    @property
    def label(self) -> str:
        variant = "rejected logged" if self.log_rejected else "admitted only"
        edge = ", edge included" if self.inclusive_edge else ""
        return f"{super().label[:-1]}, {variant}{edge})"

    def allow(self, now: float, key: str = "default") -> Decision:
        allowed, size, retry_us = self.store.sliding_log(
            key, to_micros(now), self._limit, self._window_us, self.log_rejected, self.inclusive_edge
        )
        return self._decision(allowed, self._limit - size, retry_us)


class SlidingWindowCounter(_WindowLimiter):
    """Approximates the sliding log with two counters: admitted iff
    ``current + previous * overlap < limit``, where ``overlap`` is the share of the rolling window
    ``(now - window, now]`` that lies in the previous fixed window (windows aligned from t = 0). Unrounded;
    see :func:`counter_estimate` for what rounding would change."""

    algorithm = "sliding_window_counter"
    title = "Sliding window counter"

    def allow(self, now: float, key: str = "default") -> Decision:
        allowed, num, retry_us = self.store.sliding_window_counter(
            key, to_micros(now), self._limit, self._window_us
        )
        return self._decision(allowed, self._limit - num // self._window_us, retry_us)


class GCRA(Limiter):
    """Generic cell rate algorithm: ``limit`` requests per ``period`` seconds, spaced one emission interval
    (``period / limit``, rounded up to a microsecond) apart, with bursts of up to ``burst`` (default
    ``limit``) requests. One timestamp per client (the theoretical arrival time) instead of a counter and
    a time; decisions equal a token bucket of capacity ``burst`` refilled ``limit / period`` per second
    whenever the interval is a whole number of microseconds that divides 10**12."""

    algorithm = "gcra"

    def __init__(
        self, limit: int, period: float, burst: int | None = None, *, store: Store | None = None
    ) -> None:
        self.quota = check_count("limit", limit, "requests")
        self.period_us = check_window("period", period)
        self.period = period
        self.burst = self.quota if burst is None else check_count("burst", burst, "requests")
        self._interval_us = max(1, -(-self.period_us // self.quota))
        self._tolerance_us = (self.burst - 1) * self._interval_us
        super().__init__(store)

    @property
    def limit(self) -> int:
        return self.burst

    @property
    def params(self) -> MappingProxyType:
        return MappingProxyType({"interval_us": self._interval_us, "tolerance_us": self._tolerance_us})

    @property
    def label(self) -> str:
        return f"GCRA ({self.quota} per {_fmt(self.period)} s, burst {self.burst})"

    def allow(self, now: float, key: str = "default") -> Decision:
        allowed, remaining, retry_us, _ = self.store.gcra(
            key, to_micros(now), self._interval_us, self._tolerance_us
        )
        return Decision(
            bool(allowed), self.burst, remaining, None if allowed else retry_us / MICROS_PER_SECOND
        )


LIMIT_ALGORITHMS: tuple[str, ...] = (
    "fixed_window",
    "sliding_window_counter",
    "sliding_log",
    "token_bucket",
    "leaking_bucket",
    "gcra",
)


def make_limiter(
    algorithm: str,
    limit: int,
    window: float,
    store: Store | None = None,
    *,
    inclusive_edge: bool = False,
) -> Limiter:
    """``limit`` requests per ``window`` seconds with the named algorithm: buckets hold ``limit`` and refill
    or drain at ``limit / window`` per second; the sliding log counts admitted requests only (the library
    rule), over ``(t - window, t]`` or with ``inclusive_edge`` over ``[t - window, t]``; GCRA allows a
    burst of ``limit``."""
    rate = limit / window
    match algorithm:
        case "fixed_window":
            return FixedWindowCounter(limit, window, store=store)
        case "sliding_window_counter":
            return SlidingWindowCounter(limit, window, store=store)
        case "sliding_log":
            return SlidingWindowLog(
                limit, window, log_rejected=False, inclusive_edge=inclusive_edge, store=store
            )
        case "token_bucket":
            return TokenBucket(limit, rate, store=store)
        case "leaking_bucket":
            return LeakingBucket(limit, rate, store=store)
        case "gcra":
            return GCRA(limit, window, store=store)
    raise ValueError(f"algorithm must be one of {', '.join(LIMIT_ALGORITHMS)} (got {algorithm!r})")


@dataclass(frozen=True)
class CounterEstimate:
    """One sliding-window-counter decision worked out by hand, with the effect of rounding the estimate."""

    previous_count: int
    current_count: int
    overlap: float
    limit: int
    estimate: float
    allowed: bool  # estimate < limit, unrounded (what SlidingWindowCounter does)
    allowed_if_rounded_down: bool  # floor(estimate) < limit: never differs from unrounded
    allowed_if_rounded_up: bool  # ceil(estimate) < limit: stricter just below the limit

    @property
    def rounding_matters(self) -> bool:
        return self.allowed_if_rounded_up != self.allowed


ROUNDING_NOTE = (
    "The estimate is current + previous x overlap, and a request is admitted while it is below the limit. "
    "Rounding down never changes that decision: for a whole-number limit, floor(x) < limit exactly when "
    "x < limit (the textbook rounds down; so does limits, which rejects when floor(x) + 1 > limit). "
    "Rounding up is stricter: it rejects whenever the estimate is within one request below the limit, "
    "as in Cloudflare's worked example, 42 x 0.75 + 18 = 49.5 of 50, admitted unless rounded up to 50."
)


def counter_estimate(previous_count: int, current_count: int, overlap: float, limit: int) -> CounterEstimate:
    """The sliding window counter's estimate for one request and whether rounding would flip it.

    ``overlap`` is the share (0 to 1) of the rolling window that lies in the previous fixed window: 15 s
    into a 60 s window it is 0.75. See :data:`ROUNDING_NOTE`.

    >>> e = counter_estimate(previous_count=42, current_count=18, overlap=0.75, limit=50)
    >>> e.estimate, e.allowed, e.allowed_if_rounded_up
    (49.5, True, False)
    """
    for name, value in (("previous_count", previous_count), ("current_count", current_count)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a whole number of requests, 0 or more (got {value!r})")
    limit = check_count("limit", limit, "requests")
    if isinstance(overlap, bool) or not isinstance(overlap, int | float) or not 0.0 <= overlap <= 1.0:
        raise ValueError(f"overlap must be a share between 0 and 1 (got {overlap!r})")
    estimate = current_count + previous_count * float(overlap)
    return CounterEstimate(
        previous_count,
        current_count,
        float(overlap),
        limit,
        estimate,
        estimate < limit,
        math.floor(estimate) < limit,
        math.ceil(estimate) < limit,
    )
