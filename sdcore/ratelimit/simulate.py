"""Run a whole trace through a limiter at once, fast, with every decision and the state after each one.

``simulate(limiter, timestamps, keys)`` gives exactly the decisions, ``remaining`` and ``retry_after`` that
calling ``limiter.allow(t, key)`` for each request in order would give on a limiter that has seen nothing
yet. It runs on a fresh copy of the limiter's configuration: it neither reads nor changes the limiter's
store (so it always runs in memory, whatever the store).

Speed: what can be vectorized is (fixed window: a running count per window; the textbook sliding log: a
``searchsorted`` count of every earlier request in the window). The rest is a short loop over plain
Python ints that records only what cannot be recovered afterwards (the decision, the bucket level, the
departure); remaining, retry_after and the state are then computed with numpy from the same integer
formulas as :mod:`sdcore.ratelimit.steps`. Traces with several clients are grouped by client (stable),
run per client and scattered back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType

import numpy as np

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
        if self.keys is None:
            mask = np.ones(len(self), dtype=bool) if key == "default" else np.zeros(len(self), dtype=bool)
        else:
            mask = self.keys == key
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


# --- kernels: one client, times in µs, already clamped (non-decreasing) -------------------------------
# Each returns (allowed, remaining, retry_us, departure_us or None, state).


def _token_bucket(t: np.ndarray, capacity_ut: int, rate_uts: int):
    # One int ``level`` in 10**-12 tokens = tokens_ut * 10**6 + carry of the store's state.
    full = capacity_ut * MICRO
    one = MICRO * MICRO
    level = full
    last = int(t[0])
    allowed: list[bool] = []
    levels: list[int] = []
    a, lv = allowed.append, levels.append
    for now in t.tolist():
        if level < full:
            level += (now - last) * rate_uts
            if level > full:
                level = full
        last = now
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


def _leaking_bucket(t: np.ndarray, queue_size: int, interval_us: int):
    slack = (queue_size - 1) * interval_us
    last_dep = int(t[0]) - interval_us  # as if the previous departure were long enough ago
    deps: list[int] = []
    d_app = deps.append
    for now in t.tolist():
        if last_dep - now <= slack:
            d = last_dep + interval_us
            last_dep = d if d > now else now
            d_app(last_dep)
        else:
            d_app(-1)
    dep = np.array(deps, dtype=np.int64)
    ok = dep >= 0
    latest = np.maximum.accumulate(dep)  # departures grow, the first request is always admitted
    before = np.empty_like(latest)
    before[0] = t[0] - interval_us
    before[1:] = latest[:-1]
    waiting = np.where(ok, -((t - dep) // interval_us), np.maximum(0, -((t - before) // interval_us)))
    retry = np.where(ok, 0, before - slack - t)
    return ok, queue_size - waiting, retry, dep, waiting.astype(np.float64)


def _segment_position(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a sorted array: (start index of each run of equal values, index of each element's run start)."""
    n = len(keys)
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    idx = np.arange(n)
    return np.flatnonzero(new), np.maximum.accumulate(np.where(new, idx, 0))


def _fixed_window(t: np.ndarray, limit: int, window_us: int):
    w = t // window_us
    _, run_start = _segment_position(w)
    pos = np.arange(len(t)) - run_start  # admitted or not, earlier requests in the same window
    ok = pos < limit
    count = np.minimum(pos + 1, limit)
    retry = np.where(ok, 0, (w + 1) * window_us - t)
    return ok, limit - count, retry, None, count.astype(np.float64)


def _sliding_log_all(t: np.ndarray, limit: int, window_us: int):
    idx = np.arange(len(t))
    count = idx - np.searchsorted(t, t - window_us, side="right")  # earlier requests in (t - W, t]
    ok = count < limit
    size = count + 1
    oldest_that_must_go = t[np.maximum(idx + 1 - limit, 0)]
    retry = np.where(ok, 0, oldest_that_must_go + window_us - t)
    return ok, np.maximum(0, limit - size), retry, None, size.astype(np.float64)


def _sliding_log_admitted(t: np.ndarray, limit: int, window_us: int):
    # The window has room iff the limit-th most recent admitted request has left it: log[-limit] + W <= now.
    # The log starts with `limit` entries old enough to have left any window, so no length check is needed.
    log = [int(t[0]) - window_us] * limit
    allowed: list[bool] = []
    a, push = allowed.append, log.append
    oldest = -limit
    for now in t.tolist():
        if log[oldest] + window_us <= now:
            push(now)
            a(True)
        else:
            a(False)
    ok = np.array(allowed, dtype=bool)
    times = np.array(log[limit:], dtype=np.int64)
    lower = np.searchsorted(times, t - window_us, side="right")
    size = np.cumsum(ok) - lower
    retry = np.where(ok, 0, times[np.minimum(lower, len(times) - 1)] + window_us - t)
    return ok, limit - size, retry, None, size.astype(np.float64)


def _sliding_window_counter(t: np.ndarray, limit: int, window_us: int):
    W = window_us
    lw = limit * W
    k_cur = -2
    cur = prev = 0
    end = 0
    allowed: list[bool] = []
    a = allowed.append
    for now in t.tolist():
        k = now // W
        if k != k_cur:
            prev = cur if k == k_cur + 1 else 0
            cur = 0
            k_cur = k
            end = (k + 1) * W
        if cur * W + prev * (end - now) < lw:
            cur += 1
            a(True)
        else:
            a(False)
    ok = np.array(allowed, dtype=bool)
    # Recover current/previous counts per request from the decisions.
    k = t // W
    starts, run_start = _segment_position(k)
    c = np.cumsum(ok)
    before_run = np.where(run_start > 0, c[run_start - 1], 0)
    cur_after = c - before_run
    run_total = cur_after[np.r_[starts[1:] - 1, len(t) - 1]]
    run_k = k[starts]
    run_prev = np.zeros(len(starts), dtype=np.int64)
    adjacent = run_k[1:] == run_k[:-1] + 1
    run_prev[1:] = np.where(adjacent, run_total[:-1], 0)
    prev_of = run_prev[np.searchsorted(starts, run_start)]
    span = (k + 1) * W - t
    num = cur_after * W + prev_of * span
    retry = np.zeros(len(t), dtype=np.int64)
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


def _gcra(t: np.ndarray, interval_us: int, tolerance_us: int):
    tat = int(t[0])
    allowed: list[bool] = []
    tats: list[int] = []
    a, rec = allowed.append, tats.append
    for now in t.tolist():
        if tat < now:
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


def _kernel(limiter: Limiter):
    if not isinstance(limiter, Limiter):
        raise ValueError(
            f"limiter must be one of the limiters of sdcore.ratelimit (TokenBucket, LeakingBucket, FixedWindowCounter, SlidingWindowLog, SlidingWindowCounter or GCRA) (got {limiter!r})"
        )
    p = limiter.params
    if isinstance(limiter, TokenBucket):
        return _token_bucket, (p["capacity_ut"], p["rate_uts"])
    if isinstance(limiter, LeakingBucket):
        return _leaking_bucket, (p["queue_size"], p["interval_us"])
    if isinstance(limiter, FixedWindowCounter):
        return _fixed_window, (p["limit"], p["window_us"])
    if isinstance(limiter, SlidingWindowLog):
        kernel = _sliding_log_all if p["log_rejected"] else _sliding_log_admitted
        return kernel, (p["limit"], p["window_us"])
    if isinstance(limiter, SlidingWindowCounter):
        return _sliding_window_counter, (p["limit"], p["window_us"])
    if isinstance(limiter, GCRA):
        return _gcra, (p["interval_us"], p["tolerance_us"])
    raise ValueError(
        f"limiter must be one of the limiters of sdcore.ratelimit (TokenBucket, LeakingBucket, FixedWindowCounter, SlidingWindowLog, SlidingWindowCounter or GCRA) (got {limiter!r})"
    )


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


def _group(keys, n: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Stable grouping: (keys as a str array, indices of each client's requests in order)."""
    key_list = keys.tolist() if isinstance(keys, np.ndarray) else list(keys)
    if len(key_list) != n:
        raise ValueError(f"keys must have one client per timestamp ({len(key_list)} keys for {n} timestamps)")
    key_list = [str(k) for k in key_list]
    codes_of: dict[str, int] = {}
    codes = np.fromiter((codes_of.setdefault(k, len(codes_of)) for k in key_list), dtype=np.int64, count=n)
    key_arr = np.array(key_list, dtype=object)
    if len(codes_of) == 1:
        return key_arr, [np.arange(n)]
    order = np.argsort(codes, kind="stable")
    bounds = np.cumsum(np.bincount(codes, minlength=len(codes_of)))[:-1]
    return key_arr, np.split(order, bounds)


def simulate(limiter: Limiter, timestamps: Sequence[float] | np.ndarray, keys=None) -> SimulationResult:
    """Decide every request of a trace with ``limiter``'s configuration, starting from an empty state.

    ``timestamps``: seconds, in arrival order (not necessarily sorted: a time earlier than the same
    client's previous one is raised to it, exactly as ``allow`` does). ``keys``: one client per request, or
    ``None`` for a single client. Equals ``[limiter_copy.allow(t, k) for t, k in zip(timestamps, keys)]``
    on a fresh copy.
    """
    kernel, args = _kernel(limiter)
    t = check_timestamps(timestamps)
    n = len(t)
    t_us = np.rint(t * MICRO).astype(np.int64)
    key_arr, groups = (None, [np.arange(n)]) if keys is None else _group(keys, n)

    allowed = np.zeros(n, dtype=bool)
    remaining = np.zeros(n, dtype=np.int64)
    retry_us = np.zeros(n, dtype=np.int64)
    dep_us = np.full(n, -1, dtype=np.int64) if isinstance(limiter, LeakingBucket) else None
    state = np.zeros(n, dtype=np.float64)
    time_us = np.empty(n, dtype=np.int64)
    for idx in groups if n else []:
        clamped = np.maximum.accumulate(t_us[idx])
        ok, rem, ret, dep, st = kernel(clamped, *args)
        time_us[idx] = clamped
        allowed[idx] = ok
        remaining[idx] = rem
        retry_us[idx] = ret
        state[idx] = st
        if dep_us is not None:
            dep_us[idx] = dep

    retry_after = np.where(allowed, np.nan, retry_us / MICRO)
    departure = None if dep_us is None else np.where(allowed, dep_us / MICRO, np.nan)
    return SimulationResult(
        algorithm=limiter.algorithm,
        label=limiter.label,
        limit=limiter.limit,
        params=limiter.params,
        timestamps=_frozen(t.copy()),
        keys=None if key_arr is None else _frozen(key_arr),
        time_us=_frozen(time_us),
        allowed=_frozen(allowed),
        remaining=_frozen(remaining),
        retry_after=_frozen(retry_after),
        departure=None if departure is None else _frozen(departure),
        state=_frozen(state),
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
        if p["log_rejected"]:
            inside = j + 1 - np.searchsorted(t, now - W, side="right")
        else:
            inside = up_to - np.searchsorted(admitted, now - W, side="right")
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
