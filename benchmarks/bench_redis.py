"""Benchmark: decisions per second of the Redis-backed limiters (one Lua script per decision) against
``limits``' Redis storage on the same server, in the same run.

Scenario: a throwaway redis-server on a free loopback port (started and stopped here). 20 client keys,
requests spread round-robin over them, the wall clock as ``now`` for both sides. Two traffic shapes:
"under the limit" (limit 100,000 per 60 s: every request admitted) and "over the limit" (limit 10 per
60 s: after the first 10 per key, every request rejected). One client (one thread, one connection), then
8 clients (8 threads, each with its own connection, as 8 servers sharing one Redis would be). Each cell
is the median of 5 runs of 2,000 decisions, on a flushed database, ours and limits' runs
interleaved; the ratio is the median of the per-run ratios.

Pairs that decide the same thing: fixed window / FixedWindowRateLimiter, sliding log (admitted only) /
MovingWindowRateLimiter, sliding window counter / SlidingWindowCounterRateLimiter, each timed both as a
bare ``hit`` and as ``hit`` + ``get_window_stats`` (remaining and reset time: the rate-limit headers,
which our decision already carries). ``limits`` has no
token bucket, leaking bucket or GCRA; those are timed alone. Ratios > 1 mean ours is faster.

Then the race experiment (sdcore.ratelimit.live.race): 8 threads hammer one key with limit 10, 1 ms between
read and write, 5 runs per variant: how far past the limit each variant admits, and how fast it decides.

Run: ``python benchmarks/bench_redis.py`` from the repository root (needs redis-server on PATH).
"""

from __future__ import annotations

import statistics
import threading
import time

from limits import RateLimitItemPerMinute
from limits.storage import RedisStorage
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)

from sdcore.ratelimit import (
    GCRA,
    FixedWindowCounter,
    LeakingBucket,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
)
from sdcore.ratelimit.live.race import compare_race
from sdcore.ratelimit.live.redis_server import LocalRedisServer, redis_server_path
from sdcore.ratelimit.live.redis_store import RedisStore, measure_round_trip, redis_client

DECISIONS = 2000
REPEATS = 5
KEYS = [f"client{i}" for i in range(20)]
SHAPES = {"under the limit": 100_000, "over the limit": 10}

OURS = {
    "fixed window": lambda limit, store: FixedWindowCounter(limit, 60.0, store=store),
    "sliding log": lambda limit, store: SlidingWindowLog(limit, 60.0, log_rejected=False, store=store),
    "sliding window counter": lambda limit, store: SlidingWindowCounter(limit, 60.0, store=store),
    "token bucket": lambda limit, store: TokenBucket(limit, limit / 60.0, store=store),
    "leaking bucket": lambda limit, store: LeakingBucket(limit, limit / 60.0, store=store),
    "GCRA": lambda limit, store: GCRA(limit, 60.0, store=store),
}
THEIRS = {
    "fixed window": FixedWindowRateLimiter,
    "sliding log": MovingWindowRateLimiter,
    "sliding window counter": SlidingWindowCounterRateLimiter,
}


def ours_worker(server, name, limit, n):
    client = redis_client(server.host, server.port, timeout=5.0)
    limiter = OURS[name](limit, RedisStore(client, prefix="bench:"))
    limiter.allow(time.time(), "warm-up")  # connect and load the script outside the timing

    def run():
        clock = time.time
        for i in range(n):
            limiter.allow(clock(), KEYS[i % 20])

    return run, client.close


def theirs_worker(server, name, limit, n, headers=False):
    """limits' ``hit``; with ``headers``, also ``get_window_stats`` (a second round trip), which a server
    needs for X-RateLimit-Remaining and Retry-After: our one decision carries both."""
    storage = RedisStorage(server.url)
    strategy = THEIRS[name](storage)
    item = RateLimitItemPerMinute(limit)
    strategy.hit(item, "warm-up")
    strategy.get_window_stats(item, "warm-up")

    def run():
        for i in range(n):
            strategy.hit(item, KEYS[i % 20])

    def run_with_headers():
        for i in range(n):
            strategy.hit(item, KEYS[i % 20])
            strategy.get_window_stats(item, KEYS[i % 20])

    return (run_with_headers if headers else run), storage.storage.close


def theirs_with_headers_worker(server, name, limit, n):
    return theirs_worker(server, name, limit, n, headers=True)


def one_run(server, make_worker, name, limit, clients, admin) -> float:
    """Decisions per second of one run: DECISIONS decisions split over ``clients`` threads, from a
    flushed database."""
    workers = [make_worker(server, name, limit, DECISIONS // clients) for _ in range(clients)]
    admin.flushdb()  # the scripts stay loaded
    threads = [threading.Thread(target=run) for run, _ in workers]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    for _, close in workers:
        close()
    return DECISIONS // clients * clients / seconds


def compare(server, name, limit, clients, admin) -> tuple[float, list[tuple[float, float]]]:
    """Median decisions per second of ours, and for each limits variant (bare hit; hit + window stats)
    its median and the median of the per-run ratios ours / limits. The runs are interleaved (the
    machine's speed drifts; interleaving exposes every contender to the same drift)."""
    theirs_workers = (theirs_worker, theirs_with_headers_worker) if name in THEIRS else ()
    ours, theirs = [], [[] for _ in theirs_workers]
    for _ in range(REPEATS):
        ours.append(one_run(server, ours_worker, name, limit, clients, admin))
        for runs, worker in zip(theirs, theirs_workers, strict=True):
            runs.append(one_run(server, worker, name, limit, clients, admin))
    return statistics.median(ours), [
        (statistics.median(runs), statistics.median(o / t for o, t in zip(ours, runs, strict=True)))
        for runs in theirs
    ]


def main() -> None:
    if redis_server_path() is None:
        print("bench_redis skipped: redis-server is not on PATH (Debian: apt-get install redis-server)")
        return
    with LocalRedisServer() as server:
        admin = redis_client(server.host, server.port, timeout=5.0)
        rt = measure_round_trip(admin, runs=5, per_run=200)
        print(f"redis-server on {server.url}; loopback round trip: PING {rt.ping_ms.median * 1000:.0f} µs, "
              f"one Lua decision {rt.decision_ms.median * 1000:.0f} µs (median of 5 runs of 200)")  # fmt: skip
        print(f"decisions per second, median of {REPEATS} interleaved runs of {DECISIONS:,}; "
              "ratio = median of ours / limits per run; limits+stats = hit + get_window_stats, what a\n"
              "server needs for the Remaining and Retry-After headers (one decision of ours carries them)\n")  # fmt: skip
        for shape, limit in SHAPES.items():
            print(f"{shape} (limit {limit:,} per 60 s, {len(KEYS)} keys)")
            print(
                f"  {'algorithm':<24}{'clients':>8}{'ours':>10}{'limits':>10}{'ratio':>8}"
                f"{'limits+stats':>14}{'ratio':>8}"
            )
            for clients in (1, 8):
                for name in OURS:
                    ours, theirs = compare(server, name, limit, clients, admin)
                    cells = "".join(
                        f"{t:>{w},.0f}{r:>7.2f}x" for (t, r), w in zip(theirs, (10, 14), strict=False)
                    )
                    print(f"  {name:<24}{clients:>8}{ours:>10,.0f}{cells or '         -':}")
            print()
        print("race: 8 clients on one key, limit 10, 40 requests each, think time 1 ms, 5 runs")
        print(
            f"  {'variant':<14}{'overshoot min / median / max':>30}{'decisions/s (median)':>24}{'retries':>9}"
        )
        factory = lambda: redis_client(server.host, server.port, timeout=5.0)  # noqa: E731
        for r in compare_race(factory, clients=8, requests_per_client=40, limit=10, think_time=0.001, runs=5):
            o = r.overshoot
            spread = f"{o.min:.0f} / {o.median:.0f} / {o.max:.0f}"
            print(
                f"  {r.variant:<14}{spread:>30}{r.decisions_per_second.median:>24,.0f}{r.retries.median:>9.0f}"
            )
        admin.close()


if __name__ == "__main__":
    main()
