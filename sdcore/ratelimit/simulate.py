"""Run a whole trace through a limiter at once, fast, with every decision and the state after each one.

``simulate(limiter, timestamps, keys)`` gives exactly the decisions, ``remaining`` and ``retry_after`` that
calling ``limiter.allow(t, key)`` for each request in order would give on a limiter that has seen nothing
yet. It runs on a fresh copy of the limiter's configuration: it neither reads nor changes the limiter's
store (so it always runs in memory, whatever the store).

Speed: what can be vectorized is (fixed window: a running count per window; the textbook sliding log: a
``searchsorted`` count of every earlier request in the window). The rest is a short loop over plain
Python ints that records only what cannot be recovered afterwards (the decision, the bucket level, the
departure); remaining, retry_after and the state are then computed with numpy from the same integer
formulas as :mod:`sdcore.ratelimit.steps`. Traces with several clients are grouped by client once (a
stable sort of their codes) and every kernel runs over all clients together, then the arrays are
scattered back: the number of clients costs only the sort. The window algorithms skip, with numpy, every
client that no limit could touch (with all its requests admitted it stays under the limit), so the loop
runs only over the clients that are limited, from their first request that could be rejected.

For charts over long spans: :func:`time_step` (a cursor step for any span) and :func:`bin_counts`
(admitted and rejected requests per bin, when there are more points than a browser draws comfortably).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

from sdcore import checks
from sdcore.ratelimit.limiters import (
    ALGORITHMS,
    GCRA,
    FixedWindowCounter,
    LeakingBucket,
    Limiter,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
)
from sdcore.ratelimit.units import MAX_TIME_S, MICROS_PER_SECOND, to_micros

MICRO = MICROS_PER_SECOND
STATE_LABELS = MappingProxyType(
    {
        "token_bucket": "tokens",
        "leaking_bucket": "queue length",
        "fixed_window": "window count",
        "sliding_log": "log size",
        "sliding_window_counter": "estimate",
        "gcra": "allowance",
    }
)


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Per-request arrays (request order), ready for charts.

    - ``time_us``: the time each decision used, in microseconds (a time earlier than the client's previous
      request is raised to it).
    - ``retry_after``: seconds, NaN when allowed. ``departure``: leaking bucket only (else ``None``):
      seconds, NaN when rejected.
    - ``state``: the algorithm's state for that client after the request: tokens (token bucket), queue
      length (leaking bucket), admitted count in the current window (fixed window), requests in the log
      within the window (sliding log), estimate counting this request if admitted (sliding window
      counter). ``state_label`` names it.
    """

    algorithm: str
    label: str
    limit: int
    params: MappingProxyType
    timestamps: np.ndarray
    keys: np.ndarray | None
    time_us: np.ndarray
    allowed: np.ndarray
    remaining: np.ndarray
    retry_after: np.ndarray
    departure: np.ndarray | None
    state: np.ndarray
    state_label: str

    def __len__(self) -> int:
        return len(self.allowed)

    @property
    def accepted(self) -> int:
        return int(np.count_nonzero(self.allowed))

    @property
    def rejected(self) -> int:
        return len(self) - self.accepted

    @property
    def window(self) -> float | None:
        """The window in seconds (``None`` for the two buckets)."""
        w = self.params.get("window_us")
        return None if w is None else w / MICRO

    def _state_of(self, algorithm: str, name: str) -> np.ndarray:
        if self.algorithm != algorithm:
            raise AttributeError(
                f"{name} is kept only by the {ALGORITHMS[algorithm].lower()} (this is {self.label})"
            )
        return self.state

    @property
    def tokens(self) -> np.ndarray:
        """Token bucket: tokens left after each request (``state``)."""
        return self._state_of("token_bucket", "tokens")

    @property
    def queue_length(self) -> np.ndarray:
        """Leaking bucket: requests waiting after each request (``state``)."""
        return self._state_of("leaking_bucket", "queue_length")

    @property
    def window_count(self) -> np.ndarray:
        """Fixed window: admitted requests in the current window after each request (``state``)."""
        return self._state_of("fixed_window", "window_count")

    @property
    def log_size(self) -> np.ndarray:
        """Sliding log: entries in the window after each request (``state``)."""
        return self._state_of("sliding_log", "log_size")

    @property
    def estimate(self) -> np.ndarray:
        """Sliding window counter: the estimate after each request, counting it if admitted (``state``)."""
        return self._state_of("sliding_window_counter", "estimate")

    def clients(self) -> list[str]:
        """The distinct clients, in order of first appearance."""
        if self.keys is None:
            return ["default"]
        return list(dict.fromkeys(self.keys.tolist()))

    def select(self, key: str) -> SimulationResult:
        """The requests of one client only (same arrays, filtered)."""
        if self.keys is None and key == "default":
            return self  # one client: all of it (also when the trace is empty)
        mask = np.zeros(len(self), dtype=bool) if self.keys is None else self.keys == key
        if not mask.any():
            raise ValueError(
                f"client {key!r} does not appear in this trace (clients: {self._some_clients()})"
            )

        def pick(a):
            return None if a is None else _frozen(a[mask])

        return replace(
            self,
            timestamps=pick(self.timestamps),
            keys=pick(self.keys),
            time_us=pick(self.time_us),
            allowed=pick(self.allowed),
            remaining=pick(self.remaining),
            retry_after=pick(self.retry_after),
            departure=pick(self.departure),
            state=pick(self.state),
        )

    def _some_clients(self) -> str:
        c = self.clients()
        return ", ".join(map(repr, c[:5])) + (f" and {len(c) - 5} more" if len(c) > 5 else "")


# --- kernels: every client at once ---------------------------------------------------------------------
# The requests are grouped by client (stable: each client's requests in arrival order), times in µs and
# already clamped (non-decreasing within a client). ``sg`` marks where each client's requests start. The
# vectorized parts work on all clients together (a searchsorted on (client, time) pairs); the parts that
# must go request by request are one loop over plain ints, and the window algorithms first find, with
# numpy, the clients that cannot be rejected at all (with every request admitted they stay under the
# limit), so the loop runs only over the others. Each kernel returns
# (allowed, remaining, retry_us, departure_us or None, state), in the grouped order.


@dataclass(frozen=True, eq=False)
class _Segments:
    """Where each client's requests start in the grouped order."""

    new: np.ndarray  # bool per request: the first request of its client
    starts: np.ndarray  # index of each client's first request
    seg: np.ndarray  # the client (0, 1, ...) of each request

    @classmethod
    def of(cls, new: np.ndarray) -> _Segments:
        return cls(new, np.flatnonzero(new), np.cumsum(new, dtype=np.int64) - 1)

    @property
    def ends(self) -> np.ndarray:
        return np.r_[self.starts[1:], len(self.new)]


def _run_start(breaks: np.ndarray) -> np.ndarray:
    """For each element, the index where its run starts (``breaks`` marks the first element of each run)."""
    idx = np.arange(len(breaks))
    return np.maximum.accumulate(np.where(breaks, idx, 0))


def _seg_search(
    seg_a: np.ndarray, t_a: np.ndarray, seg_q: np.ndarray, q: np.ndarray, side: str
) -> np.ndarray:
    """``searchsorted`` on (client, time) pairs: for each query ``(seg_q, q)``, how many entries of ``a``
    (sorted by client, then time) belong to an earlier client, or to the same one with a time below ``q``
    (``side='left'``) or at most ``q`` (``'right'``). One searchsorted on a combined integer key: the time
    within the span of the trace if that fits in 62 bits, else the rank of the time among the entries."""
    if len(t_a) == 0:
        return np.zeros(len(q), dtype=np.int64)
    lo = int(t_a.min())
    span = int(t_a.max()) - lo + 2
    n_seg = int(max(seg_a[-1], seg_q.max() if len(seg_q) else 0)) + 1
    if n_seg * span < 2**62:
        comb_a = seg_a * span + (t_a - lo)
        comb_q = seg_q * span + np.clip(q - lo, -1, span - 1)
        return np.searchsorted(comb_a, comb_q, side=side)
    uniq = np.unique(t_a)
    u = len(uniq) + 2
    comb_a = seg_a * u + np.searchsorted(uniq, t_a, side="right")
    comb_q = seg_q * u + np.searchsorted(uniq, q, side=side)
    return np.searchsorted(comb_a, comb_q, side="right")


def _token_bucket(t: np.ndarray, sg: _Segments, capacity_ut: int, rate_uts: int):
    # One int ``level`` in 10**-12 tokens = tokens_ut * 10**6 + carry of the store's state. A client's first
    # request sees a gap long enough to fill the bucket, so one loop runs every client.
    full = capacity_ut * MICRO
    one = MICRO * MICRO
    dt = np.empty(len(t), dtype=np.int64)
    dt[0] = 0
    np.subtract(t[1:], t[:-1], out=dt[1:])
    dt[sg.new] = -(-full // rate_uts)
    level = full
    allowed: list[bool] = []
    levels: list[int] = []
    a, lv = allowed.append, levels.append
    for d in dt.tolist():
        if level < full:
            level += d * rate_uts
            if level > full:
                level = full
        if level >= one:
            level -= one
            a(True)
        else:
            a(False)
        lv(level)
    ok = np.array(allowed, dtype=bool)
    lev = np.array(levels, dtype=np.int64)
    retry = np.where(ok, 0, -((lev - one) // rate_uts))
    return ok, lev // one, retry, None, (lev // MICRO) / MICRO


def _leaking_bucket(t: np.ndarray, sg: _Segments, queue_size: int, interval_us: int):
    slack = (queue_size - 1) * interval_us
    last_dep = 0
    deps: list[int] = []
    d_app = deps.append
    for now, first in zip(t.tolist(), sg.new.tolist(), strict=True):
        if first:
            last_dep = now - interval_us  # as if the previous departure were long enough ago
        if last_dep - now <= slack:
            d = last_dep + interval_us
            last_dep = d if d > now else now
            d_app(last_dep)
        else:
            d_app(-1)
    dep = np.array(deps, dtype=np.int64)
    ok = dep >= 0
    # The latest departure so far, per client: a client's first request is always admitted.
    latest = dep[_run_start(ok)]
    before = np.empty_like(latest)
    before[1:] = latest[:-1]
    before[sg.new] = t[sg.new] - interval_us
    waiting = np.where(ok, -((t - dep) // interval_us), np.maximum(0, -((t - before) // interval_us)))
    retry = np.where(ok, 0, before - slack - t)
    return ok, queue_size - waiting, retry, dep, waiting.astype(np.float64)


def _fixed_window(t: np.ndarray, sg: _Segments, limit: int, window_us: int):
    w = t // window_us
    breaks = sg.new.copy()
    np.logical_or(breaks[1:], w[1:] != w[:-1], out=breaks[1:])
    pos = np.arange(len(t)) - _run_start(breaks)  # admitted or not, earlier requests in the same window
    ok = pos < limit
    count = np.minimum(pos + 1, limit)
    retry = np.where(ok, 0, (w + 1) * window_us - t)
    return ok, limit - count, retry, None, count.astype(np.float64)


def _log_side(inclusive: int) -> str:
    # Half-open (t - W, t]: an entry at t - W has left ('right' counts it among the expired); closed
    # [t - W, t]: it still counts, only entries before t - W have left.
    return "left" if inclusive else "right"


def _sliding_log_all(t: np.ndarray, sg: _Segments, limit: int, window_us: int, inclusive: int):
    idx = np.arange(len(t))
    lower = _seg_search(sg.seg, t, sg.seg, t - window_us, _log_side(inclusive))
    count = idx - lower  # earlier requests of the client in the window
    ok = count < limit
    size = count + 1
    oldest_that_must_go = t[np.maximum(idx + 1 - limit, 0)]
    retry = np.where(ok, 0, oldest_that_must_go + window_us + inclusive - t)
    return ok, np.maximum(0, limit - size), retry, None, size.astype(np.float64)


def _first_hot(sg: _Segments, hot: np.ndarray) -> tuple[list[int], list[int]]:
    """The first hot request of each client that has one, and the end of that client's requests."""
    h = np.flatnonzero(hot)
    if not len(h):
        return [], []
    s = sg.seg[h]
    first = h[np.r_[True, s[1:] != s[:-1]]]
    return first.tolist(), sg.ends[sg.seg[first]].tolist()


def _sliding_log_admitted(t: np.ndarray, sg: _Segments, limit: int, window_us: int, inclusive: int):
    # The window has room iff the limit-th most recent admitted request has left it. A request with fewer
    # than `limit` earlier requests (admitted or not) in its window is admitted whatever happened before,
    # so the loop starts at each client's first request that has `limit` of them ("hot"), with the log of
    # its earlier requests, all admitted; clients with no hot request never enter it.
    side = _log_side(inclusive)
    n = len(t)
    idx = np.arange(n)
    count_all = idx - _seg_search(sg.seg, t, sg.seg, t - window_us, side)
    ok = np.ones(n, dtype=bool)
    gone = window_us + inclusive  # an entry e has left the window at `now` iff e + gone <= now
    tl = t.tolist()
    starts = sg.starts.tolist()
    seg = sg.seg
    for f, e in zip(*_first_hot(sg, count_all >= limit), strict=True):
        log = tl[starts[seg[f]] : f]
        push = log.append
        oldest = -limit
        res: list[bool] = []
        a = res.append
        for now in tl[f:e]:
            if log[oldest] + gone <= now:
                push(now)
                a(True)
            else:
                a(False)
        ok[f:e] = res
    if ok.all():  # nobody was rejected: the log holds every request
        lower = idx - count_all
        times = t
    else:
        adm = np.flatnonzero(ok)
        times = t[adm]
        lower = _seg_search(seg[adm], times, seg, t - window_us, side)
    size = np.cumsum(ok) - lower
    retry = np.where(ok, 0, times[np.minimum(lower, len(times) - 1)] + gone - t)
    return ok, limit - size, retry, None, size.astype(np.float64)


def _counter_runs(t: np.ndarray, sg: _Segments, window_us: int):
    """Runs of requests of one client in one fixed window: (window of each request, run start flags,
    run id of each request, start of each run, whether each run follows its client's previous window)."""
    k = t // window_us
    breaks = sg.new.copy()
    np.logical_or(breaks[1:], k[1:] != k[:-1], out=breaks[1:])
    starts = np.flatnonzero(breaks)
    run_k, run_seg = k[starts], sg.seg[starts]
    adjacent = np.zeros(len(starts), dtype=bool)
    adjacent[1:] = (run_seg[1:] == run_seg[:-1]) & (run_k[1:] == run_k[:-1] + 1)
    return k, breaks, np.cumsum(breaks) - 1, starts, adjacent


def _sliding_window_counter(t: np.ndarray, sg: _Segments, limit: int, window_us: int):
    W = window_us
    lw = limit * W
    n = len(t)
    k, breaks, run_id, starts, adjacent = _counter_runs(t, sg, W)
    run_start = starts[run_id]
    span = (k + 1) * W - t
    # With every request admitted: the estimate before each request. Below the limit everywhere, a
    # client is never rejected; otherwise the loop starts at its first request at or above it.
    pos = np.arange(n) - run_start
    run_len = np.diff(np.r_[starts, n])
    prev_all = np.where(adjacent, np.r_[0, run_len[:-1]], 0)[run_id]
    hot = pos * W + prev_all * span >= lw
    ok = np.ones(n, dtype=bool)
    tl = t.tolist()
    for f, e in zip(*_first_hot(sg, hot), strict=True):
        k_cur, cur, prev = int(k[f]), int(pos[f]), int(prev_all[f])
        end = (k_cur + 1) * W
        res: list[bool] = []
        a = res.append
        for now in tl[f:e]:
            kk = now // W
            if kk != k_cur:
                prev = cur if kk == k_cur + 1 else 0
                cur = 0
                k_cur = kk
                end = (kk + 1) * W
            if cur * W + prev * (end - now) < lw:
                cur += 1
                a(True)
            else:
                a(False)
        ok[f:e] = res
    # Recover current/previous counts per request from the decisions.
    c = np.cumsum(ok)
    before_run = np.where(run_start > 0, c[np.maximum(run_start - 1, 0)], 0)
    cur_after = c - before_run
    run_total = cur_after[np.r_[starts[1:] - 1, n - 1]]
    prev_of = np.where(adjacent, np.r_[0, run_total[:-1]], 0)[run_id]
    num = cur_after * W + prev_of * span
    retry = np.zeros(n, dtype=np.int64)
    rej = np.flatnonzero(~ok)
    if len(rej):
        cu, pr, kk, tt = cur_after[rej], prev_of[rej], k[rej], t[rej]
        el_a = W - ((limit - cu) * W - 1) // np.maximum(pr, 1)
        in_this = (cu < limit) & (el_a < W)
        el_b = np.where(cu > 0, np.maximum(0, W - (lw - 1) // np.maximum(cu, 1)), 0)
        retry[rej] = np.where(
            in_this,
            kk * W + el_a - tt,
            np.where(el_b < W, (kk + 1) * W + el_b - tt, (kk + 2) * W - tt),
        )
    return ok, np.maximum(0, limit - num // W), retry, None, num / W


def _gcra(t: np.ndarray, sg: _Segments, interval_us: int, tolerance_us: int):
    tat = 0
    allowed: list[bool] = []
    tats: list[int] = []
    a, rec = allowed.append, tats.append
    for now, first in zip(t.tolist(), sg.new.tolist(), strict=True):
        if first or tat < now:
            tat = now
        if tat - now <= tolerance_us:
            tat += interval_us
            a(True)
        else:
            a(False)
        rec(tat)
    ok = np.array(allowed, dtype=bool)
    ahead = np.array(tats, dtype=np.int64) - t
    remaining = np.maximum(0, (tolerance_us - ahead) // interval_us + 1)
    retry = np.where(ok, 0, ahead - tolerance_us)
    # The token-bucket view: how many requests would conform right now (fractional).
    return ok, remaining, retry, None, (tolerance_us + interval_us - ahead) / interval_us


_NOT_A_LIMITER = (
    "limiter must be one of the limiters of sdcore.ratelimit (TokenBucket, LeakingBucket, FixedWindowCounter, "
    "SlidingWindowLog, SlidingWindowCounter or GCRA) (got {!r})"
)


def _kernel(limiter: Limiter):
    if not isinstance(limiter, Limiter):
        raise ValueError(_NOT_A_LIMITER.format(limiter))
    p = limiter.params
    if isinstance(limiter, TokenBucket):
        return _token_bucket, (p["capacity_ut"], p["rate_uts"])
    if isinstance(limiter, LeakingBucket):
        return _leaking_bucket, (p["queue_size"], p["interval_us"])
    if isinstance(limiter, FixedWindowCounter):
        return _fixed_window, (p["limit"], p["window_us"])
    if isinstance(limiter, SlidingWindowLog):
        kernel = _sliding_log_all if p["log_rejected"] else _sliding_log_admitted
        return kernel, (p["limit"], p["window_us"], p["inclusive_edge"])
    if isinstance(limiter, SlidingWindowCounter):
        return _sliding_window_counter, (p["limit"], p["window_us"])
    if isinstance(limiter, GCRA):
        return _gcra, (p["interval_us"], p["tolerance_us"])
    raise ValueError(_NOT_A_LIMITER.format(limiter))


def check_timestamps(timestamps) -> np.ndarray:
    """Timestamps as a 1-D float64 array of finite seconds in [0, MAX_TIME_S]; a clear error otherwise."""
    try:
        t = np.asarray(timestamps, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("timestamps must be numbers of seconds") from None
    if t.ndim != 1:
        raise ValueError(f"timestamps must be a flat list of seconds (got an array of shape {t.shape})")
    bad = np.flatnonzero(~np.isfinite(t) | (t < 0) | (t > MAX_TIME_S))
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"timestamps must be finite seconds between 0 and {MAX_TIME_S:,.0f} "
            f"(request {i} has {float(t[i])!r}; {len(bad)} bad in all)"
        )
    return t


def client_codes(keys, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(the client of each request as a code 0, 1, ... in order of first appearance, the client names as
    strings): a hash table (pandas' factorize), not a Python loop, so a million keys take a fraction of a
    second; a ``pandas.Categorical`` is already factorized and costs nothing. Keys are compared as
    ``str(key)``, as ``allow`` receives them."""
    import pandas as pd

    if isinstance(keys, pd.Categorical):
        if len(keys) != n:
            raise ValueError(f"keys must have one client per timestamp ({len(keys)} keys for {n} timestamps)")
        codes, uniques = keys.codes.astype(np.int64), list(keys.categories)
        if n and codes.min() < 0:
            codes, uniques = pd.factorize(np.asarray(keys, dtype=object), use_na_sentinel=False)
    else:
        arr = keys if isinstance(keys, np.ndarray) else np.asarray(list(keys), dtype=object)
        if arr.ndim != 1 or len(arr) != n:
            raise ValueError(f"keys must have one client per timestamp ({len(arr)} keys for {n} timestamps)")
        codes, uniques = pd.factorize(arr)
        if n and codes.min() < 0:  # None or NaN among the keys: a client of its own, named as str() does
            codes, uniques = pd.factorize(arr.astype(object), use_na_sentinel=False)
    names = [str(u) for u in uniques]
    if len(set(names)) < len(names):  # two keys that differ but print the same: one client, as in allow
        remap, merged = pd.factorize(np.array(names, dtype=object))
        codes, names = remap[codes], list(merged)
    return np.asarray(codes, dtype=np.int64), np.array(names, dtype=object)


def _clamp(t: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Raise each time earlier than its client's previous one to it (a running maximum per client)."""
    back = np.flatnonzero((t[1:] < t[:-1]) & ~new[1:]) + 1
    if not len(back):
        return t
    t = t.copy()
    starts = np.flatnonzero(new)
    for s in np.unique(starts[np.searchsorted(starts, back, side="right") - 1]).tolist():
        e = int(starts[np.searchsorted(starts, s, side="right")]) if s < starts[-1] else len(t)
        np.maximum.accumulate(t[s:e], out=t[s:e])
    return t


def simulate(limiter: Limiter, timestamps: Sequence[float] | np.ndarray, keys=None) -> SimulationResult:
    """Decide every request of a trace with ``limiter``'s configuration, starting from an empty state.

    ``timestamps``: seconds, in arrival order (not necessarily sorted: a time earlier than the same
    client's previous one is raised to it, exactly as ``allow`` does). ``keys``: one client per request
    (strings, or anything ``str`` names: integer codes are fastest), or ``None`` for a single client.
    Equals ``[limiter_copy.allow(t, k) for t, k in zip(timestamps, keys)]`` on a fresh copy.

    The requests are grouped by client once (a stable sort of the client codes) and every kernel runs
    over all clients together, so the number of clients costs nothing but the sort.
    """
    kernel, args = _kernel(limiter)
    t = check_timestamps(timestamps)
    n = len(t)
    t_us = np.rint(t * MICRO).astype(np.int64)
    key_arr = None
    order = None
    if keys is not None:
        codes, names = client_codes(keys, n)
        key_arr = names[codes]
        if len(names) > 1:
            order = np.argsort(codes, kind="stable")
            codes = codes[order]
            t_us = t_us[order]
        new = np.empty(n, dtype=bool)
        if n:
            new[0] = True
            np.not_equal(codes[1:], codes[:-1], out=new[1:])
    else:
        new = np.zeros(n, dtype=bool)
        new[:1] = True

    out_allowed = np.zeros(n, dtype=bool)
    out_remaining = np.zeros(n, dtype=np.int64)
    out_retry = np.zeros(n, dtype=np.int64)
    out_dep = np.full(n, -1, dtype=np.int64) if isinstance(limiter, LeakingBucket) else None
    out_state = np.zeros(n, dtype=np.float64)
    time_us = np.zeros(n, dtype=np.int64)
    if n:
        clamped = _clamp(t_us, new)
        ok, rem, ret, dep, st = kernel(clamped, _Segments.of(new), *args)
        where = slice(None) if order is None else order
        time_us[where] = clamped
        out_allowed[where] = ok
        out_remaining[where] = rem
        out_retry[where] = ret
        out_state[where] = st
        if out_dep is not None:
            out_dep[where] = dep

    retry_after = np.where(out_allowed, np.nan, out_retry / MICRO)
    departure = None if out_dep is None else np.where(out_allowed, out_dep / MICRO, np.nan)
    return SimulationResult(
        algorithm=limiter.algorithm,
        label=limiter.label,
        limit=limiter.limit,
        params=limiter.params,
        timestamps=_frozen(t.copy()),
        keys=None if key_arr is None else _frozen(key_arr),
        time_us=_frozen(time_us),
        allowed=_frozen(out_allowed),
        remaining=_frozen(out_remaining),
        retry_after=_frozen(retry_after),
        departure=None if departure is None else _frozen(departure),
        state=_frozen(out_state),
        state_label=STATE_LABELS[limiter.algorithm],
    )


def state_curve(result: SimulationResult, times) -> np.ndarray:
    """The state of a one-client simulation at each of ``times`` (seconds), as the store would hold it if
    nothing arrived after the last request at or before that time: tokens refill, the queue drains,
    windows expire. At a request's time it equals ``result.state`` of the last request at that time.
    For a trace with several clients pass ``result.select(key)``."""
    if len(result.clients()) > 1:
        raise ValueError(
            f"this trace has {len(result.clients())} clients; pass result.select(key) for one of them "
            f"({result._some_clients()})"
        )
    now = np.rint(check_timestamps(times) * MICRO).astype(np.int64)
    t, p = result.time_us, result.params
    idx = np.searchsorted(t, now, side="right") - 1
    seen = idx >= 0
    j = np.maximum(idx, 0)
    if result.algorithm == "token_bucket":
        cap = p["capacity_ut"] / MICRO
        if not len(t):
            return np.full(len(now), cap)
        refilled = result.state[j] + (now - t[j]) * (p["rate_uts"] / MICRO / MICRO)
        return np.where(seen, np.minimum(cap, refilled), cap)
    if not len(t):
        return np.zeros(len(now))
    if result.algorithm == "leaking_bucket":
        dep_us = np.where(result.allowed, np.rint(np.nan_to_num(result.departure, nan=-1.0) * MICRO), -1)
        last_dep = np.maximum.accumulate(dep_us.astype(np.int64))[j]
        return np.where(seen, np.maximum(0, -((now - last_dep) // p["interval_us"])), 0).astype(np.float64)
    W = p["window_us"]
    if result.algorithm == "fixed_window":
        return np.where(seen & (now // W == t[j] // W), result.state[j], 0.0)
    admitted = t[result.allowed]
    up_to = np.cumsum(result.allowed)[j]  # admitted requests at or before each time
    if result.algorithm == "sliding_log":
        side = _log_side(p.get("inclusive_edge", 0))
        if p["log_rejected"]:
            inside = j + 1 - np.searchsorted(t, now - W, side=side)
        else:
            inside = up_to - np.searchsorted(admitted, now - W, side=side)
        return np.where(seen, np.maximum(inside, 0), 0).astype(np.float64)
    k = now // W
    lo_cur = np.searchsorted(admitted, k * W, side="left")
    cur = np.maximum(up_to - lo_cur, 0)
    prev = lo_cur - np.searchsorted(admitted, (k - 1) * W, side="left")
    return np.where(seen, (cur * W + prev * ((k + 1) * W - now)) / W, 0.0)


@dataclass(frozen=True)
class StateAt:
    """A limiter's state for one client at a time cursor, if nothing arrived after the last request."""

    time: float
    label: str  # what ``value`` is: tokens, queue length, ...
    value: float
    accepted: int  # requests of this client admitted up to the cursor
    rejected: int
    last_index: int  # index (within the client's requests) of the last request at or before the cursor; -1


def state_at(result: SimulationResult, t: float, key: str | None = None) -> StateAt:
    """The state of ``key``'s limiter at time ``t`` (seconds), for a time slider: the state after the last
    request at or before ``t``, moved forward to ``t`` (see :func:`state_curve`). ``key`` may be left out
    when the trace has one client."""
    if key is None:
        clients = result.clients()
        if len(clients) > 1:
            raise ValueError(
                f"this trace has {len(clients)} clients; pass key= to choose one ({result._some_clients()})"
            )
        key = clients[0]
    r = result.select(key)
    i = int(np.searchsorted(r.time_us, to_micros(t), side="right")) - 1
    accepted = int(np.count_nonzero(r.allowed[: i + 1]))
    value = float(state_curve(r, [t])[0])
    return StateAt(float(t), r.state_label, value, accepted, i + 1 - accepted, i)


def time_slice(
    result: SimulationResult, start: float, end: float, keep_state: bool = True
) -> SimulationResult:
    """The requests in ``[start, end]`` for a zoomed chart. With ``keep_state`` (one client) also the last
    request and the last admitted one before ``start``, so a state curve drawn from the slice is exact from
    ``start`` on for the buckets; the window algorithms need the slice to begin a window or two earlier
    (the page passes ``start - 2 W``)."""
    t = result.time_us
    a, b = round(start * 1e6), round(end * 1e6)
    keep = (t >= a) & (t <= b)
    if keep_state:
        for mask in (t < a, (t < a) & result.allowed):
            idx = np.flatnonzero(mask)
            if len(idx):
                keep[idx[-1]] = True
    if keep.all():
        return result

    def pick(x):
        if x is None:
            return None
        y = x[keep]
        y.flags.writeable = False
        return y

    names = ("timestamps", "keys", "time_us", "allowed", "remaining", "retry_after", "departure", "state")
    return replace(result, **{n: pick(getattr(result, n)) for n in names})


# --- time cursors and binned charts over any span -------------------------------------------------------

_NICE = (1.0, 2.0, 5.0)
MIN_STEP_S = 0.000001  # the limiters decide in whole microseconds


def _nice(x: float) -> float:
    """The largest 1, 2 or 5 x 10^k not above ``x`` (as the float closest to that decimal)."""
    k = math.floor(math.log10(x))
    for m in reversed(_NICE):
        v = float(f"{m:g}e{k}")  # %g on purpose: a computation, not a sentence
        if v <= x * (1 + 1e-12):
            return v
    return float(f"5e{k - 1}")


def time_step(lo: float, hi: float) -> float:
    """A round step for a time cursor over ``[lo, hi]`` seconds: 1, 2 or 5 x 10^k seconds, the largest
    that still gives at least 200 stops, so there are 200 to 500 of them, for spans from a millisecond
    to months. Always a float (a slider whose step is an int would snap a float value to whole seconds),
    never below a microsecond (the limiters' resolution), 1 µs for an empty span."""
    lo, hi = checks.real_number("lo", lo), checks.real_number("hi", hi)
    if hi < lo:
        raise ValueError(f"hi must be at least lo (got lo={lo!r}, hi={hi!r})")
    span = hi - lo
    if span <= 0:
        return MIN_STEP_S
    return max(MIN_STEP_S, _nice(span / 200))


@dataclass(frozen=True, eq=False)
class Bins:
    """Requests counted in bins of ``width`` seconds from ``start``: bin i is
    ``[start + i * width, start + (i + 1) * width)`` (the last one also holds ``hi``)."""

    start: float
    width: float
    admitted: np.ndarray
    rejected: np.ndarray

    def __len__(self) -> int:
        return len(self.admitted)

    @property
    def edges(self) -> np.ndarray:
        return self.start + self.width * np.arange(len(self) + 1)

    @property
    def centers(self) -> np.ndarray:
        return self.start + self.width * (np.arange(len(self)) + 0.5)

    @property
    def total(self) -> np.ndarray:
        return self.admitted + self.rejected


def bin_counts(timestamps, allowed, lo: float, hi: float, max_bins: int = 500) -> Bins:
    """Admitted and rejected requests per bin over ``[lo, hi]`` seconds, for a chart with more requests
    than a browser draws comfortably. The bin width is a round 1, 2 or 5 x 10^k seconds (at least 1 µs),
    the smallest that needs at most ``max_bins`` bins; bins start at a multiple of the width at or
    before ``lo``. Requests outside ``[lo, hi]`` are left out."""
    t = check_timestamps(timestamps)
    ok = np.asarray(allowed, dtype=bool)
    if ok.shape != t.shape:
        raise ValueError(f"allowed must have one value per timestamp ({ok.size} for {t.size} timestamps)")
    max_bins = checks.int_between("max_bins", max_bins, 1, 1_000_000)
    lo, hi = checks.real_number("lo", lo), checks.real_number("hi", hi)
    if hi < lo:
        raise ValueError(f"hi must be at least lo (got lo={lo!r}, hi={hi!r})")
    width = max(MIN_STEP_S, _nice((hi - lo) / max_bins)) if hi > lo else MIN_STEP_S

    def n_bins(w: float) -> int:
        return math.floor((hi - math.floor(lo / w) * w) / w) + 1

    while n_bins(width) > max_bins:
        width = _nice_up(width)
    start = math.floor(lo / width) * width
    n_bins = n_bins(width)
    keep = (t >= lo) & (t <= hi)
    idx = np.minimum(((t[keep] - start) // width).astype(np.int64), n_bins - 1)
    admitted = np.bincount(idx[ok[keep]], minlength=n_bins)[:n_bins]
    rejected = np.bincount(idx[~ok[keep]], minlength=n_bins)[:n_bins]
    return Bins(float(start), float(width), _frozen(admitted), _frozen(rejected))


def _nice_up(v: float) -> float:
    """The next round value above ``v`` (1 -> 2 -> 5 -> 10)."""
    k = math.floor(math.log10(v) + 1e-12)
    m = round(v / 10**k)
    return float(f"{2 if m == 1 else 5 if m == 2 else 1}e{k + (1 if m == 5 else 0)}")
