"""Tuning a limit from real traffic: what limit would this log have needed, and whom would it have hurt?

>>> import numpy as np
>>> t = np.array([0.0, 0.1, 0.2, 5.0, 0.0, 7.0])
>>> keys = np.array(["a", "a", "a", "a", "b", "b"], dtype=object)
>>> peaks = client_peaks(t, keys, window=1.0)
>>> dict(zip(peaks.clients.tolist(), peaks.peaks.tolist()))
{'a': 3, 'b': 1}
>>> [s.limit for s in suggest_limits(t, keys, window=1.0, share=0.0, algorithms=("sliding_log",))]
[3]

- :func:`client_peaks`: for a window W, each client's peak (the most requests it sent in any window of
  length W) and their distribution.
- :func:`suggest_limits`: per algorithm, the smallest limit, mapped to the algorithm's parameters as
  :func:`~sdcore.ratelimit.limiters.make_limiter` does, at which at most ``share`` of the clients have any
  request rejected. A client is rejected at all only if the run where every one of its requests is
  admitted breaks the rule somewhere, so for the window algorithms each client's own threshold has a
  closed form (the fixed window's busiest window, the log's peak, the counter's largest estimate), and
  the suggestion is an order statistic of those thresholds. For the buckets and GCRA it is found by
  bisection over :func:`~sdcore.ratelimit.simulate.simulate`, between bounds the log's peak gives.
- :func:`limited_clients`: for a chosen limiter, which clients would have been limited, when, and how
  many of their requests; :func:`top_talkers`: the busiest clients and their share of all traffic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from sdcore import checks
from sdcore.ratelimit.limiters import ALGORITHMS, LIMIT_ALGORITHMS, Limiter, make_limiter
from sdcore.ratelimit.simulate import _log_side, _seg_search, check_timestamps, client_codes, simulate
from sdcore.ratelimit.units import MAX_COUNT, MICROS_PER_SECOND, check_window

ALGORITHM_LABELS = MappingProxyType({**ALGORITHMS, "gcra": "GCRA"})


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class _Grouped:
    """A trace grouped by client once: times in µs (clamped as ``allow`` would), each client's requests
    together in arrival order."""

    names: np.ndarray  # client names, in order of first appearance
    seg: np.ndarray  # client code of each request, grouped
    new: np.ndarray  # first request of its client
    t_s: np.ndarray  # seconds, as given
    t_us: np.ndarray
    order: np.ndarray  # grouped position -> request index
    counts: np.ndarray  # requests per client

    @property
    def clients(self) -> int:
        return len(self.names)


def _group(timestamps, keys) -> _Grouped:
    t = check_timestamps(timestamps)
    n = len(t)
    if keys is None:
        codes, names = np.zeros(n, dtype=np.int64), np.array(["default"] if n else [], dtype=object)
    else:
        codes, names = client_codes(keys, n)
    order = np.argsort(codes, kind="stable")
    seg = codes[order]
    new = np.empty(n, dtype=bool)
    new[:1] = True
    np.not_equal(seg[1:], seg[:-1], out=new[1:])
    t_us = np.rint(t[order] * MICROS_PER_SECOND).astype(np.int64)
    back = np.flatnonzero((t_us[1:] < t_us[:-1]) & ~new[1:])
    if len(back):  # a clock that goes back is raised to the client's last time, as allow does
        from sdcore.ratelimit.simulate import _clamp

        t_us = _clamp(t_us, new)
    counts = np.bincount(seg, minlength=len(names))
    return _Grouped(names, seg, new, t[order], t_us, order, counts)


def _per_client_max(g: _Grouped, values: np.ndarray) -> np.ndarray:
    out = np.zeros(g.clients, dtype=np.int64)
    if len(values):
        np.maximum.at(out, g.seg, values)
    return out


def _peaks_us(g: _Grouped, window_us: int, inclusive: bool) -> np.ndarray:
    """Per client, the most requests within any window of length W ending at one of its requests."""
    idx = np.arange(len(g.t_us))
    inside = idx + 1 - _seg_search(g.seg, g.t_us, g.seg, g.t_us - window_us, _log_side(int(inclusive)))
    return _per_client_max(g, inside)


@dataclass(frozen=True, eq=False)
class PeakDistribution:
    """Each client's peak: the most requests it sent in any window of ``window`` seconds (``(t - W, t]``,
    or ``[t - W, t]`` with ``inclusive_edge``), busiest client first."""

    window: float
    inclusive_edge: bool
    clients: np.ndarray  # names, by peak (descending), ties by volume then first appearance
    peaks: np.ndarray
    requests: np.ndarray  # each client's requests in the whole trace

    def __len__(self) -> int:
        return len(self.clients)

    def percentile(self, q: float) -> int:
        """The peak that ``q`` percent of the clients stay at or under (nearest rank): the limit that
        would leave ``100 - q`` percent of clients able to be rejected somewhere."""
        q = checks.number_between("q", q, 0, 100)
        if not len(self):
            return 0
        rank = max(1, math.ceil(q / 100 * len(self) - 1e-9))
        return int(np.sort(self.peaks)[rank - 1])

    def histogram(self) -> tuple[np.ndarray, np.ndarray]:
        """(peak values present, how many clients have each), for a bar chart."""
        values, counts = np.unique(self.peaks, return_counts=True)
        return _frozen(values), _frozen(counts)


def client_peaks(timestamps, keys, window: float, inclusive_edge: bool = False) -> PeakDistribution:
    """The per-client peak in any window of ``window`` seconds and its distribution (see
    :class:`PeakDistribution`); ``keys=None`` is one client."""
    window_us = check_window("window", window)
    inclusive_edge = checks.boolean("inclusive_edge", inclusive_edge)
    g = _group(timestamps, keys)
    peaks = _peaks_us(g, window_us, inclusive_edge)
    order = np.lexsort((np.arange(g.clients), -g.counts, -peaks))
    return PeakDistribution(
        float(window),
        inclusive_edge,
        _frozen(g.names[order]),
        _frozen(peaks[order]),
        _frozen(g.counts[order]),
    )


# --- per client, the smallest limit that never rejects it --------------------------------------------


def _fixed_window_thresholds(g: _Grouped, window_us: int) -> np.ndarray:
    w = g.t_us // window_us
    breaks = g.new.copy()
    np.logical_or(breaks[1:], w[1:] != w[:-1], out=breaks[1:])
    run = np.cumsum(breaks) - 1
    sizes = np.bincount(run)
    return _per_client_max(g, sizes[run])


def _counter_thresholds(g: _Grouped, window_us: int) -> np.ndarray:
    """With every request admitted, the estimate before request i is ``(cur_i * W + prev_i * span_i) / W``;
    it stays below L everywhere iff L > max of it, i.e. L >= max(num // W) + 1 (integers)."""
    from sdcore.ratelimit.simulate import _counter_runs, _Segments

    W = window_us
    n = len(g.t_us)
    k, _, run_id, starts, adjacent = _counter_runs(g.t_us, _Segments.of(g.new), W)
    pos = np.arange(n) - starts[run_id]
    run_len = np.diff(np.r_[starts, n])
    prev = np.where(adjacent, np.r_[0, run_len[:-1]], 0)[run_id]
    num = pos * W + prev * ((k + 1) * W - g.t_us)
    return _per_client_max(g, num // W + 1)


def _thresholds(g: _Grouped, algorithm: str, window_us: int, inclusive_edge: bool) -> np.ndarray | None:
    """Each client's smallest limit with no rejection, where a closed form gives it exactly."""
    if algorithm == "fixed_window":
        return _fixed_window_thresholds(g, window_us)
    if algorithm == "sliding_log":
        return _peaks_us(g, window_us, inclusive_edge)
    if algorithm == "sliding_window_counter":
        return _counter_thresholds(g, window_us)
    return None


def _exact_rate(limiter: Limiter, window_us: int, limit: int) -> bool:
    """Whether the bucket's (or GCRA's) rate is exactly ``limit`` per window, with no rounding to the
    microsecond or micro-token: then a client whose peak in any window is at most ``limit`` is never
    rejected (``m`` requests spanning ``d`` µs number at most ``peak * (1 + d / W)``, which is what the
    bucket refills over that span), so the search can leave those clients out."""
    p = limiter.params
    if "rate_uts" in p:
        return p["rate_uts"] * window_us == limit * MICROS_PER_SECOND**2
    return p["interval_us"] * limit == window_us


def _bad_clients(
    g: _Grouped, algorithm: str, limit: int, window: float, inclusive_edge: bool, peaks: np.ndarray
) -> int:
    """How many clients ``make_limiter(algorithm, limit, window)`` rejects at least once: ``simulate`` on
    the clients that could be rejected (more than ``limit`` requests, as the buckets and GCRA admit any
    first ``limit``; and a peak above ``limit`` when the rate is exact)."""
    lim = make_limiter(algorithm, limit, window, inclusive_edge=inclusive_edge)
    heavy = g.counts > limit
    if _exact_rate(lim, check_window("window", window), limit):
        heavy &= peaks > limit
    if not heavy.any():
        return 0
    rows = heavy[g.seg]
    r = simulate(lim, g.t_s[rows], g.seg[rows])
    rejected = np.bincount(g.seg[rows][~r.allowed], minlength=g.clients)
    return int(np.count_nonzero(rejected))


@dataclass(frozen=True)
class Suggestion:
    """The smallest limit per ``window`` at which at most ``share`` of the clients see a rejection.

    ``limit`` is ``None`` when no limit the limiters accept (at most 1,000,000) is enough.
    ``clients_limited`` is how many clients that limit rejects at least once, of ``clients``;
    ``limiter`` is the limiter it builds (``make_limiter``'s mapping: the buckets hold ``limit`` and refill
    or drain ``limit / window`` per second)."""

    algorithm: str
    label: str
    window: float
    share: float
    limit: int | None
    clients_limited: int
    clients: int
    limiter: Limiter | None

    @property
    def limited_share(self) -> float:
        return self.clients_limited / self.clients if self.clients else 0.0


def _allowed_bad(share: float, clients: int) -> int:
    return math.floor(share * clients + 1e-9)


def _order_statistic(thresholds: np.ndarray, allowed_bad: int) -> int:
    """The smallest L with at most ``allowed_bad`` thresholds above it."""
    if allowed_bad >= len(thresholds):
        return 1
    return max(1, int(np.sort(thresholds)[::-1][allowed_bad]))


def _bisect(bad_at, allowed_bad: int, lo: int, hi: int) -> tuple[int, int]:
    """The smallest L in [lo, hi] with ``bad_at(L) <= allowed_bad`` (non-increasing in L), given that it
    holds at ``hi``. Returns (L, bad_at(L))."""
    best = None
    while lo < hi:
        mid = (lo + hi) // 2
        bad = bad_at(mid)
        if bad <= allowed_bad:
            hi, best = mid, bad
        else:
            lo = mid + 1
    return hi, bad_at(hi) if best is None else best


def suggest_limits(
    timestamps,
    keys,
    window: float,
    share: float = 0.01,
    algorithms: Sequence[str] = LIMIT_ALGORITHMS,
    inclusive_edge: bool = False,
) -> tuple[Suggestion, ...]:
    """Per algorithm, the smallest whole limit per ``window`` seconds at which at most ``share`` (0 to 1)
    of the clients have any request rejected. ``inclusive_edge`` is the sliding log's window edge."""
    window_us = check_window("window", window)
    share = checks.number_between("share", share, 0, 1)
    inclusive_edge = checks.boolean("inclusive_edge", inclusive_edge)
    for a in algorithms:
        checks.one_of("algorithm", a, LIMIT_ALGORITHMS)
    g = _group(timestamps, keys)
    allowed_bad = _allowed_bad(share, g.clients)
    peaks = _peaks_us(g, window_us, False)
    out = []
    for algorithm in algorithms:
        th = _thresholds(g, algorithm, window_us, inclusive_edge)
        if th is not None:
            limit = _order_statistic(th, allowed_bad) if g.clients else 1
            bad = int(np.count_nonzero(th > limit))
        else:
            # A bucket (or GCRA) of L per W admits at most about 2 L in any window of W, and with an exact
            # rate never rejects a client whose peak is at most L: the answer lies near half to all of
            # the log's suggestion. The bounds are checked (widened if the rounding of the rate needs
            # it), then bisected.
            def bad_at(limit: int, algorithm: str = algorithm) -> int:
                return _bad_clients(g, algorithm, limit, window, inclusive_edge, peaks)

            peak_limit = _order_statistic(peaks, allowed_bad) if g.clients else 1
            hi = min(MAX_COUNT, peak_limit)
            bad_hi = bad_at(hi)
            while bad_hi > allowed_bad and hi < MAX_COUNT:
                hi = min(MAX_COUNT, hi * 2)
                bad_hi = bad_at(hi)
            lo = max(1, (peak_limit - 1) // 2)
            while lo > 1 and bad_at(lo - 1) <= allowed_bad:
                lo = max(1, lo // 2)
            limit, bad = _bisect(bad_at, allowed_bad, lo, hi) if bad_hi <= allowed_bad else (MAX_COUNT + 1, 0)
        ok = limit <= MAX_COUNT
        out.append(
            Suggestion(
                algorithm=algorithm,
                label=ALGORITHM_LABELS[algorithm],
                window=float(window),
                share=float(share),
                limit=int(limit) if ok else None,
                clients_limited=int(bad) if ok else g.clients,
                clients=g.clients,
                limiter=make_limiter(algorithm, int(limit), window, inclusive_edge=inclusive_edge)
                if ok
                else None,
            )
        )
    return tuple(out)


# --- who a limit hurts -------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class LimitedClients:
    """The clients a limiter rejected at least once, most rejected first: their requests, how many were
    rejected, and the first and last rejection (seconds of the trace)."""

    label: str
    clients: int  # all clients of the trace
    names: np.ndarray
    requests: np.ndarray
    rejected: np.ndarray
    first_rejected: np.ndarray
    last_rejected: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    @property
    def share(self) -> float:
        """The share of all clients that were limited."""
        return len(self) / self.clients if self.clients else 0.0

    def to_frame(self):
        import pandas as pd

        return pd.DataFrame(
            {
                "client": self.names,
                "requests": self.requests,
                "rejected": self.rejected,
                "rejected_share": self.rejected / np.maximum(self.requests, 1),
                "first_rejected_s": self.first_rejected,
                "last_rejected_s": self.last_rejected,
            }
        )


def limited_clients(timestamps, keys, limiter: Limiter) -> LimitedClients:
    """Run ``limiter`` over the trace (:func:`simulate`) and list the clients it limited."""
    r = simulate(limiter, timestamps, keys)
    n = len(r)
    if keys is None:
        codes, names = np.zeros(n, dtype=np.int64), np.array(["default"], dtype=object)
    else:
        codes, names = client_codes(r.keys, n)
    m = len(names) if n else 0
    requests = np.bincount(codes, minlength=m)
    rej = ~r.allowed
    rejected = np.bincount(codes[rej], minlength=m)
    t = r.time_us / MICROS_PER_SECOND
    first = np.full(m, np.inf)
    last = np.full(m, -np.inf)
    np.minimum.at(first, codes[rej], t[rej])
    np.maximum.at(last, codes[rej], t[rej])
    hit = np.flatnonzero(rejected)
    order = hit[np.lexsort((first[hit], -rejected[hit]))]
    return LimitedClients(
        r.label,
        m,
        _frozen(names[order]),
        _frozen(requests[order]),
        _frozen(rejected[order]),
        _frozen(first[order]),
        _frozen(last[order]),
    )


@dataclass(frozen=True, eq=False)
class TopTalkers:
    """The busiest clients: names, requests and share of all requests (0 to 1), busiest first."""

    names: np.ndarray
    requests: np.ndarray
    shares: np.ndarray
    total: int
    clients: int


def top_talkers(keys, n: int = 10) -> TopTalkers:
    """The ``n`` clients that sent the most requests (ties in order of first appearance)."""
    n = checks.int_between("n", n, 1, 1_000_000)
    arr = keys if isinstance(keys, np.ndarray) else np.asarray(list(keys), dtype=object)
    codes, names = client_codes(arr, len(arr))
    counts = np.bincount(codes, minlength=len(names)) if len(arr) else np.zeros(0, dtype=np.int64)
    order = np.argsort(-counts, kind="stable")[:n]
    total = int(counts.sum())
    return TopTalkers(
        _frozen(names[order]),
        _frozen(counts[order]),
        _frozen(counts[order] / total if total else counts[order].astype(float)),
        total,
        len(names),
    )
