"""Retries on the caller: exponential back-off with jitter, and a retry budget that caps retries as a share
of requests.

Back-off after the k-th failed attempt (k = 1, 2, ...) is ``min(max_delay, base_delay * multiplier^(k-1))``,
spread by the jitter (Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015):
``"none"`` sleeps exactly that, ``"full"`` a uniform draw in [0, it), ``"equal"`` half of it plus a uniform
draw in [0, half). Jitter spreads the retries of callers that failed together, so they do not return together.

A retry budget (Finagle's ``RetryBudget``; Envoy's ``retry_budget`` and gRPC's retry throttling have the same
aim) allows a retry only while the retries in the last ``window`` seconds, this one included, stay at most
``min_per_second * window + ratio * requests in the same window``: with ratio 0.2 a sick dependency sees at
most about 1.2 times the load it would see without retries, however many retries each call may make.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from types import MappingProxyType

from sdcore import checks

__all__ = ["JITTERS", "RetryBudget", "RetryBudgetConfig", "RetryPolicy"]

JITTERS = MappingProxyType({
    "none": "no jitter: every caller waits exactly the back-off",
    "full": "full jitter: a uniform draw between 0 and the back-off",
    "equal": "equal jitter: half the back-off plus a uniform draw over the other half",
})  # fmt: skip
MAX_RETRIES = 10


@dataclass(frozen=True)
class RetryPolicy:
    """How often and after how long a failed call is tried again (0 retries: never)."""

    max_retries: int = 0
    base_delay: float = 0.1
    multiplier: float = 2.0
    max_delay: float = 5.0
    jitter: str = "full"

    def __post_init__(self) -> None:
        checks.int_between("max_retries", self.max_retries, 0, MAX_RETRIES)
        checks.number_between("base_delay", self.base_delay, 0.0, 600.0, unit=" seconds")
        checks.number_between("multiplier", self.multiplier, 1.0, 10.0)
        checks.number_between("max_delay", self.max_delay, 0.0, 3600.0, unit=" seconds")
        checks.one_of("jitter", self.jitter, JITTERS)

    def backoff(self, attempt: int) -> float:
        """The back-off before retry number ``attempt`` (1 = the first retry), before jitter."""
        return min(self.max_delay, self.base_delay * self.multiplier ** (attempt - 1))

    def delay(self, attempt: int, u: float) -> float:
        """The wait before retry number ``attempt``, with ``u`` a uniform draw in [0, 1) for the jitter."""
        b = self.backoff(attempt)
        if self.jitter == "full":
            return b * u
        if self.jitter == "equal":
            return b / 2 + b / 2 * u
        return b


@dataclass(frozen=True)
class RetryBudgetConfig:
    """Retries may add at most ``ratio`` of the requests (plus ``min_per_second``) over ``window`` seconds."""

    ratio: float = 0.2
    min_per_second: float = 1.0
    window: float = 1.0

    def __post_init__(self) -> None:
        checks.number_between("ratio", self.ratio, 0.0, 10.0)
        checks.number_between("min_per_second", self.min_per_second, 0.0, 1e6)
        checks.number_between("window", self.window, 0.0, 3600.0, unit=" seconds", lo_open=True)


class RetryBudget:
    """The budget's running counts, in virtual time (``now`` never decreases)."""

    def __init__(self, config: RetryBudgetConfig):
        self.config = config
        self._requests: deque[float] = deque()
        self._retries: deque[float] = deque()
        self.denied = 0

    def _expire(self, now: float) -> None:
        edge = now - self.config.window
        for q in (self._requests, self._retries):
            while q and q[0] <= edge:
                q.popleft()

    def record_request(self, now: float) -> None:
        """A first attempt: it deposits ``ratio`` of a retry."""
        self._expire(now)
        self._requests.append(now)

    def can_retry(self, now: float) -> bool:
        """May a retry go now? Counts it against the budget if so (and a denial if not)."""
        self._expire(now)
        c = self.config
        if len(self._retries) + 1 <= c.min_per_second * c.window + c.ratio * len(self._requests):
            self._retries.append(now)
            return True
        self.denied += 1
        return False
