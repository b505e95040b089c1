"""Caller -> service -> dependency, in virtual time: what a sick dependency does to the callers, with and
without a circuit breaker.

The scenario, stated (SimPy-style): callers send ``request_rate`` requests a second (Poisson) to a service
with a fixed pool of ``pool_size`` workers. A request that finds every worker busy fails at once ("pool
full"). A share ``dependency_share`` of the requests needs one call to a dependency; the rest only do
``local_latency`` of local work. The dependency's failure rate and median latency follow a scripted
``HealthTimeline`` (healthy, failing, slow, flapping, recovering); its latency is log-normal around the
median. The service's client waits at most ``timeout`` for an answer, retries failed calls with back-off and
jitter (``RetryPolicy``), optionally within a retry budget, and the dependency sheds calls beyond
``dependency_capacity`` a second (they fail fast, as a 503). A worker is held for the whole request: its wait
on the dependency, its back-off sleeps, a degraded fallback's call.

With a ``breaker``, every call asks it first; a rejected call is not retried and goes to the ``fallback`` at
once. A success updates the call site's last-good cache. What the cascade looks like: a slow dependency holds
workers for up to ``timeout`` each, the pool fills, and requests that never touch the dependency fail too.
A breaker that trips on slow calls fails them fast instead and the pool stays free; retries without a budget
multiply the load on a dependency that is already failing (the retry storm).

``compare`` runs the same requests (same seed, same arrivals) three ways: no breaker, breaker, breaker +
fallback (``VARIANTS``).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from sdcore import checks
from sdcore.resilience.breaker import (
    POLICIES,
    CircuitBreaker,
    ConsecutiveFailures,
    FailureRateWindow,
    Transition,
)
from sdcore.resilience.fallback import FALLBACKS, DefaultValue, Degraded, FailFast, LastGood, LastGoodCache
from sdcore.resilience.retry import RetryBudget, RetryBudgetConfig, RetryPolicy

__all__ = [
    "OUTCOMES",
    "SCRIPTS",
    "VARIANTS",
    "Comparison",
    "HealthTimeline",
    "Phase",
    "ScriptKind",
    "SimulationConfig",
    "SimulationResult",
    "Variant",
    "compare",
    "run",
    "script",
    "variant_config",
]

OUTCOMES = ("success", "fallback", "rejected", "error")
SUCCESS, FALLBACK, REJECTED, ERROR = range(4)
HEALTHY_LATENCY = 0.05
SHED_LATENCY = 0.005  # a shed call's 503 comes back at once
MAX_DURATION = 600.0
MAX_REQUESTS = 200_000  # request_rate x duration: a page run stays within a few seconds
SLOW_RAMP = 8  # seconds over which a "slow" dependency's latency climbs to its slow value
_FINISH, _DONE, _RETRY = range(3)


# -- the dependency's health over time ---------------------------------------------------------------------


@dataclass(frozen=True)
class Phase:
    """From ``start`` (seconds) until the next phase: the share of calls that fail and the median latency."""

    start: float
    failure_rate: float
    latency: float
    label: str = "healthy"

    def __post_init__(self) -> None:
        checks.number_between("start", self.start, 0.0, MAX_DURATION, unit=" seconds")
        checks.number_between("failure_rate", self.failure_rate, 0.0, 1.0)
        checks.number_between("latency", self.latency, 0.0, 600.0, unit=" seconds", lo_open=True)


@dataclass(frozen=True)
class HealthTimeline:
    """Phases in order, the first at 0 s."""

    phases: tuple[Phase, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "phases", tuple(self.phases))
        if not self.phases or any(not isinstance(p, Phase) for p in self.phases):
            raise ValueError(f"phases must be a non-empty sequence of Phase (got phases={self.phases!r})")
        if self.phases[0].start != 0:
            raise ValueError(f"the first phase must start at 0 s (got start={self.phases[0].start!r})")
        starts = [p.start for p in self.phases]
        if any(b <= a for a, b in zip(starts, starts[1:], strict=False)):
            raise ValueError(f"phase starts must increase (got starts={starts})")

    def at(self, t: float) -> Phase:
        return self.phases[bisect.bisect_right([p.start for p in self.phases], t) - 1]

    def segments(self, end: float) -> list[tuple[float, float, Phase]]:
        """(start, end, phase) for each phase that begins before ``end``."""
        out = []
        for p, q in zip(self.phases, (*self.phases[1:], None), strict=True):
            if p.start < end:
                out.append((p.start, min(end, q.start if q else end), p))
        return out


@dataclass(frozen=True)
class ScriptKind:
    label: str
    description: str


SCRIPTS = MappingProxyType({
    "healthy": ScriptKind("Healthy throughout", "Nothing goes wrong: the baseline."),
    "outage": ScriptKind("Outage", "From the start of the episode the dependency fails a share of its calls, "
                         "quickly (connection refused), then recovers at once."),
    "slow": ScriptKind("Slow", f"The dependency answers, but its latency climbs over {SLOW_RAMP} s to the slow "
                       "value and stays there for the episode: no errors, only waiting."),
    "flapping": ScriptKind("Flapping", "During the episode the dependency alternates between failing and healthy, "
                           "one flap period each."),
    "recovering": ScriptKind("Outage, then a slow recovery", "Failing for the first half of the episode, then the "
                             "failure rate falls in four steps to healthy."),
})  # fmt: skip


def script(
    kind: str = "outage",
    *,
    start: float = 30.0,
    length: float = 60.0,
    failure_rate: float = 1.0,
    slow_latency: float = 3.0,
    flap_period: float = 10.0,
    healthy_latency: float = HEALTHY_LATENCY,
) -> HealthTimeline:
    """A scripted timeline: healthy, then an episode of ``kind`` from ``start`` for ``length`` s, then healthy."""
    checks.one_of("kind", kind, SCRIPTS)
    start = checks.number_between("start", start, 0.0, MAX_DURATION, unit=" seconds")
    length = checks.number_between("length", length, 0.0, MAX_DURATION, unit=" seconds", lo_open=True)
    f = checks.number_between("failure_rate", failure_rate, 0.0, 1.0)
    slow = checks.number_between("slow_latency", slow_latency, 0.0, 600.0, unit=" seconds", lo_open=True)
    flap = checks.number_between("flap_period", flap_period, 0.0, MAX_DURATION, unit=" seconds", lo_open=True)
    h = checks.number_between("healthy_latency", healthy_latency, 0.0, 600.0, unit=" seconds", lo_open=True)
    end = start + length
    episode: list[Phase] = []
    if kind == "outage":
        episode = [Phase(start, f, h, "failing")]
    elif kind == "slow":
        steps = max(1, min(SLOW_RAMP, math.floor(length)))
        for k in range(steps):  # geometric climb, one step a second, the last at the slow value
            lat = h * (slow / h) ** ((k + 1) / steps)
            episode.append(Phase(start + k, 0.0, lat, "slow"))
    elif kind == "flapping":
        t, failing = start, True
        while t < end:
            episode.append(Phase(t, f if failing else 0.0, h, "failing" if failing else "healthy"))
            t, failing = t + flap, not failing
    elif kind == "recovering":
        episode = [Phase(start, f, h, "failing")]
        for k in (1, 2, 3):
            episode.append(Phase(start + length / 2 + (k - 1) * length / 8, f * (4 - k) / 4, h, "recovering"))
    phases = [Phase(0.0, 0.0, h, "healthy")] + [p for p in episode if p.start < end]
    if kind != "healthy":
        phases.append(Phase(end, 0.0, h, "healthy"))
    merged: list[Phase] = []
    for p in phases:  # a phase at 0 s replaces the healthy start; equal starts keep the later phase
        if merged and merged[-1].start == p.start:
            merged[-1] = p
        else:
            merged.append(p)
    return HealthTimeline(tuple(merged))


# -- configuration -----------------------------------------------------------------------------------------


Policy = ConsecutiveFailures | FailureRateWindow
_FALLBACK_TYPES = tuple(k.cls for k in FALLBACKS.values())


@dataclass(frozen=True)
class SimulationConfig:
    """Everything one run depends on (hashable: a page caches runs by it)."""

    duration: float = 120.0
    request_rate: float = 100.0
    dependency_share: float = 0.5
    local_latency: float = 0.02
    pool_size: int = 50
    timeout: float = 1.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    retry_budget: RetryBudgetConfig | None = None
    dependency_capacity: float = 10_000.0
    timeline: HealthTimeline = field(default_factory=script)
    breaker: Policy | None = field(default_factory=lambda: ConsecutiveFailures(fail_max=5, reset_timeout=5.0))
    fallback: Any = field(default_factory=DefaultValue)
    latency_sigma: float = 0.5
    bin_width: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        checks.number_between("duration", self.duration, 0.0, MAX_DURATION, unit=" seconds", lo_open=True)
        checks.number_between("request_rate", self.request_rate, 0.0, 5000.0, lo_open=True)
        if self.request_rate * self.duration > MAX_REQUESTS:
            raise ValueError(
                f"request_rate x duration must be at most {MAX_REQUESTS:,} requests "
                f"(got request_rate={self.request_rate!r}, duration={self.duration!r})"
            )
        checks.number_between("dependency_share", self.dependency_share, 0.0, 1.0)
        checks.number_between("local_latency", self.local_latency, 0.0, 60.0, unit=" seconds")
        checks.int_between("pool_size", self.pool_size, 1, 100_000)
        checks.number_between("timeout", self.timeout, 0.0, 600.0, unit=" seconds", lo_open=True)
        checks.number_between("dependency_capacity", self.dependency_capacity, 0.0, 1e7, lo_open=True)
        checks.number_between("latency_sigma", self.latency_sigma, 0.0, 3.0)
        checks.number_between("bin_width", self.bin_width, 0.0, MAX_DURATION, unit=" seconds", lo_open=True)
        checks.seed(self.seed)
        for name, value, types in (
            ("retry", self.retry, (RetryPolicy,)),
            ("timeline", self.timeline, (HealthTimeline,)),
            ("fallback", self.fallback, _FALLBACK_TYPES),
        ):
            if not isinstance(value, types):
                raise ValueError(
                    f"{name} must be one of {', '.join(t.__name__ for t in types)} (got {name}={value!r})"
                )
        if self.retry_budget is not None and not isinstance(self.retry_budget, RetryBudgetConfig):
            raise ValueError(
                f"retry_budget must be a RetryBudgetConfig or None (got retry_budget={self.retry_budget!r})"
            )
        if self.breaker is not None and not isinstance(self.breaker, tuple(k.cls for k in POLICIES.values())):
            raise ValueError(
                f"breaker must be one of {', '.join(k.cls.__name__ for k in POLICIES.values())} or None "
                f"(got breaker={self.breaker!r})"
            )

    @property
    def bins(self) -> int:
        return max(1, math.ceil(self.duration / self.bin_width - 1e-9))


# -- the result --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulationResult:
    """One run: every request's fate, and per-second counts (bins of ``config.bin_width``)."""

    config: SimulationConfig
    arrival: np.ndarray  # seconds
    latency: np.ndarray  # seconds until the caller had its answer; NaN for "pool full" (refused at once)
    outcome: np.ndarray  # index into OUTCOMES
    needs_dependency: np.ndarray  # bool
    pool_full: np.ndarray  # bool: refused because every worker was busy
    fallback_age: np.ndarray  # seconds: age of the cached answer a last-good fallback served, else NaN
    dependency_calls: np.ndarray  # calls started per bin (first attempts and retries, shed ones included)
    trial_calls: np.ndarray  # calls started per bin while the breaker was half-open (its trials)
    retries: np.ndarray  # retries started per bin
    shed: np.ndarray  # calls the dependency shed (over capacity) per bin
    pool_peak: np.ndarray  # most workers busy at once in each bin
    transitions: tuple[Transition, ...]
    budget_denied: int  # retries the budget refused

    @property
    def requests(self) -> int:
        return int(self.arrival.size)

    @property
    def bin_edges(self) -> np.ndarray:
        c = self.config
        return np.arange(c.bins + 1) * c.bin_width

    def _bin(self) -> np.ndarray:
        return np.minimum((self.arrival / self.config.bin_width).astype(np.int64), self.config.bins - 1)

    def outcome_counts(self) -> np.ndarray:
        """Requests by outcome (rows, in OUTCOMES order) and arrival second (columns)."""
        b = self._bin() * len(OUTCOMES) + self.outcome
        return np.bincount(b, minlength=self.config.bins * len(OUTCOMES)).reshape(-1, len(OUTCOMES)).T

    def totals(self) -> dict[str, int]:
        counts = np.bincount(self.outcome, minlength=len(OUTCOMES))
        return {o: int(n) for o, n in zip(OUTCOMES, counts, strict=True)}

    def share(self, outcome: str) -> float:
        return self.totals()[outcome] / self.requests if self.requests else 0.0

    def _latencies_by_bin(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The answered requests' latencies sorted by arrival bin, then by latency; where each non-empty bin
        starts in them, how many it holds, and which bins are non-empty. Sorted once per result (a figure asks
        for two percentiles of every run) and kept with it: read-only, the same for every caller."""
        memo = self.__dict__.get("_by_bin")
        if memo is None:
            ok = ~np.isnan(self.latency)
            b, lat = self._bin()[ok], self.latency[ok]
            order = np.lexsort((lat, b))  # by bin, then by latency
            b, lat = b[order], lat[order]
            cuts = np.searchsorted(b, np.arange(self.config.bins + 1))
            start, n = cuts[:-1], np.diff(cuts)
            has = n > 0
            memo = tuple(_read_only(a) for a in (lat, start[has], n[has], has))
            object.__setattr__(self, "_by_bin", memo)  # not a field: equality and replace() ignore it
        return memo

    def latency_percentiles(self, q: float) -> np.ndarray:
        """The q-th percentile of caller latency per arrival bin (requests refused for a full pool left out).

        Every bin at once: numpy's default ("linear") percentile, step for step, on the bins' sorted values."""
        out = np.full(self.config.bins, np.nan)
        lat, start, n, has = self._latencies_by_bin()
        v = (n - 1) * np.true_divide(q, 100)  # the virtual index, as np.percentile computes it
        below = np.floor(v)
        last = v >= n - 1
        lo = start + np.where(last, n - 1, below).astype(np.intp)
        hi = start + np.where(last, n - 1, below + 1).astype(np.intp)
        gamma = v - np.where(last, -1.0, below)  # numpy's gamma: at the last index the two values are equal
        a, c = lat[lo], lat[hi]
        diff = c - a
        res = a + diff * gamma
        np.subtract(c, diff * (1 - gamma), out=res, where=gamma >= 0.5)
        out[has] = res
        return out

    def latency_quantile(self, q: float) -> float:
        """The q-th percentile of caller latency over the run (NaN when nobody got a worker); kept per q with
        the result (the headlines ask for the same percentiles of every run on every rerun)."""
        memo = self.__dict__.get("_quantiles")
        if memo is None:
            memo = {}
            object.__setattr__(self, "_quantiles", memo)  # not a field: equality and replace() ignore it
        value = memo.get(q)
        if value is None:
            lat = self.latency[~np.isnan(self.latency)]
            value = memo[q] = float(np.percentile(lat, q)) if lat.size else math.nan
        return value

    @property
    def local_failed(self) -> int:
        """Requests that never needed the dependency and failed anyway (the cascade)."""
        return int(np.count_nonzero(self.pool_full & ~self.needs_dependency))

    @property
    def trips(self) -> int:
        return sum(t.to_state == "open" for t in self.transitions)

    def state_at(self, t: float) -> str:
        """The breaker's state at time ``t`` ("closed" throughout without a breaker)."""
        state = "closed"
        for tr in self.transitions:
            if tr.time > t:
                break
            state = tr.to_state
        return state

    def state_bands(self) -> list[tuple[float, float, str]]:
        """(start, end, state) covering the run, from the transitions (lazily taken, as the breaker does)."""
        bands, start, state = [], 0.0, "closed"
        end = self.config.duration
        for tr in self.transitions:
            if tr.time >= end:
                break
            if tr.time > start:
                bands.append((start, tr.time, state))
            start, state = tr.time, tr.to_state
        bands.append((start, end, state))
        return bands

    def calls_between(self, t0: float, t1: float) -> int:
        """Dependency calls started in [t0, t1) (whole bins)."""
        w = self.config.bin_width
        return int(self.dependency_calls[int(t0 // w) : int(math.ceil(t1 / w - 1e-9))].sum())

    def rows(self) -> list[dict[str, Any]]:
        """One row per second, for a CSV."""
        counts = self.outcome_counts()
        p50, p99 = self.latency_percentiles(50), self.latency_percentiles(99)
        edges = self.bin_edges
        return [
            {
                "second": float(edges[i]),
                **{o: int(counts[k, i]) for k, o in enumerate(OUTCOMES)},
                "p50 latency (s)": None if np.isnan(p50[i]) else round(float(p50[i]), 4),
                "p99 latency (s)": None if np.isnan(p99[i]) else round(float(p99[i]), 4),
                "dependency calls": int(self.dependency_calls[i]),
                "trial calls": int(self.trial_calls[i]),
                "retries": int(self.retries[i]),
                "shed": int(self.shed[i]),
                "pool peak": int(self.pool_peak[i]),
                "breaker": self.state_at(float(edges[i + 1]) - 1e-9),
                "dependency health": self.config.timeline.at(float(edges[i])).label,
            }
            for i in range(self.config.bins)
        ]


# -- the run -----------------------------------------------------------------------------------------------


def _draws(fill: Callable[[int], np.ndarray]) -> Callable[[], float]:
    """Scalar draws from a numpy generator, pulled in blocks of 4096 when the last block is used up (a
    generator call per draw would dominate the loop); the result is called once per draw."""
    return itertools.chain.from_iterable(iter(lambda: fill(4096).tolist(), None)).__next__


# (ok, age, latency) of the fallbacks whose answer never depends on the call site's cache, as their serve() says
_FIXED_ANSWERS: MappingProxyType[type, Callable[[Any], tuple[bool, None, float]]] = MappingProxyType({
    FailFast: lambda f: (False, None, 0.0),
    DefaultValue: lambda f: (True, None, 0.0),
    Degraded: lambda f: (True, None, f.latency),
})  # fmt: skip


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)  # a result is shared by every session that asks for it: nobody may change it
    return a


def run(config: SimulationConfig) -> SimulationResult:
    """Simulate ``config`` and return every request's fate (see the module docstring for the model)."""
    return _run(config)[0]


def _run(
    config: SimulationConfig, fail_fast_twin: bool = False, *, _heap_releases: bool = False
) -> tuple[SimulationResult, SimulationResult | None]:
    """The run of ``config``, and with ``fail_fast_twin`` the same run with ``FailFast()`` as its fallback,
    when that one is bound to be the same run with other labels (else None).

    One event loop over plain Python values (arrivals in order, a heap of pending events); the hot steps
    (binning, a worker's release, a call's start) are written inline.

    A worker released after ``local_latency`` of local work (a request without a dependency call, or after a
    call's success) is not a heap event: those releases come in time order (each is the time being simulated
    plus the same constant), so they are appended to a list and counted off at the next arrival, the only
    step that reads how many workers are busy; their latencies are written at the end. Events at one time
    still come out in the order the heap gave them, so every number is the one the heap alone gave
    (``_heap_releases``: the plain way, every release a heap event, for the tests to compare).

    The twin: a fallback that answers at once (a default value, a cached response) frees the worker exactly
    when failing fast would, so the two runs see the same events in the same order and differ only in what the
    callers were told: where this run's fallback answered, the twin has an error (or a rejection), and no cached
    answer's age. As soon as a fallback answer takes time, the runs part and no twin is returned."""
    c = config
    arrivals_rng, dependency_rng, jitter_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(c.seed).spawn(3)
    )
    n = int(arrivals_rng.poisson(c.request_rate * c.duration))
    arrival = np.sort(arrivals_rng.uniform(0.0, c.duration, n))
    needs = arrivals_rng.random(n) < c.dependency_share
    uniform, normal, jitter = (
        _draws(dependency_rng.random),
        _draws(dependency_rng.standard_normal),
        _draws(jitter_rng.random),
    )
    arrival_list, needs_list = arrival.tolist(), needs.tolist()
    # each arrival's bin, as int(now / bin_width) capped at the last bin gives it (the same division)
    arrival_bin = np.minimum((arrival / c.bin_width).astype(np.int64), c.bins - 1).tolist()

    nb, bw = c.bins, c.bin_width
    last_bin = nb - 1
    latency = [math.nan] * n
    outcome = [ERROR] * n
    age = [math.nan] * n
    pool_full = [False] * n
    attempts = [0] * n
    dep_calls, trials, retries, shed, pool_peak = [0] * nb, [0] * nb, [0] * nb, [0] * nb, [0] * nb
    starts_list = [p.start for p in c.timeline.phases]
    fail_list = [p.failure_rate for p in c.timeline.phases]
    lat_list = [p.latency for p in c.timeline.phases]
    one_phase = len(starts_list) == 1
    breaker = CircuitBreaker(c.breaker) if c.breaker is not None else None
    budget = RetryBudget(c.retry_budget) if c.retry_budget is not None else None
    fallback = c.fallback
    # The four fallbacks answer here without a call (the hot path); another fallback class is asked.
    fixed = _FIXED_ANSWERS[type(fallback)](fallback) if type(fallback) in _FIXED_ANSWERS else None
    last_good = type(fallback) is LastGood
    max_age = fallback.max_age if last_good else None
    good_at: float | None = None  # when the last good response arrived
    cache = None if fixed is not None or last_good else LastGoodCache()
    recent: deque[float] = deque()  # admitted dependency call starts in the last second
    capacity = c.dependency_capacity
    timeout, sigma, local, max_retries = c.timeout, c.latency_sigma, c.local_latency, c.retry.max_retries
    # the back-off before each retry, as RetryPolicy.backoff gives it, and the jitter's rule (RetryPolicy.delay)
    backoffs = [0.0, *(c.retry.backoff(k) for k in range(1, max_retries + 1))]
    jitter_kind = ("none", "full", "equal").index(c.retry.jitter)
    heap: list[tuple] = []
    push, pop = heapq.heappush, heapq.heappop
    exp, bisect_right = math.exp, bisect.bisect_right
    twin: list[int] | None = [] if fail_fast_twin else None  # the requests the twin told otherwise
    twin_told: list[int] = []  # and what it told them
    seq = 0  # a tie-breaker: events at the same time come out in the order they were pushed
    busy = 0
    freed_at: list[float] = []  # releases after local work, in time order (see above): when, and whose
    freed_who: list[int] = []
    freed = 0  # how many of them have happened by the time being simulated
    local_on = local > 0.0 and not _heap_releases  # releases after local work go to the list (see above)
    pool = c.pool_size

    ai = 0
    now = 0.0
    while ai < n or heap:
        why = None  # set when the request gives up on the dependency: ERROR or REJECTED (by the breaker)
        if heap and (ai >= n or heap[0][0] <= arrival_list[ai]):
            now, _, kind, i, x, y = pop(heap)
            if kind == _FINISH:  # the request's worker is free again
                latency[i] = now - arrival_list[i]
                outcome[i] = x
                busy -= 1
                continue
            if kind == _DONE:  # a dependency call's answer (or timeout) reached the service
                if not x:
                    if breaker is not None:
                        breaker.record_success(now, y)
                    good_at = now
                    if cache is not None:
                        cache.store(now, now)
                    t = now + local
                    if t > now:
                        if local_on:
                            freed_at.append(t)
                            freed_who.append(i)
                        else:
                            seq += 1
                            push(heap, (t, seq, _FINISH, i, SUCCESS, 0.0))
                    else:
                        latency[i] = t - arrival_list[i]
                        outcome[i] = SUCCESS
                        busy -= 1
                    continue
                if breaker is not None:
                    breaker.record_failure(now, y)
                k = attempts[i] = attempts[i] + 1
                if k <= max_retries and (budget is None or budget.can_retry(now)):
                    b = int(now / bw)
                    retries[b if b < last_bin else last_bin] += 1
                    seq += 1
                    d, u = backoffs[k], jitter()  # RetryPolicy.delay(k, u), step for step
                    if jitter_kind == 1:
                        d = d * u
                    elif jitter_kind == 2:
                        d = d / 2 + d / 2 * u
                    push(heap, (now + d, seq, _RETRY, i, 0, 0.0))
                    continue
                why = ERROR
            # _RETRY: the retry's call starts now (below), in this bin
            b = int(now / bw)
            if b > last_bin:
                b = last_bin
        else:  # the next request arrives
            now = arrival_list[ai]
            i = ai
            ai += 1
            if local_on:  # the releases after local work up to now (ties first, as the heap ordered them)
                k = bisect_right(freed_at, now, freed)
                busy -= k - freed
                freed = k
            if busy >= pool:
                pool_full[i] = True
                continue
            busy += 1
            b = arrival_bin[i]
            if busy > pool_peak[b]:
                pool_peak[b] = busy
            if not needs_list[i]:
                t = now + local
                if t > now:
                    if local_on:
                        freed_at.append(t)
                        freed_who.append(i)
                    else:
                        seq += 1
                        push(heap, (t, seq, _FINISH, i, SUCCESS, 0.0))
                else:
                    latency[i] = t - arrival_list[i]
                    outcome[i] = SUCCESS
                    busy -= 1
                continue
            if budget is not None:
                budget.record_request(now)
        if why is None:  # a call to the dependency: the breaker may reject it, the dependency may shed it
            # a closed breaker's allow() only notes the time and says yes: asked only when not closed
            if breaker is not None and breaker._state != "closed" and not breaker.allow(now):
                why = REJECTED
            else:  # b: the bin of now (set above, on arrival or for the retry)
                dep_calls[b] += 1
                if breaker is not None:
                    if breaker._state == "closed":
                        breaker._now = now  # what allow() would have noted
                    elif breaker._state == "half_open":
                        trials[b] += 1
                edge = now - 1.0
                while recent and recent[0] <= edge:
                    recent.popleft()
                seq += 1
                if len(recent) >= capacity:
                    shed[b] += 1
                    push(heap, (now + SHED_LATENCY, seq, _DONE, i, 1, SHED_LATENCY))
                    continue
                recent.append(now)
                k = 0 if one_phase else bisect_right(starts_list, now) - 1
                took = lat_list[k] * exp(sigma * normal())
                failed = uniform() < fail_list[k]
                if took > timeout:
                    push(heap, (now + timeout, seq, _DONE, i, 1, timeout))
                else:
                    push(heap, (now + took, seq, _DONE, i, int(failed), took))
                continue
        # give up on the dependency: the fallback answers (at once or after a while), or the error stands
        if fixed is not None:
            ok, answer_age, answer_latency = fixed
        elif last_good:
            ok = good_at is not None and (max_age is None or not now - good_at > max_age)
            answer_age, answer_latency = (now - good_at if ok else None), 0.0
        else:
            res = fallback.serve(now, cache)
            ok, answer_age, answer_latency = res.ok, res.age, res.latency
        if ok:
            if answer_age is not None:
                age[i] = answer_age
            t = now + answer_latency
            if t > now:
                twin = None
                seq += 1
                push(heap, (t, seq, _FINISH, i, FALLBACK, 0.0))
                continue
            if twin is not None:
                twin.append(i)
                twin_told.append(why)
            why = FALLBACK
        latency[i] = now - arrival_list[i]
        outcome[i] = why
        busy -= 1

    latency_arr = np.asarray(latency, dtype=float)
    outcome_arr = np.asarray(outcome, dtype=np.int8)
    if freed_who:  # the requests released after local work: a success, answered when the worker was free
        who = np.asarray(freed_who, dtype=np.intp)
        latency_arr[who] = np.asarray(freed_at, dtype=float) - arrival[who]
        outcome_arr[who] = SUCCESS
    result = SimulationResult(
        config=c,
        arrival=_read_only(arrival),
        latency=_read_only(latency_arr),
        outcome=_read_only(outcome_arr),
        needs_dependency=_read_only(needs),
        pool_full=_read_only(np.asarray(pool_full, dtype=bool)),
        fallback_age=_read_only(np.asarray(age, dtype=float)),
        dependency_calls=_read_only(np.asarray(dep_calls, dtype=np.int64)),
        trial_calls=_read_only(np.asarray(trials, dtype=np.int64)),
        retries=_read_only(np.asarray(retries, dtype=np.int64)),
        shed=_read_only(np.asarray(shed, dtype=np.int64)),
        pool_peak=_read_only(np.asarray(pool_peak, dtype=np.int64)),
        transitions=breaker.transitions if breaker is not None else (),
        budget_denied=budget.denied if budget is not None else 0,
    )
    if twin is None:
        return result, None
    told = np.array(result.outcome)
    if twin:
        told[np.asarray(twin, dtype=np.intp)] = twin_told
    return result, replace(
        result,
        config=replace(c, fallback=FailFast()),
        outcome=_read_only(told),
        fallback_age=_read_only(np.full(n, math.nan)),
    )


# -- three ways side by side -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    label: str
    description: str
    breaker: bool
    fallback: bool


VARIANTS = MappingProxyType({
    "none": Variant("No breaker", "Every call goes to the dependency; its failures reach the caller.", False, False),
    "breaker": Variant("Breaker", "The breaker rejects calls while open; a rejected call is a fast error.", True,
                       False),
    "fallback": Variant("Breaker + fallback", "The breaker as before, and the fallback answers for every call "
                        "that fails or is rejected.", True, True),
})  # fmt: skip


def variant_config(config: SimulationConfig, variant: str) -> SimulationConfig:
    v = VARIANTS[checks.one_of("variant", variant, VARIANTS)]
    if v.breaker and config.breaker is None:
        raise ValueError("breaker must be a policy to run the breaker variants (got breaker=None)")
    return replace(
        config,
        breaker=config.breaker if v.breaker else None,
        fallback=config.fallback if v.fallback else FailFast(),
    )


@dataclass(frozen=True)
class Comparison:
    """The runs of one config, one per variant (plain tuples, so that a page's cache can pickle it)."""

    config: SimulationConfig
    variants: tuple[str, ...]
    results: tuple[SimulationResult, ...]

    @property
    def runs(self) -> dict[str, SimulationResult]:
        """Variant name -> its run, in VARIANTS order."""
        return dict(zip(self.variants, self.results, strict=True))

    def __getitem__(self, variant: str) -> SimulationResult:
        return self.results[self.variants.index(checks.one_of("variant", variant, self.variants))]


def compare(config: SimulationConfig, baseline: SimulationResult | None = None) -> Comparison:
    """The same requests three ways: no breaker, the breaker failing fast, the breaker with the fallback.

    ``baseline``: the run without a breaker, if already at hand (``run(variant_config(config, "none"))``, which
    does not depend on the breaker or the fallback: a page keeps it while only those change)."""
    configs = {v: variant_config(config, v) for v in VARIANTS}
    if baseline is not None and (
        not isinstance(baseline, SimulationResult) or baseline.config != configs["none"]
    ):
        raise ValueError(
            "baseline must be the run of this config without a breaker, run(variant_config(config, 'none')) "
            f"(got a baseline of config={getattr(baseline, 'config', baseline)!r})"
        )
    results = {"none": baseline if baseline is not None else run(configs["none"])}
    results["fallback"], twin = _run(configs["fallback"], fail_fast_twin=True)
    # the breaker alone is the fallback's run with other labels, unless a fallback answer took time
    results["breaker"] = twin if twin is not None else run(configs["breaker"])
    return Comparison(config, tuple(VARIANTS), tuple(results[v] for v in VARIANTS))
