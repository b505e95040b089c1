"""The simulation loop as it was before the retry back-offs, the closed breaker's admission and the arrivals'
bins were written inline (December 2026): the reference the fast loop must equal, array for array."""

# ruff: noqa
from __future__ import annotations

import bisect
import heapq
import math
from collections import deque
from dataclasses import replace

import numpy as np

from sdcore.resilience.breaker import CircuitBreaker
from sdcore.resilience.fallback import FailFast, LastGood, LastGoodCache
from sdcore.resilience.retry import RetryBudget
from sdcore.resilience.simulate import (
    _DONE,
    _FINISH,
    _FIXED_ANSWERS,
    _RETRY,
    ERROR,
    FALLBACK,
    REJECTED,
    SHED_LATENCY,
    SUCCESS,
    SimulationConfig,
    SimulationResult,
    _draws,
    _read_only,
)


def reference_run(
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
    retry_delay = c.retry.delay
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
                    push(heap, (now + retry_delay(k, jitter()), seq, _RETRY, i, 0, 0.0))
                    continue
                why = ERROR
            # _RETRY: the retry's call starts now (below)
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
            b = int(now / bw)
            if b > last_bin:
                b = last_bin
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
            if breaker is not None and not breaker.allow(now):
                why = REJECTED
            else:
                b = int(now / bw)
                if b > last_bin:
                    b = last_bin
                dep_calls[b] += 1
                if breaker is not None and breaker.state == "half_open":
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
