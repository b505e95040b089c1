"""Scenario: the two sizes the news-feed page must keep interactive, timed against a plain-Python loop of the
same model in the same run.

1. One post fanned out to 1,000,000 followers (the celebrity): graph + star, batches of 4,000 on the queue,
   8 workers, per-follower delivery times and the capped feed caches.
2. 10,000 posts on a 100,000-user scale-free graph (push: every post to every active follower).

The plain loop does exactly what the engine does, one follower at a time with Python lists and dicts:
split the followers into batches, hand each batch to the worker that frees up first (heapq), compute
each follower's delivery time, and insert the post into that follower's feed cache kept newest first and
trimmed to ``cache_size``. Its results are checked against the engine's before the ratio is printed. The
loop runs on the same world (graph, activity, posts) so only the fanout is compared; for the 1,000,000-follower
case it runs in full, for 10,000 posts it runs the first 2,000 posts and is scaled by cache writes (say so).
"""

from __future__ import annotations

import heapq
import time

import numpy as np

from sdcore.feed import LOOKUP_SECONDS, FeedConfig, build_world, simulate_feed


def best_of(fn, repeat=3):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def plain_push(world, posts_limit: int | None = None):
    """Push fanout as a plain loop: batches, a heap of worker free times, one cache insert per follower."""
    c, g = world.config, world.graph
    active = world.active.tolist()
    ptr, idx = g.followers_ptr.tolist(), g.followers_idx.tolist()
    caches: dict[int, list[int]] = {}
    free = [0.0] * c.workers
    last_delivery: dict[int, float] = {}
    writes = 0
    posts = [i for i, s in enumerate(world.post_status.tolist()) if s == 200][:posts_limit]
    times, authors = world.post_time.tolist(), world.post_author.tolist()
    for p in posts:
        a = authors[p]
        targets = [u for u in idx[ptr[a] : ptr[a + 1]] if active[u]]
        for b in range(0, len(targets), c.batch_size):
            batch = targets[b : b + c.batch_size]
            begin = max(times[p] + LOOKUP_SECONDS, free[0])
            heapq.heapreplace(free, begin + len(batch) / c.worker_throughput)
            for j, u in enumerate(batch):
                t = begin + (j + 1) / c.worker_throughput
                cache = caches.setdefault(u, [])
                cache.insert(0, p)  # posts arrive in id order here: newest first is the front
                if len(cache) > c.cache_size:
                    cache.pop()
                writes += 1
                last_delivery[p] = max(last_delivery.get(p, 0.0), t)
    return caches, last_delivery, writes


def check(run, caches, last_delivery, posts_limit: int | None) -> None:
    for p, t in list(last_delivery.items())[:2000]:
        assert abs(run.delay[p] - (t - run.world.post_time[p])) < 1e-9, p
    if posts_limit is None:
        for u, cache in list(caches.items())[:2000]:
            assert run.cache_idx[run.cache_ptr[u] : run.cache_ptr[u + 1]].tolist() == cache, u


def case(title: str, config: FeedConfig, posts_limit: int | None) -> None:
    t_world, world = best_of(lambda: build_world(config), repeat=1)
    t_run, run = best_of(lambda: simulate_feed(config, "push", world))
    t_loop, (caches, last, writes) = best_of(lambda: plain_push(world, posts_limit), repeat=1)
    check(run, caches, last, posts_limit)
    total = int(run.writes_per_post.sum())
    scaled = t_loop * total / max(writes, 1)
    note = (
        ""
        if posts_limit is None
        else f" (first {posts_limit:,} posts, {writes:,} writes, scaled to {total:,})"
    )
    print(f"\n{title}")
    print(f"  world (graph, activity, posts, loads):   {t_world:6.2f} s")
    print(
        f"  engine, push fanout + caches:            {t_run:6.2f} s   ({total / t_run / 1e6:.2f} M writes/s)"
    )
    print(f"  plain-Python loop of the same model:     {scaled:6.2f} s{note}")
    print(f"  speed-up over the loop: {scaled / t_run:.1f}x; engine end to end {t_world + t_run:.2f} s")


def main() -> None:
    case(
        "One post fanned out to 1,000,000 followers (10,000-user graph + the star, 8 workers, batches of 4,000)",
        FeedConfig(
            users=10_000, seed=1, posts=1, celebrity_followers=1_000_000, celebrity_posts=1, workers=8
        ),
        None,
    )
    case(
        "10,000 posts on a 100,000-user graph (4,600 posts/s, 300,000 loads/s)",
        FeedConfig(users=100_000, seed=1, posts=10_000, post_rate=4_600, read_rate=300_000),
        2_000,
    )
    cfg = FeedConfig(users=100_000, seed=1, posts=10_000, post_rate=4_600, read_rate=300_000)
    world = build_world(cfg)
    for name in ("pull", "hybrid", "per_pair"):
        t, _ = best_of(lambda name=name: simulate_feed(cfg, name, world), repeat=1)
        print(f"  {name:<8} on the same 100,000-user world: {t:.2f} s")
    print(f"numpy {np.__version__}")


if __name__ == "__main__":
    main()
