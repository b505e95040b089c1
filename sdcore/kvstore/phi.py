"""The phi accrual failure detector (Hayashibara et al. 2004), in Cassandra's and Akka's flavours.

A detector does not answer "up or down"; it reports phi, the suspicion that a monitored node has died, on a
log10 scale: phi = 1 means about a 10% chance that the next heartbeat is still coming, phi = 8 one in 10^8.
The application picks the threshold at which it acts (8 in both Cassandra and Akka).

- ``exponential`` is Cassandra's ``FailureDetector``: inter-arrival times are modelled as exponential, so
  phi = -log10(P(no heartbeat for t)) = -log10(exp(-t / mean)) = (t / mean) * log10(e). Cassandra computes
  ``t / mean`` and convicts when ``PHI_FACTOR * phi > phi_convict_threshold`` with PHI_FACTOR = 1 / ln 10.
  It keeps the last 1000 intervals and ignores an interval longer than ``cassandra.fd_max_interval_ms``
  (``max_interval`` here; by default twice the gossip interval), so a long outage does not stretch the mean.
- ``normal`` is the paper's and Akka's ``PhiAccrualFailureDetector``: intervals modelled as normal with
  mean + ``acceptable_pause`` and standard deviation at least ``min_std_deviation``, its tail by the logistic
  approximation Akka uses; a heartbeat that arrives after the node was already convicted is not added to the
  history (Akka: "don't use the first heartbeat after failure for the history").

Times are seconds of virtual time, passed in as ``now``.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from sdcore.checks import int_between, number_between, number_text, one_of, positive_finite, real_number

LOG10_E = math.log10(math.e)  # Cassandra's PHI_FACTOR = 1 / ln(10)
# Akka's logistic approximation of the normal CDF: 1 / (1 + exp(-y (1.5976 + 0.070566 y^2))).
_A, _B = 1.5976, 0.070566


@dataclass(frozen=True)
class PhiModel:
    name: str
    label: str
    description: str


PHI_MODELS = MappingProxyType(
    {
        "exponential": PhiModel(
            "exponential",
            "Exponential (Cassandra)",
            "Intervals modelled as exponential: phi grows linearly with silence, phi = (t / mean) x log10(e).",
        ),
        "normal": PhiModel(
            "normal",
            "Normal (Akka, the paper)",
            "Intervals modelled as normal with a minimum spread and an acceptable pause: phi stays near 0 until "
            "the silence passes the mean plus the pause, then climbs steeply.",
        ),
    }
)


def normal_phi(elapsed: float, mean: float, std: float) -> float:
    """Akka's phi: -log10(1 - CDF(elapsed)) with the logistic CDF; the branch keeps precision on both tails."""
    y = (elapsed - mean) / std
    exponent = -y * (_A + _B * y * y)
    if exponent > 700:  # e overflows: the node is certainly on time
        return 0.0
    e = math.exp(exponent)
    p_later = e / (1.0 + e) if elapsed > mean else 1.0 - 1.0 / (1.0 + e)
    return math.inf if p_later <= 0.0 else -math.log10(p_later)


def normal_phi_inverse(phi: float, mean: float, std: float) -> float:
    """The silence at which ``normal_phi`` reaches ``phi``: phi = log10(1 + exp(g(y))) with g(y) = y (A + B y^2),
    so g(y) = ln(10^phi - 1), a cubic with one real root."""
    c = math.log(math.expm1(phi * math.log(10.0)))
    roots = np.roots([_B, 0.0, _A, -c])
    y = float(roots[np.argmin(np.abs(roots.imag))].real)
    return mean + y * std


class PhiAccrualDetector:
    """One monitored node: ``heartbeat(now)`` on every arrival, ``phi(now)`` and ``is_available(now)`` any time.

    ``phi`` is 0.0 until two heartbeats have given one interval. ``is_available`` is ``phi <= threshold``.
    """

    def __init__(
        self,
        threshold: float = 8.0,
        window: int = 1000,
        model: str = "exponential",
        min_std_deviation: float = 0.1,
        acceptable_pause: float = 0.0,
        max_interval: float | None = None,
    ):
        self.threshold = positive_finite("threshold", threshold)
        self.window = int_between("window", window, 1, 100_000)
        self.model = one_of("model", model, PHI_MODELS)
        self.min_std_deviation = positive_finite("min_std_deviation", min_std_deviation, " seconds")
        self.acceptable_pause = number_between("acceptable_pause", acceptable_pause, 0, 3600, unit=" seconds")
        self.max_interval = (
            None if max_interval is None else positive_finite("max_interval", max_interval, " s")
        )
        self._intervals: deque[float] = deque(maxlen=self.window)
        self._sum = 0.0
        self._sum_sq = 0.0
        self.last: float | None = None

    # -- heartbeats ---------------------------------------------------------------------------------------
    def heartbeat(self, now: float) -> None:
        now = real_number("now", now)
        if self.last is not None:
            if now < self.last:
                raise ValueError(
                    f"heartbeats must arrive in time order (got now={number_text(now)} after {number_text(self.last)})"
                )
            interval = now - self.last
            if self._records(interval, now):
                if len(self._intervals) == self.window:
                    old = self._intervals[0]
                    self._sum -= old
                    self._sum_sq -= old * old
                self._intervals.append(interval)
                self._sum += interval
                self._sum_sq += interval * interval
        self.last = now

    def _records(self, interval: float, now: float) -> bool:
        if self.model == "exponential":
            return self.max_interval is None or interval <= self.max_interval
        return not self._intervals or self.is_available(now)

    # -- statistics ---------------------------------------------------------------------------------------
    @property
    def samples(self) -> int:
        return len(self._intervals)

    @property
    def mean(self) -> float:
        return self._sum / len(self._intervals) if self._intervals else math.nan

    @property
    def std(self) -> float:
        """The standard deviation the normal model uses: the population one, at least ``min_std_deviation``."""
        if not self._intervals:
            return math.nan
        n = len(self._intervals)
        variance = max(self._sum_sq / n - (self._sum / n) ** 2, 0.0)
        return max(math.sqrt(variance), self.min_std_deviation)

    # -- suspicion ----------------------------------------------------------------------------------------
    def phi(self, now: float) -> float:
        now = real_number("now", now)
        if self.last is None or not self._intervals:
            return 0.0
        elapsed = max(now - self.last, 0.0)
        if self.model == "exponential":
            return elapsed / self.mean * LOG10_E
        return normal_phi(elapsed, self.mean + self.acceptable_pause, self.std)

    def is_available(self, now: float) -> bool:
        return self.phi(now) <= self.threshold

    def time_to_convict(self) -> float:
        """How long after the last heartbeat phi reaches the threshold, with the statistics as they are now
        (infinite before two heartbeats)."""
        if not self._intervals:
            return math.inf
        if self.model == "exponential":
            return self.threshold * self.mean / LOG10_E  # threshold x mean x ln 10
        return normal_phi_inverse(self.threshold, self.mean + self.acceptable_pause, self.std)


# -- a heartbeat stream, watched by both models -----------------------------------------------------------


@dataclass(frozen=True)
class HeartbeatScenario:
    """A node heartbeats every ``interval`` s, each arrival delayed by |N(0, jitter)|; it stops sending for
    ``pause`` s from ``pause_at`` (a GC pause) and for good at ``crash_at``. Both detectors watch it."""

    interval: float = 1.0
    jitter: float = 0.05
    pause_at: float = 30.0
    pause: float = 0.0
    crash_at: float = 60.0
    horizon: float = 90.0
    threshold: float = 8.0
    window: int = 1000
    min_std_deviation: float = 0.1
    acceptable_pause: float = 0.0
    max_interval_factor: float = 2.0  # Cassandra ignores intervals above this many heartbeat intervals
    seed: int = 0

    def __post_init__(self) -> None:
        positive_finite("interval", self.interval, " seconds")
        number_between("jitter", self.jitter, 0, 10 * self.interval, unit=" seconds (10 intervals)")
        number_between("pause", self.pause, 0, 3600, unit=" seconds")
        number_between("crash_at", self.crash_at, 2 * self.interval, 3600, unit=" seconds")
        number_between("pause_at", self.pause_at, 0, self.crash_at, unit=" seconds (crash_at)")
        number_between("horizon", self.horizon, self.crash_at, 7200, unit=" seconds")
        if self.horizon / self.interval > 20_000:
            raise ValueError(
                f"horizon must be at most 20,000 intervals (got {self.horizon / self.interval:,.0f})"
            )
        PhiAccrualDetector(
            self.threshold, self.window, "normal", self.min_std_deviation, self.acceptable_pause
        )
        number_between("max_interval_factor", self.max_interval_factor, 1, 1000)
        from sdcore.checks import seed as check_seed

        check_seed(self.seed)

    def detector(self, model: str) -> PhiAccrualDetector:
        max_interval = self.max_interval_factor * self.interval if model == "exponential" else None
        return PhiAccrualDetector(
            self.threshold, self.window, model, self.min_std_deviation, self.acceptable_pause, max_interval
        )

    def arrivals(self) -> np.ndarray:
        sends = np.arange(0.0, self.crash_at, self.interval)
        sends = sends[~((sends >= self.pause_at) & (sends < self.pause_at + self.pause))]
        delays = np.abs(np.random.default_rng(self.seed).normal(0.0, 1.0, sends.size)) * self.jitter
        return np.sort(sends + delays)


@dataclass(frozen=True)
class DetectorRun:
    """One model watching the stream: phi sampled over time, the false convictions while the node was up,
    and when it convicted the node after the crash."""

    model: str
    times: np.ndarray
    phi: np.ndarray
    false_convictions: tuple[tuple[float, float], ...]  # (convicted at, next heartbeat at)
    time_to_convict: float  # silence after the last heartbeat that convicts, with the final statistics
    last_heartbeat: float
    convicted_at: float  # last_heartbeat + time_to_convict
    detection_delay: float  # convicted_at - crash_at
    mean: float
    std: float
    samples: int


@dataclass(frozen=True)
class HeartbeatResult:
    scenario: HeartbeatScenario
    arrivals: np.ndarray
    runs: MappingProxyType  # model name -> DetectorRun


def simulate_heartbeats(s: HeartbeatScenario, points: int = 900) -> HeartbeatResult:
    """Feed the stream to one detector per model; sample phi at ``points`` times. A false conviction is a gap
    between two heartbeats longer than the detector's time to convict at the start of the gap (exact, not
    read off the samples)."""
    arrivals = s.arrivals()
    grid = np.linspace(0.0, s.horizon, points)
    runs = {}
    for model in PHI_MODELS:
        d = s.detector(model)
        phis = np.empty(points)
        false: list[tuple[float, float]] = []
        g = 0
        for t in (*arrivals.tolist(), math.inf):
            while g < points and grid[g] < t:
                phis[g] = d.phi(grid[g])
                g += 1
            if t == math.inf:
                break
            if d.last is not None and t - d.last > d.time_to_convict():
                false.append((d.last + d.time_to_convict(), t))
            d.heartbeat(t)
        ttc = d.time_to_convict()
        last = float(arrivals[-1])
        runs[model] = DetectorRun(
            model,
            grid,
            phis,
            tuple(false),
            ttc,
            last,
            last + ttc,
            last + ttc - s.crash_at,
            d.mean,
            d.std,
            d.samples,
        )
    return HeartbeatResult(s, arrivals, MappingProxyType(runs))
