"""The fanout queue in virtual time: batches of follower ids wait in one FIFO queue, K workers take them in
turn, and a worker writes ``throughput`` feed entries per second.

``drain_queue`` is the discrete-event simulation. Its events are batch arrivals, service starts and
completions; with one FIFO queue and identical workers the next batch always starts on the worker that
frees up first, so the event heap reduces to a heap of the K workers' next free times (the
Kiefer–Wolfowitz form of the multi-server queue). It visits each batch once; everything per follower
(which batch, when its entry lands) is then vectorized.

``fanout_makespan`` is the closed form for one post reaching idle workers, which the simulation must match;
``workers_for_deadline`` turns it around: how many workers deliver to every follower within a deadline.
"""

from __future__ import annotations

import heapq
import math

import numpy as np

from sdcore.checks import int_between, positive_finite, whole_number

LOOKUP_SECONDS = 0.005  # the fanout service asks the social graph for the author's followers first
MAX_WORKERS = 1_000


def drain_queue(
    arrival: np.ndarray, size: np.ndarray, workers: int, throughput: float
) -> tuple[np.ndarray, np.ndarray]:
    """Start and finish time of every batch, in FIFO order of ``arrival`` (non-decreasing, seconds)."""
    workers = int_between("workers", workers, 1, MAX_WORKERS)
    throughput = positive_finite("worker_throughput", throughput, " writes per second")
    arrival = np.asarray(arrival, dtype=np.float64)
    service = np.asarray(size, dtype=np.float64) / throughput
    start = np.empty(len(arrival))
    free = [0.0] * workers  # the K workers' next free times (all idle at 0)
    for i, (t, s) in enumerate(zip(arrival.tolist(), service.tolist(), strict=True)):
        begin = t if t > free[0] else free[0]
        start[i] = begin
        heapq.heapreplace(free, begin + s)
    return start, start + service


def batch_count(followers: int, batch_size: int) -> int:
    return -(-followers // batch_size)


def fanout_makespan(followers: int, batch_size: int, throughput: float, workers: int) -> float:
    """Seconds from the first batch starting to the last entry written, for one post's ``followers``
    split into batches of ``batch_size`` and served by ``workers`` idle workers.

    All batches but the last are full and take ``batch_size / throughput``; FIFO hands batch ``i`` to
    worker ``i mod K`` in round ``i // K``. The last round ends when its slowest batch does: a full batch
    if the round holds one, else the short last batch.
    """
    followers = whole_number("followers", followers)
    if followers <= 0:
        return 0.0
    n = batch_count(followers, batch_size)
    full = batch_size / throughput
    last = (followers - (n - 1) * batch_size) / throughput
    rounds, in_last = divmod(n - 1, workers)
    return rounds * full + (full if in_last >= 1 else last)


def workers_for_deadline(followers: int, batch_size: int, throughput: float, deadline: float) -> int | None:
    """The fewest workers that write every follower's entry within ``deadline`` seconds of the post
    (graph lookup included), on idle workers; ``None`` when even one worker per batch is too slow."""
    deadline = positive_finite("deadline", deadline, " seconds")
    budget = deadline - LOOKUP_SECONDS
    n = batch_count(followers, batch_size)
    if n == 0:
        return 1
    if fanout_makespan(followers, batch_size, throughput, min(n, MAX_WORKERS)) > budget:
        return None
    lo, hi = 1, min(n, MAX_WORKERS)  # the makespan never grows with more workers
    while lo < hi:
        mid = (lo + hi) // 2
        if fanout_makespan(followers, batch_size, throughput, mid) <= budget:
            hi = mid
        else:
            lo = mid + 1
    return lo


def capacity_needed(write_rate: float, throughput: float) -> int:
    """Workers needed just to keep up with ``write_rate`` feed writes per second (utilisation below 1)."""
    return max(1, math.floor(write_rate / throughput) + 1)
