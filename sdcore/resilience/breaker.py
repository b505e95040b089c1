"""A circuit breaker in virtual time: closed, open, half-open, with two policies that decide when to trip.

The caller asks ``allow(now)`` before a call and reports ``record_success(now, duration)`` or
``record_failure(now, duration)`` after it. The state changes only inside those calls (lazily, as pybreaker's
does): an open breaker whose wait has passed still reads ``"open"`` until the next ``allow``.

- ``ConsecutiveFailures`` is pybreaker's rule (``fail_max``, ``reset_timeout``, ``success_threshold``): it opens
  on the fail_max-th failure in a row, and after ``reset_timeout`` every call is a half-open trial until one
  fails (back to open, the timer restarted) or ``success_threshold`` have succeeded (closed).
- ``FailureRateWindow`` is resilience4j's rule: the failure rate and the slow-call rate over a sliding window
  of the last N calls (``"count"``) or the last N seconds (``"time"``), judged only once the window holds the
  minimum number of calls; in half-open, ``permitted_calls_in_half_open`` trials and the rates over them.

Calls admitted before a state change are counted as resilience4j counts them: an outcome belongs to the
state the breaker is in *when it is recorded*, not the one that admitted the call. In closed it goes into the
window and may trip it; in open it is recorded but decides nothing; in half-open it counts as a trial outcome
(so a slow call admitted while closed can close or reopen a half-open breaker).

Both policies take three options the common libraries lack, with defaults that match them:
``max_half_open_calls`` (a cap on trials in flight at once), ``open_backoff`` with ``max_reset_timeout``
(the open wait multiplied after each trip that follows a failed trial, up to a cap).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from types import MappingProxyType

from sdcore import checks
from sdcore.checks import number_text

__all__ = [
    "POLICIES",
    "STATES",
    "CircuitBreaker",
    "ConsecutiveFailures",
    "FailureRateWindow",
    "PolicyKind",
    "Transition",
]

STATES = ("closed", "open", "half_open")
WINDOWS = ("count", "time")
MAX_SIZE = 100_000
MAX_SECONDS = 86_400.0


@dataclass(frozen=True)
class Transition:
    """One change of state: when, from where to where, and why (a sentence with the numbers)."""

    time: float
    from_state: str
    to_state: str
    reason: str


def _common(policy) -> None:
    if policy.max_half_open_calls is not None:
        checks.int_between("max_half_open_calls", policy.max_half_open_calls, 1, MAX_SIZE)
    checks.number_between("open_backoff", policy.open_backoff, 1.0, 100.0)
    if policy.max_reset_timeout is not None:
        base = policy.base_wait
        if checks.real_number("max_reset_timeout", policy.max_reset_timeout) < base:
            raise ValueError(
                f"max_reset_timeout must be at least the open wait, {number_text(base)} s "
                f"(got max_reset_timeout={policy.max_reset_timeout!r})"
            )


def _wait_after(policy, trips: int) -> float:
    """The open wait after ``trips`` trips in a row (1 = the first): base x backoff^(trips-1), capped."""
    wait = policy.base_wait * policy.open_backoff ** (trips - 1)
    cap = policy.max_reset_timeout
    return min(wait, cap) if cap is not None else wait


# -- pybreaker's policy ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsecutiveFailures:
    """Open on the ``fail_max``-th failure in a row; after ``reset_timeout`` seconds (at or after, as pybreaker
    compares) half-open, where every call is a trial (pybreaker admits them all) until one fails (open again)
    or ``success_threshold`` succeed in a row (closed). A success while closed resets the count."""

    fail_max: int = 5
    reset_timeout: float = 60.0
    success_threshold: int = 1
    max_half_open_calls: int | None = None
    open_backoff: float = 1.0
    max_reset_timeout: float | None = None

    def __post_init__(self) -> None:
        checks.int_between("fail_max", self.fail_max, 1, MAX_SIZE)
        checks.number_between("reset_timeout", self.reset_timeout, 0.0, MAX_SECONDS, unit=" seconds")
        checks.int_between("success_threshold", self.success_threshold, 1, MAX_SIZE)
        _common(self)

    @property
    def base_wait(self) -> float:
        return float(self.reset_timeout)

    @staticmethod
    def wait_elapsed(now: float, until: float) -> bool:
        return now >= until  # pybreaker: still open while now < opened_at + reset_timeout

    def closed_window(self) -> _Consecutive:
        return _Consecutive(self.fail_max)

    def half_open_window(self) -> _Trials:
        return _Trials(self.success_threshold)


class _Consecutive:
    """Failures in a row while closed (pybreaker's ``fail_counter``)."""

    __slots__ = ("failures", "fail_max")

    def __init__(self, fail_max: int):
        self.fail_max = fail_max
        self.failures = 0

    def record(self, now: float, failed: bool, duration: float) -> str | None:
        if not failed:
            self.failures = 0
            return None
        self.failures += 1
        if self.failures >= self.fail_max:
            return f"{self.failures} failures in a row (fail_max {self.fail_max})"
        return None


class _Trials:
    """Half-open under pybreaker's rule: every call admitted; one failure reopens, enough successes close."""

    __slots__ = ("successes", "needed")

    def __init__(self, needed: int):
        self.needed = needed
        self.successes = 0

    def admit(self) -> bool:
        return True

    def record(self, now: float, failed: bool, duration: float) -> tuple[str | None, str]:
        if failed:
            return "open", "a trial call failed"
        self.successes += 1
        if self.successes >= self.needed:
            return "closed", f"{self.successes} trial {'call' if self.successes == 1 else 'calls'} succeeded"
        return None, ""


# -- resilience4j's policy ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class FailureRateWindow:
    """resilience4j's rule. ``window="count"``: the last ``size`` calls; ``"time"``: the calls recorded in the
    last ``size`` whole seconds (one bucket per second of ``now``). No decision before ``minimum_calls`` are in
    the window; for a count window the minimum is ``min(minimum_calls, size)`` (a window of 10 with the default
    minimum of 100 decides after 10). It opens when the failure rate or the slow-call rate (successes and
    failures slower than ``slow_call_duration``, strictly) reaches its threshold (``>=``), in percent. After
    ``wait_in_open`` seconds (strictly after, as resilience4j compares) half-open admits
    ``permitted_calls_in_half_open`` trials and rejects the rest; the rates over the trials (once
    ``min(minimum_calls, permitted)`` are recorded) reopen it or close it with a fresh window."""

    window: str = "count"
    size: int = 100
    minimum_calls: int = 100
    failure_rate_threshold: float = 50.0
    slow_call_duration: float = 60.0
    slow_call_rate_threshold: float = 100.0
    wait_in_open: float = 60.0
    permitted_calls_in_half_open: int = 10
    max_half_open_calls: int | None = None
    open_backoff: float = 1.0
    max_reset_timeout: float | None = None

    def __post_init__(self) -> None:
        checks.one_of("window", self.window, WINDOWS)
        checks.int_between("size", self.size, 1, MAX_SIZE)
        checks.int_between("minimum_calls", self.minimum_calls, 1, MAX_SIZE)
        checks.number_between("failure_rate_threshold", self.failure_rate_threshold, 0.0, 100.0, lo_open=True)
        checks.number_between(
            "slow_call_duration", self.slow_call_duration, 0.0, MAX_SECONDS, unit=" seconds"
        )
        checks.number_between(
            "slow_call_rate_threshold", self.slow_call_rate_threshold, 0.0, 100.0, lo_open=True
        )
        checks.number_between("wait_in_open", self.wait_in_open, 0.0, MAX_SECONDS, unit=" seconds")
        checks.int_between("permitted_calls_in_half_open", self.permitted_calls_in_half_open, 1, MAX_SIZE)
        _common(self)

    @property
    def base_wait(self) -> float:
        return float(self.wait_in_open)

    @property
    def effective_minimum(self) -> int:
        """Calls the closed window needs before it judges: a count window never waits for more than it holds."""
        return min(self.minimum_calls, self.size) if self.window == "count" else self.minimum_calls

    @staticmethod
    def wait_elapsed(now: float, until: float) -> bool:
        return now > until  # resilience4j: clock.instant().isAfter(retryAfterWaitDuration)

    def closed_window(self) -> _RateWindow:
        if self.window == "count":
            return _RateWindow(
                self, _CountCalls(self.size), self.effective_minimum, f"the last {self.size} calls"
            )
        return _RateWindow(self, _TimeCalls(self.size), self.minimum_calls, f"the last {self.size} s")

    def half_open_window(self) -> _RateTrials:
        return _RateTrials(self)


class _CountCalls:
    """The last ``size`` outcomes, with running totals (subtract on evict)."""

    __slots__ = ("calls", "size", "failed", "slow")

    def __init__(self, size: int):
        self.size = size
        self.calls: deque[tuple[bool, bool]] = deque()
        self.failed = 0
        self.slow = 0

    def add(self, now: float, failed: bool, slow: bool) -> int:
        if len(self.calls) == self.size:
            f, s = self.calls.popleft()
            self.failed -= f
            self.slow -= s
        self.calls.append((failed, slow))
        self.failed += failed
        self.slow += slow
        return len(self.calls)


class _TimeCalls:
    """Outcomes in one bucket per whole second of ``now``; the window is the last ``seconds`` buckets."""

    __slots__ = ("buckets", "seconds", "total", "failed", "slow")

    def __init__(self, seconds: int):
        self.seconds = seconds
        self.buckets: deque[list[int]] = deque()  # [second, calls, failed, slow]
        self.total = self.failed = self.slow = 0

    def add(self, now: float, failed: bool, slow: bool) -> int:
        second = math.floor(now)
        while self.buckets and self.buckets[0][0] <= second - self.seconds:
            _, n, f, s = self.buckets.popleft()
            self.total -= n
            self.failed -= f
            self.slow -= s
        if not self.buckets or self.buckets[-1][0] != second:
            self.buckets.append([second, 0, 0, 0])
        b = self.buckets[-1]
        b[1] += 1
        b[2] += failed
        b[3] += slow
        self.total += 1
        self.failed += failed
        self.slow += slow
        return self.total


def _verdict(policy: FailureRateWindow, calls, n: int, minimum: int, over: str) -> str | None:
    """Why the rates over ``n`` calls trip the breaker, or None (below the minimum, or both rates below)."""
    if n < minimum:
        return None
    failure = 100.0 * calls.failed / n
    slow = 100.0 * calls.slow / n
    if failure >= policy.failure_rate_threshold:
        return f"failure rate {failure:.0f}% ≥ {number_text(policy.failure_rate_threshold)}% over {over}"
    if slow >= policy.slow_call_rate_threshold:
        return (
            f"slow-call rate {slow:.0f}% ≥ {number_text(policy.slow_call_rate_threshold)}% over {over} "
            f"(slower than {number_text(policy.slow_call_duration)} s)"
        )
    return None


class _RateWindow:
    __slots__ = ("policy", "calls", "minimum", "over")

    def __init__(self, policy: FailureRateWindow, calls, minimum: int, over: str):
        self.policy, self.calls, self.minimum, self.over = policy, calls, minimum, over

    def record(self, now: float, failed: bool, duration: float) -> str | None:
        n = self.calls.add(now, failed, duration > self.policy.slow_call_duration)
        return _verdict(self.policy, self.calls, n, self.minimum, self.over)


class _RateTrials:
    """Half-open under resilience4j's rule: a count window the size of the permitted trials."""

    __slots__ = ("policy", "calls", "permits", "minimum", "over")

    def __init__(self, policy: FailureRateWindow):
        permitted = policy.permitted_calls_in_half_open
        self.policy = policy
        self.calls = _CountCalls(permitted)
        self.permits = permitted
        self.minimum = min(policy.minimum_calls, permitted)
        self.over = f"{permitted} trial {'call' if permitted == 1 else 'calls'}"

    def admit(self) -> bool:
        if self.permits > 0:
            self.permits -= 1
            return True
        return False

    def record(self, now: float, failed: bool, duration: float) -> tuple[str | None, str]:
        n = self.calls.add(now, failed, duration > self.policy.slow_call_duration)
        if n < self.minimum:
            return None, ""
        reason = _verdict(self.policy, self.calls, n, self.minimum, self.over)
        if reason:
            return "open", reason
        return "closed", f"rates below the thresholds over {self.over}"


# -- the registry ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyKind:
    label: str
    description: str
    cls: type


POLICIES = MappingProxyType({
    "consecutive": PolicyKind(
        "Consecutive failures (pybreaker)",
        "Trip after N failures in a row; a single success resets the count. Simple, but blind to a dependency "
        "that fails every other call.",
        ConsecutiveFailures,
    ),
    "rate": PolicyKind(
        "Failure and slow-call rate (resilience4j)",
        "Trip when the share of failed or slow calls over a sliding window reaches a threshold, once the window "
        "holds enough calls; a fixed number of trial calls decides in half-open.",
        FailureRateWindow,
    ),
})  # fmt: skip


# -- the state machine -------------------------------------------------------------------------------------


class CircuitBreaker:
    """One breaker guarding one dependency, driven by the caller in virtual time (``now`` never decreases)."""

    def __init__(self, policy: ConsecutiveFailures | FailureRateWindow):
        if not isinstance(policy, (ConsecutiveFailures, FailureRateWindow)):
            raise ValueError(
                f"policy must be one of {', '.join(k.cls.__name__ for k in POLICIES.values())} (got policy={policy!r})"
            )
        self.policy = policy
        self._state = "closed"
        self.window = policy.closed_window()  # the current state's counts (closed window or half-open trials)
        self._now = -math.inf
        self._open_until = math.nan
        self._trips = 0  # trips since the breaker last closed: the back-off exponent
        self._trials_in_flight = 0
        self._transitions: list[Transition] = []

    @property
    def state(self) -> str:
        return self._state

    @property
    def transitions(self) -> tuple[Transition, ...]:
        return tuple(self._transitions)

    @property
    def open_until(self) -> float | None:
        """When an open breaker's wait ends (it moves to half-open on the first ``allow`` after it)."""
        return self._open_until if self._state == "open" else None

    @property
    def trials_in_flight(self) -> int:
        return self._trials_in_flight

    def _clock(self, now: float) -> None:
        if not now >= self._now:  # also refuses NaN
            raise ValueError(f"now must not go back in time (got now={now!r}, last now={self._now!r})")
        if now == math.inf:
            raise ValueError(f"now must be a finite number (got now={now!r})")
        self._now = now

    def _move(self, now: float, to: str, reason: str) -> None:
        self._transitions.append(Transition(now, self._state, to, reason))
        self._state = to
        if to == "open":
            self._trips += 1
            wait = _wait_after(self.policy, self._trips)
            self._open_until = now + wait
            self._trials_in_flight = 0
        elif to == "half_open":
            self.window = self.policy.half_open_window()
            self._trials_in_flight = 0
        else:
            self.window = self.policy.closed_window()
            self._trips = 0

    def allow(self, now: float) -> bool:
        """May a call go to the dependency now? Moves open -> half-open once the wait has passed."""
        self._clock(now)
        if self._state == "closed":
            return True
        if self._state == "open":
            if not self.policy.wait_elapsed(now, self._open_until):
                return False
            wait = self._open_until - self._transitions[-1].time
            self._move(now, "half_open", f"the open wait of {number_text(wait)} s passed")
        cap = self.policy.max_half_open_calls
        if cap is not None and self._trials_in_flight >= cap:
            return False
        if not self.window.admit():
            return False
        self._trials_in_flight += 1
        return True

    def record_success(self, now: float, duration: float = 0.0) -> None:
        self._record(now, False, duration)

    def record_failure(self, now: float, duration: float = 0.0) -> None:
        self._record(now, True, duration)

    def _record(self, now: float, failed: bool, duration: float) -> None:
        self._clock(now)
        if not 0.0 <= duration < math.inf:
            raise ValueError(f"duration must be a finite number >= 0 seconds (got duration={duration!r})")
        if self._state == "closed":
            reason = self.window.record(now, failed, duration)
            if reason:
                self._move(now, "open", reason)
        elif self._state == "half_open":
            self._trials_in_flight = max(0, self._trials_in_flight - 1)
            to, reason = self.window.record(now, failed, duration)
            if to is not None:
                self._move(now, to, reason)
        # open: recorded, as resilience4j records it, but an open breaker decides nothing on outcomes.
