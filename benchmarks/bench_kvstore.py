"""Benchmark: the vectorized WARS Monte Carlo against a plain Python loop of the same model.

Scenario: N=3 replicas, R=W=1, the LinkedIn spinning-disk latency fit, P(consistent read) at 20 times
from 0 to 100 ms after commit. The loop draws each replica's four legs with ``random.Random`` and tests
the WARS condition W_i <= t_commit + t + R_i directly at every t; it is timed on 20,000 trials and
scaled per trial. The two curves are compared too (they should agree within Monte Carlo error).

Run: ``python benchmarks/bench_kvstore.py`` from the repository root.
"""

from __future__ import annotations

import random
import statistics
import time

import numpy as np

from sdcore.kvstore import LATENCY_PRESETS, quorum_table, simulate_staleness, t_for_probability  # noqa: E402

N, R, W = 3, 1, 1
PRESET = "linkedin-disk"
T_MS = np.linspace(0.0, 100.0, 20)
LOOP_TRIALS = 20_000
REPEATS = 3


def loop_staleness(n: int, r: int, w: int, t_ms: list[float], trials: int, seed: int) -> list[float]:
    """The WARS model one trial and one replica at a time, in plain Python."""
    rnd = random.Random(seed)
    legs = LATENCY_PRESETS[PRESET].latency.legs

    def draw(d) -> float:
        if rnd.random() < d.p:
            return d.x_m * rnd.paretovariate(d.alpha)
        return rnd.expovariate(d.rate)

    consistent = [0] * len(t_ms)
    for _ in range(trials):
        replicas = [tuple(draw(d) for d in legs) for _ in range(n)]  # (W_i, A_i, R_i, S_i)
        t_commit = sorted(wi + ai for wi, ai, _, _ in replicas)[w - 1]
        read_set = sorted(replicas, key=lambda leg: leg[2] + leg[3])[:r]
        for k, t in enumerate(t_ms):
            if any(wi <= t_commit + t + ri for wi, _, ri, _ in read_set):
                consistent[k] += 1
    return [c / trials for c in consistent]


def timed(fn, repeats: int = REPEATS) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    print(
        f"WARS staleness, N={N}, R={R}, W={W}, {PRESET}, {len(T_MS)}-point t curve (median of {REPEATS} runs)"
    )
    simulate_staleness(N, R, W, PRESET, T_MS, 10_000, 0)  # warm up imports and caches

    vec_1m, result = timed(lambda: simulate_staleness(N, R, W, PRESET, T_MS, 1_000_000, 1))
    vec_100k, _ = timed(lambda: simulate_staleness(N, R, W, PRESET, T_MS, 100_000, 1))
    loop_time, loop_curve = timed(lambda: loop_staleness(N, R, W, list(T_MS), LOOP_TRIALS, 1), repeats=1)
    loop_1m = loop_time * 1_000_000 / LOOP_TRIALS

    print(f"  vectorized, 1,000,000 trials : {vec_1m:8.3f} s")
    print(f"  vectorized,   100,000 trials : {vec_100k:8.3f} s")
    print(
        f"  Python loop, {LOOP_TRIALS:,} trials  : {loop_time:8.3f} s  -> {loop_1m:.1f} s per 1,000,000 (scaled)"
    )
    print(f"  speed-up at 1,000,000 trials : {loop_1m / vec_1m:8.1f}x")

    diff = np.abs(np.asarray(loop_curve) - result.consistent)
    sigma = np.sqrt(np.maximum(result.consistent * (1 - result.consistent), 1e-12) / LOOP_TRIALS)
    print(
        f"  curves agree: max |loop - vectorized| = {diff.max():.4f} ({(diff / sigma).max():.1f} loop std errors)"
    )
    print(
        f"  P(consistent) at t=0: {result.consistent[0]:.4f}; "
        f"99.9% consistent after {t_for_probability(result, 0.999):.1f} ms"
    )

    for n, trials in ((5, 50_000), (7, 100_000)):
        table_time, _ = timed(lambda n=n, trials=trials: quorum_table(n, PRESET, trials, 1, t_ms=1.0))
        print(f"  quorum_table N={n}, {trials:,} trials ({n * n} rows): {table_time:6.3f} s")


if __name__ == "__main__":
    main()
