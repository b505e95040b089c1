"""Scenario: one breaker guarding one dependency takes 200,000 decisions (allow, then record the outcome) on a
scripted pattern -- 30 calls succeed, 10 fail, repeated, one call a second of virtual time (whole seconds, so
both clocks are exact), an open wait of 100 s -- so it trips,
waits, goes half-open and closes over and over.

Times sdcore's CircuitBreaker(ConsecutiveFailures) and CircuitBreaker(FailureRateWindow) against pybreaker's
CircuitBreaker.call on the same pattern (pybreaker with its clock frozen to the same virtual time), and
checks both make the same decisions. Prints decisions per second and the ratios.
"""

import contextlib
import time
from datetime import UTC, datetime, timedelta

import pybreaker

from sdcore.resilience import CircuitBreaker, ConsecutiveFailures, FailureRateWindow

N = 200_000
PATTERN = [False] * 30 + [True] * 10  # True: the call fails
T0 = datetime(2024, 1, 1, tzinfo=UTC)


class Clock:
    t = T0

    @classmethod
    def now(cls, tz=None):
        return cls.t


class Boom(Exception):
    pass


def ours(policy) -> tuple[float, list[bool]]:
    cb = CircuitBreaker(policy)
    admitted = []
    t0 = time.perf_counter()
    for i in range(N):
        now = float(i)
        ok = cb.allow(now)
        admitted.append(ok)
        if ok:
            if PATTERN[i % len(PATTERN)]:
                cb.record_failure(now, 0.5)
            else:
                cb.record_success(now, 0.5)
    return time.perf_counter() - t0, admitted


def theirs() -> tuple[float, list[bool]]:
    pybreaker.datetime = Clock
    pb = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=100)
    admitted = []

    def ok():
        admitted[-1] = True

    def fail():
        admitted[-1] = True
        raise Boom

    t0 = time.perf_counter()
    for i in range(N):
        Clock.t = T0 + timedelta(seconds=i)
        admitted.append(False)
        with contextlib.suppress(Boom, pybreaker.CircuitBreakerError):
            pb.call(fail if PATTERN[i % len(PATTERN)] else ok)
    return time.perf_counter() - t0, admitted


def main():
    t_pb, a_pb = min((theirs() for _ in range(3)), key=lambda r: r[0])
    t_cf, a_cf = min(
        (ours(ConsecutiveFailures(fail_max=5, reset_timeout=100.0)) for _ in range(3)), key=lambda r: r[0]
    )
    t_rw, _ = min(
        (ours(FailureRateWindow(size=20, minimum_calls=10, wait_in_open=100.0, permitted_calls_in_half_open=5))
         for _ in range(3)),
        key=lambda r: r[0],
    )  # fmt: skip
    assert a_cf == a_pb, "ConsecutiveFailures and pybreaker disagree on some decision"
    print(f"{N:,} decisions, {sum(a_pb):,} admitted (same decisions in both: {a_cf == a_pb})")
    for name, t in (("pybreaker.CircuitBreaker.call", t_pb), ("sdcore ConsecutiveFailures", t_cf),
                    ("sdcore FailureRateWindow", t_rw)):  # fmt: skip
        print(f"  {name:32s} {N / t / 1e6:6.2f} M decisions/s   {t_pb / t:5.1f}x pybreaker")


if __name__ == "__main__":
    main()
