"""How stale is a read t ms after a write commits? The WARS Monte Carlo of Bailis et al. (VLDB 2012).

The scenario: a coordinator sends a write to all N replicas and a read, t ms after the write commits, to all
N replicas as well (Dynamo style). Replica i draws four latencies (see ``sdcore.kvstore.latency``):
W_i (write request), A_i (write ack), R_i (read request) and S_i (read response).

- The write commits when the W-th fastest acknowledgement arrives: ``t_commit`` = W-th smallest W_i + A_i.
- The read starts at ``t_commit + t`` and returns with the R fastest responses (smallest R_i + S_i).
- It is consistent iff one of those R replicas already had the write when the read request reached it:
  ``W_i <= t_commit + t + R_i``.

Rearranged, trial by trial: consistent at t iff ``t >= t_star`` with
``t_star = min over the read set of (W_i - R_i) - t_commit``. So one sorted array of ``t_star`` gives the
whole curve: P(consistent at t) is its empirical CDF at t (``np.searchsorted``), from the same draws for
every t. With R + W > N the read set and the acknowledged write set share a replica, for which
``W_i <= W_i + A_i <= t_commit``, so ``t_star <= 0`` and every read is consistent.

Determinism: the draws are a function of ``seed`` alone. They are made in blocks of a fixed size (a module
constant, not a parameter): for each block, the W, A, R, S legs in that order, each an array of shape
(trials in the block, N). They do not depend on R, W or ``t_ms``, so results for different quorums with
one seed come from the same draws (consistency grows with R and W trial by trial), and ``quorum_table``
reproduces ``simulate_staleness`` exactly.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sdcore.checks import number_text
from sdcore.kvstore._checks import replica_counts, whole_number
from sdcore.kvstore.latency import LatencyDistribution, LatencyPreset, LegLatencies, resolve_latency
from sdcore.kvstore.quorum import staleness_probability

if TYPE_CHECKING:
    import pandas as pd

MAX_SIMULATED_REPLICAS = 10
MAX_TRIALS = 5_000_000
MAX_TABLE_TRIALS = 500_000  # the table keeps N read and N write latencies per trial for its quantiles
QUANTILES: tuple[float, ...] = (0.5, 0.99, 0.999)
_BLOCK_TRIALS = 65_536  # fixed: part of what a seed means; sized so a block's arrays stay in cache
_CACHED_CELLS = (
    2_000_000  # trials x N of the draws kept for reuse (3 float64 arrays: 48 MB), 2 questions at most
)

LatencyLike = LegLatencies | LatencyPreset | LatencyDistribution | str


@dataclass(frozen=True)
class LatencyQuantiles:
    """Median, 99th and 99.9th percentile of an operation's latency, in ms."""

    p50: float
    p99: float
    p999: float

    @classmethod
    def of(cls, latencies: np.ndarray) -> LatencyQuantiles:
        p50, p99, p999 = np.quantile(latencies, QUANTILES)
        return cls(float(p50), float(p99), float(p999))


@dataclass(frozen=True, eq=False)
class StalenessResult:
    """The outcome of ``simulate_staleness``.

    ``consistent[j]`` is the fraction of trials whose read, started ``t_ms[j]`` ms after the write
    committed, returned the write. ``consistent_after_ms`` holds, sorted, each trial's ``t_star``: the
    time after commit from which its read is consistent (<= 0: consistent even at commit). Arrays are
    read-only.
    """

    n: int
    r: int
    w: int
    latency: LegLatencies
    trials: int
    seed: int
    t_ms: np.ndarray
    consistent: np.ndarray
    read_latency: LatencyQuantiles
    write_latency: LatencyQuantiles
    consistent_after_ms: np.ndarray

    @property
    def strong(self) -> bool:
        """True when R + W > N: every read is consistent."""
        return self.r + self.w > self.n

    @property
    def label(self) -> str:
        return f"N={self.n}, R={self.r}, W={self.w}"

    def probability_at(self, t_ms: float | Sequence[float] | np.ndarray) -> float | np.ndarray:
        """P(consistent) for reads started ``t_ms`` after commit (any times >= 0, same draws)."""
        times = _check_times(t_ms)
        p = np.searchsorted(self.consistent_after_ms, times, side="right") / self.trials
        return float(p[0]) if np.ndim(t_ms) == 0 else p


def simulate_staleness(
    n: int,
    r: int,
    w: int,
    latency: LatencyLike,
    t_ms: float | Sequence[float] | np.ndarray,
    trials: int = 100_000,
    seed: int = 0,
) -> StalenessResult:
    """Monte Carlo of the WARS model: P(consistent read) at each time ``t_ms`` after commit, and the
    read and write latency quantiles, for N replicas, read quorum R and write quorum W."""
    n, r, w = replica_counts(n, r, w, max_n=MAX_SIMULATED_REPLICAS)
    legs = resolve_latency(latency)
    times = _check_times(t_ms)
    trials = _check_trials(trials, MAX_TRIALS)
    seed = _check_seed(seed)

    t_star_parts, read_parts, write_parts = [], [], []
    with np.errstate(invalid="ignore"):  # inf - inf from absurd parameters: reported by _check_finite
        for write_sorted, read_sorted, gap_min in _blocks(legs, n, trials, seed):
            t_star_parts.append(gap_min[:, r - 1] - write_sorted[:, w - 1])
            # copies, so that the whole (trials x N) block is not kept alive by a column view
            read_parts.append(read_sorted[:, r - 1].copy())
            write_parts.append(write_sorted[:, w - 1].copy())
    t_star = np.sort(np.concatenate(t_star_parts))
    read_latencies = np.concatenate(read_parts)
    write_latencies = np.concatenate(write_parts)
    _check_finite(t_star, read_latencies, write_latencies)

    consistent = np.searchsorted(t_star, times, side="right") / trials
    return StalenessResult(
        n=n,
        r=r,
        w=w,
        latency=legs,
        trials=trials,
        seed=seed,
        t_ms=_read_only(times),
        consistent=_read_only(consistent),
        read_latency=LatencyQuantiles.of(read_latencies),
        write_latency=LatencyQuantiles.of(write_latencies),
        consistent_after_ms=_read_only(t_star),
    )


def t_for_probability(result: StalenessResult, p: float) -> float:
    """The smallest time after commit (ms, >= 0) at which P(consistent read) >= ``p`` in ``result``.

    E.g. ``t_for_probability(result, 0.999)``: "99.9% of reads are consistent X ms after commit". Exact
    for the simulated trials, not limited to the ``t_ms`` grid.
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p <= 1:
        raise ValueError(f"p, the target probability of a consistent read, must be in (0, 1] (got p={p!r})")
    # The j-th smallest t_star, with j the fewest trials that make a fraction >= p; the small slack keeps
    # a product such as 0.999 * 100_000 = 99900.00000000001 from rounding up to the next trial.
    j = min(result.trials, max(1, math.ceil(p * result.trials - 1e-6)))
    return max(0.0, float(result.consistent_after_ms[j - 1]))


def quorum_table(
    n: int,
    latency: LatencyLike,
    trials: int = 50_000,
    seed: int = 0,
    t_ms: float = 0.0,
) -> pd.DataFrame:
    """One row per (R, W) in 1..N x 1..N: the closed-form staleness of random quorums (k=1), the WARS
    P(consistent read) ``t_ms`` after commit, and read/write latency quantiles (ms).

    The legs are drawn once and shared by every row, so each row equals
    ``simulate_staleness(n, r, w, latency, [t_ms], trials, seed)`` exactly.
    Columns: n, r, w, strong, closed_form_staleness, t_ms, p_consistent, read_p50_ms, read_p99_ms,
    read_p999_ms, write_p50_ms, write_p99_ms, write_p999_ms.
    """
    import pandas as pd  # here, so that importing the engine stays light

    n = whole_number("N", n)
    if not 1 <= n <= MAX_SIMULATED_REPLICAS:
        raise ValueError(
            f"N, the number of replicas, must be between 1 and {MAX_SIMULATED_REPLICAS} here (got N={n})"
        )
    legs = resolve_latency(latency)
    if np.ndim(t_ms) != 0:
        raise ValueError(f"t_ms must be a single time in ms for the table (got t_ms={t_ms!r})")
    t = float(_check_times(t_ms)[0])
    trials = _check_trials(trials, MAX_TABLE_TRIALS)
    seed = _check_seed(seed)

    consistent_counts = np.zeros((n, n), dtype=np.int64)  # [r - 1, w - 1]
    read_parts, write_parts = [], []
    with np.errstate(invalid="ignore"):  # as in simulate_staleness
        for write_sorted, read_sorted, gap_min in _blocks(legs, n, trials, seed):
            for r in range(1, n + 1):
                t_star = gap_min[:, r - 1, None] - write_sorted  # column w - 1: t_star for (r, w)
                consistent_counts[r - 1] += np.count_nonzero(t_star <= t, axis=0)
            read_parts.append(read_sorted)
            write_parts.append(write_sorted)
    read_latencies = np.concatenate(read_parts)
    write_latencies = np.concatenate(write_parts)
    _check_finite(read_latencies, write_latencies)
    read_q = np.quantile(read_latencies, QUANTILES, axis=0)  # shape (3, n): quantile x quorum size
    write_q = np.quantile(write_latencies, QUANTILES, axis=0)

    rows = [
        {
            "n": n,
            "r": r,
            "w": w,
            "strong": r + w > n,
            "closed_form_staleness": staleness_probability(n, r, w),
            "t_ms": t,
            "p_consistent": consistent_counts[r - 1, w - 1] / trials,
            "read_p50_ms": read_q[0, r - 1],
            "read_p99_ms": read_q[1, r - 1],
            "read_p999_ms": read_q[2, r - 1],
            "write_p50_ms": write_q[0, w - 1],
            "write_p99_ms": write_q[1, w - 1],
            "write_p999_ms": write_q[2, w - 1],
        }
        for r in range(1, n + 1)
        for w in range(1, n + 1)
    ]
    return pd.DataFrame(rows)


def _blocks(legs: LegLatencies, n: int, trials: int, seed: int) -> Iterable[tuple[np.ndarray, ...]]:
    """Per block of trials: write latencies sorted (column j: the (j+1)-th ack), read latencies sorted,
    and ``gap_min[:, j]`` = min of W_i - R_i over the j+1 fastest read responders.

    The draws depend only on (legs, N, trials, seed), not on R or W: simulate_staleness for every (R, W) and
    quorum_table on the same question read them from one small cache (read-only arrays) when they are at most
    ``_CACHED_CELLS`` cells (about 48 MB), and the legs are frozen dataclasses (a custom distribution is drawn
    each time)."""
    frozen = all(
        dataclasses.is_dataclass(d) and d.__dataclass_params__.frozen
        for d in (legs.w, legs.a, legs.r, legs.s)
    )
    if frozen and trials * n <= _CACHED_CELLS:
        return _cached_blocks(legs, n, trials, seed)
    return _draw_blocks(legs, n, trials, seed)


@functools.lru_cache(maxsize=2)
def _cached_blocks(legs: LegLatencies, n: int, trials: int, seed: int) -> tuple[tuple[np.ndarray, ...], ...]:
    return tuple(tuple(_read_only(a) for a in block) for block in _draw_blocks(legs, n, trials, seed))


def _draw_blocks(legs: LegLatencies, n: int, trials: int, seed: int) -> Iterator[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(seed)
    for start in range(0, trials, _BLOCK_TRIALS):
        shape = (min(_BLOCK_TRIALS, trials - start), n)
        write_request, write_ack, read_request, read_response = (leg.sample(rng, shape) for leg in legs.legs)
        write_sorted = np.sort(write_request + write_ack, axis=1)
        read_done = read_request + read_response
        read_order = np.argsort(read_done, axis=1)
        read_sorted = np.take_along_axis(read_done, read_order, axis=1)
        gap = np.take_along_axis(write_request - read_request, read_order, axis=1)
        yield write_sorted, read_sorted, np.minimum.accumulate(gap, axis=1)


def _check_times(t_ms: object) -> np.ndarray:
    try:
        times = np.array(t_ms, dtype=float, ndmin=1)  # a copy: the result makes it read-only
    except (TypeError, ValueError):
        raise ValueError(
            f"t_ms must be a time or a list of times in ms, each >= 0 (got t_ms={t_ms!r})"
        ) from None
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"t_ms must be a time or a non-empty list of times in ms (got t_ms={t_ms!r})")
    bad = times[~(np.isfinite(times) & (times >= 0))]
    if bad.size:
        raise ValueError(
            f"t_ms must contain only finite times >= 0 ms after commit (got {number_text(bad[0])})"
        )
    return times


def _check_trials(trials: object, limit: int) -> int:
    trials = whole_number("trials", trials)
    if not 1 <= trials <= limit:
        raise ValueError(f"trials must be between 1 and {limit:,} (got trials={trials:,})")
    return trials


def _check_seed(seed: object) -> int:
    seed = whole_number("seed", seed)
    if seed < 0:
        raise ValueError(f"seed must be a whole number >= 0 (got seed={seed})")
    return seed


def _check_finite(*arrays: np.ndarray) -> None:
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValueError(
            "the latency model produced an infinite latency: its parameters are too extreme to simulate "
            "(a Pareto alpha or an exponential rate very close to 0); choose less extreme values"
        )


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a
