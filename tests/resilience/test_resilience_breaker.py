"""The breaker against pybreaker itself (frozen clock), against a reference model of resilience4j's rules, and
the options the libraries lack."""

from __future__ import annotations

import contextlib
import math
from datetime import UTC, datetime, timedelta

import pybreaker
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sdcore.resilience import POLICIES, CircuitBreaker, ConsecutiveFailures, FailureRateWindow

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class _Clock:
    """Stands in for ``pybreaker.datetime``: ``now()`` returns the time the test set."""

    t = T0

    @classmethod
    def now(cls, tz=None):
        return cls.t


class Boom(Exception):
    pass


def _drive_pybreaker(pb: pybreaker.CircuitBreaker, t: float, fail: bool) -> bool:
    """One call through pybreaker at virtual time ``t``; True if the function actually ran."""
    _Clock.t = T0 + timedelta(seconds=t)
    ran = []

    def call():
        ran.append(True)
        if fail:
            raise Boom

    with contextlib.suppress(Boom, pybreaker.CircuitBreakerError):
        pb.call(call)
    return bool(ran)


steps = st.lists(st.tuples(st.integers(0, 7), st.booleans()), min_size=1, max_size=80)


@settings(max_examples=150)
@given(
    fail_max=st.integers(1, 5),
    reset_timeout=st.integers(0, 10),
    success_threshold=st.integers(1, 3),
    steps=steps,
)
def test_consecutive_failures_is_pybreaker(
    monkeypatch_module, fail_max, reset_timeout, success_threshold, steps
):
    """For any sequence of (wait, outcome) calls, each recorded before the next: the same calls are admitted,
    the state is pybreaker's ``current_state`` after every step, and while closed the failure count is its
    ``fail_counter``."""
    pb = pybreaker.CircuitBreaker(
        fail_max=fail_max, reset_timeout=reset_timeout, success_threshold=success_threshold
    )
    cb = CircuitBreaker(ConsecutiveFailures(fail_max, reset_timeout, success_threshold))
    t = 0.0
    for wait, fail in steps:
        t += wait
        ran = _drive_pybreaker(pb, t, fail)
        allowed = cb.allow(t)
        if allowed:
            (cb.record_failure if fail else cb.record_success)(t)
        assert allowed == ran
        assert cb.state == pb.current_state.replace("-", "_")
        if cb.state == "closed":
            assert cb.window.failures == pb.fail_counter


@pytest.fixture(scope="module")
def monkeypatch_module():
    """Freeze pybreaker's clock for the module: hypothesis runs many examples per test function."""
    mp = pytest.MonkeyPatch()
    mp.setattr(pybreaker, "datetime", _Clock)
    yield mp
    mp.undo()


def _consecutive_reference(fail_max, reset_timeout, success_threshold, steps):
    """The rules as the issue words them, written as a plain loop: yields (admitted, state) per step."""
    state, failures, successes, opened = "closed", 0, 0, None
    t = 0.0
    for wait, fail in steps:
        t += wait
        if state == "open":
            if t < opened + reset_timeout:
                yield False, state
                continue
            state, successes = "half_open", 0
        if state == "closed":
            failures = failures + 1 if fail else 0
            if failures >= fail_max:
                state, opened = "open", t
        elif fail:
            state, opened = "open", t
        else:
            successes += 1
            if successes >= success_threshold:
                state, failures = "closed", 0
        yield True, state


@given(
    fail_max=st.integers(1, 6),
    reset_timeout=st.integers(0, 9),
    success_threshold=st.integers(1, 4),
    steps=steps,
)
def test_consecutive_failures_matches_the_written_rules(fail_max, reset_timeout, success_threshold, steps):
    """Opens on the fail_max-th failure in a row; a closed success resets the count; open rejects until
    reset_timeout has passed; then every call is a trial; a trial failure reopens and restarts the timer;
    success_threshold trial successes close it."""
    cb = CircuitBreaker(ConsecutiveFailures(fail_max, reset_timeout, success_threshold))
    t = 0.0
    for (wait, fail), (admitted, state) in zip(
        steps, _consecutive_reference(fail_max, reset_timeout, success_threshold, steps), strict=True
    ):
        t += wait
        assert cb.allow(t) == admitted
        if admitted:
            (cb.record_failure if fail else cb.record_success)(t)
        assert cb.state == state


# -- resilience4j ------------------------------------------------------------------------------------------


class R4jReference:
    """resilience4j's CircuitBreaker rules as its documentation states them, recomputed from a plain list of
    outcomes at every step: COUNT_BASED keeps the last N outcomes, TIME_BASED those recorded in the last N
    epoch seconds; rates only once the window holds minimumNumberOfCalls (for a count window at most N);
    failure rate >= threshold or slow-call rate >= threshold (slow: duration > slowCallDurationThreshold)
    opens; open rejects until the wait has passed (strictly after); half-open permits
    permittedNumberOfCallsInHalfOpenState calls and judges them (minimum: min(minimum, permitted)); an outcome
    counts in the state the breaker is in when it is recorded (in open, it changes nothing)."""

    def __init__(self, p: FailureRateWindow):
        self.p = p
        self.state = "closed"
        self.outcomes: list[tuple[float, bool, bool]] = []  # (time recorded, failed, slow)
        self.opened_at = 0.0
        self.permits = 0

    def _trips(self, outs, minimum) -> bool | None:
        if len(outs) < minimum:
            return None
        failure = 100 * sum(f for _, f, _ in outs) / len(outs)
        slow = 100 * sum(s for _, _, s in outs) / len(outs)
        return failure >= self.p.failure_rate_threshold or slow >= self.p.slow_call_rate_threshold

    def allow(self, now: float) -> bool:
        if self.state == "open":
            if not now > self.opened_at + self.p.wait_in_open:
                return False
            self.state, self.outcomes, self.permits = "half_open", [], self.p.permitted_calls_in_half_open
        if self.state == "half_open":
            if self.permits == 0:
                return False
            self.permits -= 1
        return True

    def record(self, now: float, failed: bool, duration: float) -> None:
        slow = duration > self.p.slow_call_duration
        if self.state == "open":
            return
        self.outcomes.append((now, failed, slow))
        p = self.p
        if self.state == "closed":
            if p.window == "count":
                outs, minimum = self.outcomes[-p.size :], min(p.minimum_calls, p.size)
            else:
                outs = [o for o in self.outcomes if math.floor(o[0]) > math.floor(now) - p.size]
                minimum = p.minimum_calls
            if self._trips(outs, minimum):
                self.state, self.opened_at = "open", now
        else:
            verdict = self._trips(self.outcomes[-p.permitted_calls_in_half_open :],
                                  min(p.minimum_calls, p.permitted_calls_in_half_open))  # fmt: skip
            if verdict is True:
                self.state, self.opened_at = "open", now
            elif verdict is False:
                self.state, self.outcomes = "closed", []


policies = st.builds(
    FailureRateWindow,
    window=st.sampled_from(["count", "time"]),
    size=st.integers(1, 8),
    minimum_calls=st.integers(1, 8),
    failure_rate_threshold=st.sampled_from([25.0, 50.0, 100.0]),
    slow_call_duration=st.just(1.0),
    slow_call_rate_threshold=st.sampled_from([50.0, 100.0]),
    wait_in_open=st.integers(0, 4),
    permitted_calls_in_half_open=st.integers(1, 4),
)


class RateBreakerMachine(RuleBasedStateMachine):
    """Calls admitted, then completed in any order and at any later time (so outcomes of calls admitted
    before a state change arrive after it): the breaker's state and admissions equal the reference's."""

    @initialize(policy=policies)
    def start(self, policy):
        self.cb, self.ref = CircuitBreaker(policy), R4jReference(policy)
        self.now = 0.0
        self.pending = 0

    @rule(dt=st.sampled_from([0.0, 0.25, 0.5, 1.0, 2.5]))
    def advance(self, dt):
        self.now += dt

    @rule()
    def call(self):
        allowed = self.cb.allow(self.now)
        assert allowed == self.ref.allow(self.now)
        self.pending += allowed

    @precondition(lambda self: self.pending > 0)
    @rule(failed=st.booleans(), duration=st.sampled_from([0.1, 1.0, 1.5]))
    def complete(self, failed, duration):
        self.pending -= 1
        (self.cb.record_failure if failed else self.cb.record_success)(self.now, duration)
        self.ref.record(self.now, failed, duration)

    @invariant()
    def same_state(self):
        if hasattr(self, "cb"):
            assert self.cb.state == self.ref.state


TestRateBreakerMachine = RateBreakerMachine.TestCase
TestRateBreakerMachine.settings = settings(max_examples=150, stateful_step_count=60)


def _rate(**kw) -> CircuitBreaker:
    base = dict(size=10, minimum_calls=5, failure_rate_threshold=50.0, wait_in_open=10.0,
                permitted_calls_in_half_open=3)  # fmt: skip
    return CircuitBreaker(FailureRateWindow(**(base | kw)))


def test_no_decision_below_the_minimum_number_of_calls():
    cb = _rate(minimum_calls=5)
    for t in range(4):
        assert cb.allow(t)
        cb.record_failure(t)
    assert cb.state == "closed"  # four failures of four: 100%, but below the minimum of 5
    cb.allow(4)
    cb.record_failure(4)
    assert cb.state == "open"
    assert "failure rate 100% ≥ 50% over the last 10 calls" in cb.transitions[-1].reason


def test_a_count_window_smaller_than_the_minimum_decides_when_full():
    """minimumNumberOfCalls 100 (the default) with a window of 3: resilience4j judges after 3 calls."""
    cb = CircuitBreaker(FailureRateWindow(size=3, minimum_calls=100))
    assert cb.policy.effective_minimum == 3
    for t in range(3):
        cb.allow(t)
        cb.record_failure(t)
    assert cb.state == "open"


def test_a_time_window_keeps_its_minimum_and_forgets_old_seconds():
    cb = CircuitBreaker(FailureRateWindow(window="time", size=2, minimum_calls=3, wait_in_open=1))
    for t in (0.1, 0.9, 2.5):  # the failures at 0.1 and 0.9 s left the 2-second window by 2.5 s
        cb.allow(t)
        cb.record_failure(t)
    assert cb.state == "closed"
    for t in (2.6, 3.0):
        cb.allow(t)
        cb.record_failure(t)
    assert cb.state == "open"


def test_slow_successes_count_against_the_slow_call_rate():
    """Slow means slower than slow_call_duration (strictly): were 1.0 s slow, 3 of 5 = 60% would trip."""
    cb = _rate(slow_call_duration=1.0, slow_call_rate_threshold=60.0, minimum_calls=5)
    durations = (2.0, 2.0, 0.5, 0.5, 1.0, 2.0, 2.0, 2.0)  # slow share: 2/5, 3/6, 4/7, then 5/8 = 62.5%
    for t, d in enumerate(durations):
        assert cb.state == "closed"
        cb.allow(t)
        cb.record_success(t, d)
    assert cb.state == "open" and cb.transitions[-1].time == 7
    assert "slow-call rate 62% ≥ 60%" in cb.transitions[-1].reason


def test_half_open_admits_only_the_permitted_trials_then_decides():
    cb = _rate(permitted_calls_in_half_open=3, wait_in_open=10.0)
    for t in range(5):
        cb.allow(t)
        cb.record_failure(t)
    opened = cb.transitions[-1].time
    assert not cb.allow(opened + 10.0)  # resilience4j waits strictly longer than the wait
    assert cb.allow(opened + 10.5) and cb.state == "half_open"
    assert cb.allow(opened + 10.5) and cb.allow(opened + 10.5)
    assert not cb.allow(opened + 10.5)  # a fourth is rejected while the three are out
    for _ in range(2):
        cb.record_success(opened + 11)
    assert cb.state == "half_open"  # 2 of 3 recorded: below the half-open minimum of 3
    cb.record_failure(opened + 11)  # 1 failure of 3: 33% < 50%
    assert cb.state == "closed"


def test_an_outcome_recorded_while_open_changes_nothing():
    cb = _rate()
    admitted = [cb.allow(0) for _ in range(8)]
    assert all(admitted)
    for t in range(5):
        cb.record_failure(t)
    assert cb.state == "open"
    cb.record_success(6)
    cb.record_failure(7)
    assert cb.state == "open" and len(cb.transitions) == 1


def test_max_half_open_calls_caps_trials_in_flight():
    cb = CircuitBreaker(ConsecutiveFailures(fail_max=1, reset_timeout=5, max_half_open_calls=1))
    cb.allow(0)
    cb.record_failure(0)
    assert cb.allow(5)  # the first trial
    assert not cb.allow(5.1)  # pybreaker would admit it; the cap says one at a time
    cb.record_success(5.2)
    assert cb.state == "closed"


def test_open_backoff_multiplies_the_wait_up_to_the_cap():
    cb = CircuitBreaker(
        ConsecutiveFailures(fail_max=1, reset_timeout=2, open_backoff=3.0, max_reset_timeout=10)
    )
    t = 0.0
    cb.allow(t)
    cb.record_failure(t)
    waits = []
    for _ in range(4):
        opened = cb.transitions[-1].time
        assert cb.open_until is not None
        waits.append(cb.open_until - opened)
        t = cb.open_until
        assert not cb.allow(t - 0.01)
        assert cb.allow(t)
        cb.record_failure(t)
    assert waits == [2, 6, 10, 10]
    t = cb.open_until
    cb.allow(t)
    cb.record_success(t)
    cb.allow(t + 1)
    cb.record_failure(t + 1)
    assert cb.open_until - (t + 1) == 2  # closing resets the back-off


def test_more_than_one_success_to_close():
    cb = CircuitBreaker(ConsecutiveFailures(fail_max=1, reset_timeout=1, success_threshold=3))
    cb.allow(0)
    cb.record_failure(0)
    for k in range(3):
        assert cb.allow(1 + k)
        cb.record_success(1 + k)
        assert cb.state == ("closed" if k == 2 else "half_open")
    assert cb.transitions[-1].reason == "3 trial calls succeeded"


def test_state_changes_lazily():
    cb = CircuitBreaker(ConsecutiveFailures(fail_max=1, reset_timeout=1))
    cb.allow(0)
    cb.record_failure(0)
    assert cb.state == "open"  # long after the wait, still open until someone asks
    assert cb.allow(100) and cb.state == "half_open"


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ConsecutiveFailures(fail_max=0), "fail_max must be between 1 and 100,000 (got fail_max=0)"),
        (lambda: ConsecutiveFailures(reset_timeout=-1), "reset_timeout must be between 0 and 86,400 seconds"),
        (lambda: FailureRateWindow(window="ring"), "window must be one of count, time (got window='ring')"),
        (lambda: FailureRateWindow(failure_rate_threshold=0), "failure_rate_threshold must be more than 0"),
        (lambda: FailureRateWindow(permitted_calls_in_half_open=0), "permitted_calls_in_half_open must be"),
        (lambda: ConsecutiveFailures(open_backoff=0.5), "open_backoff must be between 1 and 100"),
        (
            lambda: ConsecutiveFailures(reset_timeout=10, max_reset_timeout=5),
            "max_reset_timeout must be at least",
        ),
        (lambda: CircuitBreaker("pybreaker"), "policy must be one of ConsecutiveFailures, FailureRateWindow"),
    ],
)
def test_bad_parameters_say_what_is_allowed(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_time_never_goes_back():
    cb = CircuitBreaker(ConsecutiveFailures())
    cb.allow(5)
    with pytest.raises(ValueError, match=r"now must not go back in time \(got now=4, last now=5\)"):
        cb.allow(4)
    with pytest.raises(ValueError, match="duration must be a finite number >= 0"):
        cb.record_success(6, -1.0)


def test_the_registry_names_both_policies():
    assert [k.cls for k in POLICIES.values()] == [ConsecutiveFailures, FailureRateWindow]
