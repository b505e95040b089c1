"""Caching by the numbers: what share of requests a cache of the hottest items serves under a Zipf law.

Popularity in real workloads is close to Zipf: the i-th most popular of ``items`` items is asked for with
probability proportional to i^-s (YCSB's default s = 0.99). A cache holding the ``cached`` most popular
items then serves

    H = sum_{i <= cached} i^-s  /  sum_{i <= items} i^-s

of the requests (the generalized harmonic numbers, computed exactly, never a continuous approximation).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from sdcore import checks

MAX_ITEMS = 1_000_000_000
_CHUNK = 4_000_000  # terms summed per numpy block: memory stays bounded for a billion items


def generalized_harmonic(n: int, exponent: float) -> float:
    """H(n, s) = sum_{i=1..n} i^-s, summed in float64 blocks from the smallest terms up.

    A million terms cost milliseconds, and every page that sizes a cache asks for the same few sums again:
    each (n, s) is summed once per process (a pure function of its two numbers, so one answer serves every
    session)."""
    n = checks.int_between("n", n, 0, MAX_ITEMS)
    s = checks.number_between("exponent", exponent, 0.0, 10.0)
    return _harmonic(int(n), float(s))


@functools.lru_cache(maxsize=256)
def _harmonic(n: int, s: float) -> float:
    total = 0.0
    # Smallest terms first keeps the rounding error of a long sum at the level of one term.
    for hi in range(n, 0, -_CHUNK):
        lo = max(0, hi - _CHUNK)
        i = np.arange(hi, lo, -1, dtype=np.float64)
        total += float(np.sum(i**-s))
    return total


def zipf_hit_ratio(items: int, exponent: float, cached: int) -> float:
    """Share of requests served by a cache of the ``cached`` hottest of ``items`` Zipf(``exponent``) items.

    >>> round(zipf_hit_ratio(1000, 0.0, 10), 3)   # uniform popularity: 10 of 1,000 items, 1% of requests
    0.01
    >>> zipf_hit_ratio(100, 0.99, 100)
    1.0
    """
    items = checks.int_between("items", items, 1, MAX_ITEMS)
    cached = checks.int_between("cached", cached, 0, items, hi_name="items")
    s = checks.number_between("exponent", exponent, 0.0, 10.0)
    if cached == items:
        return 1.0
    return generalized_harmonic(cached, s) / generalized_harmonic(items, s)


# -- a CDN's request hit ratio vs its byte hit ratio ---------------------------------------------------------

CDN_POLICIES = ("density", "hottest")


@dataclass(frozen=True)
class CdnHitRatios:
    """What an edge cache of ``cache_bytes`` serves of a static catalogue: the share of requests
    (``request_hit_ratio``, what users feel as latency) and the share of bytes (``byte_hit_ratio``, what the
    origin's bandwidth bill feels). They differ because objects differ in size."""

    objects: int
    cached_objects: int
    cache_bytes: float
    catalogue_bytes: float
    request_hit_ratio: float
    byte_hit_ratio: float
    mean_request_bytes: float  # bytes per request, weighted by popularity
    policy: str


def static_asset_sizes(count: int, median_bytes: float, sigma: float, seed: int) -> np.ndarray:
    """``count`` object sizes drawn log-normally (web objects' sizes are close to log-normal), in bytes."""
    count = checks.int_between("count", count, 1, 10_000_000)
    median = checks.positive_finite("median_bytes", median_bytes, " bytes")
    s = checks.number_between("sigma", sigma, 0.0, 5.0)
    rng = np.random.default_rng(checks.seed(seed))
    return np.maximum(1.0, np.round(rng.lognormal(np.log(median), s, count)))


def cdn_hit_ratios(
    sizes_bytes: np.ndarray, exponent: float, cache_bytes: float, policy: str = "density"
) -> CdnHitRatios:
    """Request and byte hit ratios of an edge cache over objects listed hottest first (Zipf ``exponent``).

    ``policy="hottest"`` keeps the most popular objects that fit, in popularity order (an object too large for
    the space left ends the list); ``policy="density"`` keeps the objects with the most requests per byte first
    (the greedy answer to "maximise hits in this many bytes", which size-aware CDN caches approximate): it wins
    requests by leaving large objects to the origin, so its byte hit ratio falls below its request hit ratio.
    """
    sizes = np.asarray(sizes_bytes, dtype=np.float64)
    if sizes.ndim != 1 or sizes.size == 0 or not np.all(np.isfinite(sizes)) or np.any(sizes <= 0):
        raise ValueError(f"sizes_bytes must be a non-empty list of sizes > 0 bytes (got {sizes.size} values)")
    s = checks.number_between("exponent", exponent, 0.0, 10.0)
    capacity = checks.real_number("cache_bytes", cache_bytes)
    if capacity < 0:
        raise ValueError(f"cache_bytes must be a number >= 0 (got cache_bytes={cache_bytes!r})")
    policy = str(checks.one_of("policy", policy, CDN_POLICIES))
    ranks = np.arange(1, sizes.size + 1, dtype=np.float64)
    popularity = ranks**-s
    popularity /= popularity.sum()
    order = np.argsort(-popularity / sizes, kind="stable") if policy == "density" else np.arange(sizes.size)
    fits = np.cumsum(sizes[order]) <= capacity
    cached = order[: int(np.argmin(fits)) if not fits.all() else sizes.size]
    byte_weight = popularity * sizes
    whole = cached.size == sizes.size
    return CdnHitRatios(
        objects=int(sizes.size),
        cached_objects=int(cached.size),
        cache_bytes=capacity,
        catalogue_bytes=float(sizes.sum()),
        request_hit_ratio=1.0 if whole else min(1.0, float(popularity[cached].sum())),
        byte_hit_ratio=1.0 if whole else min(1.0, float(byte_weight[cached].sum() / byte_weight.sum())),
        mean_request_bytes=float(byte_weight.sum()),
        policy=policy,
    )
