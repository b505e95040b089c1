"""Queueing at every tier, from the formulas: M/M/c (Erlang C), M/M/c/K (a finite queue) and Little's law.

A tier of ``servers`` identical workers, each finishing requests at ``service_rate`` per second, fed by
Poisson arrivals at ``arrival_rate`` per second:

* ``mmc``: the textbook infinite queue. Utilization rho = lambda / (c mu); the probability that a request waits
  is Erlang C; the mean wait is Wq = C / (c mu - lambda). At rho >= 1 the queue grows without bound: no
  steady state, so the waits are ``None`` (never a made-up large number).
* ``mmck``: the same tier with room for ``capacity`` requests in all (those being served plus those
  waiting). A request that finds it full is turned away (an HTTP 503): overload becomes errors and lost
  goodput, the latency of what is served stays bounded. Always has a steady state.
* ``littles_law``: L = lambda W, the number in a system from its arrival rate and time in it.

Rates are per second, times in seconds.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from sdcore import checks

MAX_SERVERS = 100_000
MAX_CAPACITY = 1_000_000


def _arrival_rate(value: object) -> float:
    lam = checks.real_number("arrival_rate", value)
    if lam < 0:
        raise ValueError(f"arrival_rate must be a finite number >= 0 per second (got arrival_rate={value!r})")
    return lam


def erlang_b(offered_load: float, servers: int) -> float:
    """Erlang B (blocking with no queue) by the stable recursion B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, servers + 1):
        b = offered_load * b / (k + offered_load * b)
    return b


@dataclass(frozen=True)
class QueueStats:
    """Steady state of an M/M/c queue. ``p_wait``/``mean_wait``/``mean_response``/``mean_in_queue``/
    ``mean_in_system`` are None when the queue is unstable (``utilization >= 1``)."""

    arrival_rate: float
    service_rate: float
    servers: int
    utilization: float
    stable: bool
    p_wait: float | None
    mean_wait: float | None
    mean_response: float | None
    mean_in_queue: float | None
    mean_in_system: float | None

    @property
    def _drain_rate(self) -> float:
        return self.servers * self.service_rate - self.arrival_rate

    def wait_quantile(self, q: float) -> float | None:
        """The q-quantile of the wait in queue: P(Wq > t) = C exp(-(c mu - lambda) t)."""
        q = checks.number_between("q", q, 0.0, 1.0, lo_open=True)
        if not self.stable:
            return None
        if q >= 1.0:
            return math.inf
        if self.p_wait <= 1.0 - q:
            return 0.0
        return math.log(self.p_wait / (1.0 - q)) / self._drain_rate

    def response_survival(self, t: float) -> float:
        """P(response time > t): wait (0 with probability 1 - C, else Exp(c mu - lambda)) plus Exp(mu)."""
        mu, d, c = self.service_rate, self._drain_rate, self.p_wait
        no_wait = math.exp(-mu * t)
        if abs(d - mu) < 1e-12 * mu:
            waited = (1 + mu * t) * math.exp(-mu * t)  # Erlang(2, mu)
        else:
            waited = (d * math.exp(-mu * t) - mu * math.exp(-d * t)) / (d - mu)
        return (1 - c) * no_wait + c * waited

    def response_quantile(self, q: float) -> float | None:
        """The q-quantile of the response time (wait + service), solved by bisection on the exact survival."""
        q = checks.number_between("q", q, 0.0, 1.0, lo_open=True)
        if not self.stable:
            return None
        if q >= 1.0:
            return math.inf
        lo, hi = 0.0, 1.0 / self.service_rate
        while self.response_survival(hi) > 1 - q:
            hi *= 2
        for _ in range(200):
            mid = (lo + hi) / 2
            if self.response_survival(mid) > 1 - q:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2


def mmc(arrival_rate: float, service_rate: float, servers: int) -> QueueStats:
    """The M/M/c queue: utilization, Erlang C probability of waiting, mean wait and response time.

    >>> s = mmc(2, 1, 3)          # lambda = 2/s, mu = 1/s, 3 servers
    >>> round(s.p_wait, 4), round(s.mean_wait, 4)
    (0.4444, 0.4444)
    >>> mmc(5, 1, 3).mean_wait is None   # rho = 5/3: no steady state
    True
    """
    lam = _arrival_rate(arrival_rate)
    mu = checks.positive_finite("service_rate", service_rate, " per second")
    c = checks.int_between("servers", servers, 1, MAX_SERVERS)
    a = lam / mu  # offered load in Erlangs
    rho = a / c
    if rho >= 1.0:
        return QueueStats(lam, mu, c, rho, False, None, None, None, None, None)
    b = erlang_b(a, c)
    p_wait = b / (1.0 - rho * (1.0 - b))
    wq = p_wait / (c * mu - lam)
    w = wq + 1.0 / mu
    return QueueStats(lam, mu, c, rho, True, p_wait, wq, w, lam * wq, lam * w)


def littles_law(arrival_rate: float, time_in_system: float) -> float:
    """L = lambda W: how many are in a system that ``arrival_rate`` enter per second, each for
    ``time_in_system`` seconds (requests in flight, sessions open, messages in a queue)."""
    lam = _arrival_rate(arrival_rate)
    w = checks.real_number("time_in_system", time_in_system)
    if w < 0:
        raise ValueError(f"time_in_system must be a finite number >= 0 seconds (got time_in_system={w!r})")
    return lam * w


@dataclass(frozen=True)
class FiniteQueueStats:
    """Steady state of an M/M/c/K queue: ``capacity`` = K places in all (c in service, K - c waiting)."""

    arrival_rate: float
    service_rate: float
    servers: int
    capacity: int
    state_probabilities: tuple[float, ...]  # P(n in system), n = 0..K

    @property
    def offered_utilization(self) -> float:
        """lambda / (c mu): above 1 the tier is overloaded (and turns the excess away)."""
        return self.arrival_rate / (self.servers * self.service_rate)

    @property
    def blocking(self) -> float:
        """Share of arrivals turned away: by PASTA, P(the system is full)."""
        return self.state_probabilities[-1]

    @property
    def throughput(self) -> float:
        return self.arrival_rate * (1.0 - self.blocking)

    @property
    def utilization(self) -> float:
        """Share of worker time busy: throughput / (c mu), always below 1."""
        return self.throughput / (self.servers * self.service_rate)

    @property
    def mean_in_system(self) -> float:
        return float(np.dot(np.arange(self.capacity + 1), self.state_probabilities))

    @property
    def mean_in_queue(self) -> float:
        n = np.arange(self.capacity + 1)
        return float(np.dot(np.maximum(n - self.servers, 0), self.state_probabilities))

    @property
    def mean_response(self) -> float | None:
        """Mean time in system of an admitted request, by Little's law on the admitted flow."""
        return self.mean_in_system / self.throughput if self.throughput > 0 else None

    @property
    def mean_wait(self) -> float | None:
        return self.mean_in_queue / self.throughput if self.throughput > 0 else None

    def sample_wait(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Waits in queue of ``size`` admitted requests (FCFS): one that finds n >= c in the system waits
        for n - c + 1 departures at rate c mu, a Gamma(n - c + 1, 1 / (c mu)) time."""
        table = self._wait_table
        if table is None:  # (almost) nobody waits
            return np.zeros(size)
        cdf, lo, hi = table
        n = np.minimum(_search(cdf, lo, hi, rng.random(size) * cdf[-1]), self.capacity - 1)
        ahead = n - self.servers + 1
        scale = 1.0 / (self.servers * self.service_rate)
        if ahead.size == 0 or ahead.max() <= 1:
            # Every shape is 1, and numpy draws Gamma(1) as a standard exponential: the same numbers, from
            # the same stream, at a third of the cost (the usual case: at most one request ahead).
            waits = rng.standard_exponential(size) * scale
        else:
            waits = rng.gamma(np.maximum(ahead, 1), scale)
        return np.where(ahead > 0, waits, 0.0)

    @functools.cached_property
    def _wait_table(self) -> tuple[np.ndarray, int, int] | None:
        """What :meth:`sample_wait` draws from, computed once per queue: the cumulative weights of the states an
        admitted request finds (None if (almost) nobody waits) and the window of states holding nearly all the
        weight (see :func:`_search`)."""
        probs = self.__dict__.pop("_probs", None)  # the array mmck built the tuple from (the same floats)
        p = np.asarray(self.state_probabilities[:-1]) if probs is None else probs[:-1]
        if p.sum() <= 0 or p[self.servers - 1 :].sum() < 1e-12 * p.sum():
            return None
        cdf = np.cumsum(p)
        cdf.setflags(write=False)
        total = cdf[-1]
        lo = int(np.searchsorted(cdf, total * 1e-9, side="right"))
        hi = min(cdf.size, int(np.searchsorted(cdf, total * (1 - 1e-9), side="left")) + 1)
        return cdf, lo, hi


_COUNTED = 8  # windows up to this many states are searched by counting (faster than a binary search)


def _search(cdf: np.ndarray, lo: int, hi: int, x: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cdf, x, side="right")`` for a non-decreasing ``cdf``, the same integers, faster: an x
    with cdf[lo - 1] <= x < cdf[hi - 1] has every state below lo at or under it and none from hi - 1 on, so it
    is searched in the short window cdf[lo:hi - 1] (which fits in the processor's cache); the rare others in
    the whole array."""
    if hi - lo >= cdf.size // 2:
        return np.searchsorted(cdf, x, side="right")
    below = cdf[lo - 1] if lo > 0 else -np.inf
    window = cdf[lo : hi - 1]
    if window.size <= _COUNTED:  # a few states: count the ones at or under each x (what searchsorted returns)
        out = np.full(x.shape, lo, dtype=np.intp)
        for edge in window:
            out += x >= edge
    else:
        out = np.searchsorted(window, x, side="right") + lo
    rest = (x < below) | (x >= cdf[hi - 1])
    if rest.any():
        out[rest] = np.searchsorted(cdf, x[rest], side="right")
    return out


def mmck(arrival_rate: float, service_rate: float, servers: int, capacity: int) -> FiniteQueueStats:
    """The M/M/c/K queue: a tier whose queue has room for ``capacity - servers`` requests.

    P(n) is proportional to a^n / n! for n <= c and to a^c / c! (a/c)^(n-c) above, a = lambda / mu; computed
    in logarithms, so a tier overloaded a hundredfold with a long queue still gives exact numbers.

    >>> s = mmck(1, 1, 1, 1)      # one worker, no waiting room, rho = 1: half the arrivals are turned away
    >>> round(s.blocking, 3)
    0.5
    """
    lam = _arrival_rate(arrival_rate)
    mu = checks.positive_finite("service_rate", service_rate, " per second")
    c = checks.int_between("servers", servers, 1, MAX_SERVERS)
    k = checks.int_between("capacity", capacity, c, MAX_CAPACITY, lo_name="servers")
    if lam == 0:
        probs = np.zeros(k + 1)
        probs[0] = 1.0
    else:
        a = lam / mu
        n = np.arange(1, k + 1)
        log_w = np.concatenate(([0.0], np.cumsum(np.log(a) - np.log(np.minimum(n, c)))))
        w = np.exp(log_w - log_w.max())
        probs = w / w.sum()
    stats = FiniteQueueStats(lam, mu, c, k, tuple(probs.tolist()))
    probs.setflags(write=False)
    stats.__dict__["_probs"] = (
        probs  # for sample_wait's table (no second conversion), dropped once it is built
    )
    return stats
