"""What each algorithm keeps in memory per client, measured on the real state rather than estimated.

A sliding log with a limit of 70,000 a day holds 70,000 timestamps for a busy client; a counter holds two
numbers whatever the limit. :func:`state_cost` drives one client to its limit through a
:class:`~sdcore.ratelimit.store.MemoryStore` and then measures what the store holds for it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from sdcore.ratelimit.limiters import make_limiter
from sdcore.ratelimit.store import MemoryStore
from sdcore.ratelimit.units import MICROS_PER_SECOND

COST_ALGORITHMS: tuple[str, ...] = (
    "token_bucket",
    "leaking_bucket",
    "fixed_window",
    "sliding_log",
    "sliding_window_counter",
    "gcra",
)


@dataclass(frozen=True)
class StateCost:
    algorithm: str
    limit: int
    numbers: int  # integers stored for the client
    python_bytes: int  # deep size of the stored Python objects
    packed_bytes: (
        int  # 8 bytes per number: what a compact store (or a Redis hash/zset payload) needs at least
    )


def _deep_size(obj) -> int:
    size = sys.getsizeof(obj)
    if isinstance(obj, tuple | list):
        size += sum(_deep_size(x) for x in obj)
    return size


def _count_numbers(obj) -> int:
    if isinstance(obj, tuple | list):
        return sum(_count_numbers(x) for x in obj)
    return 0 if obj is None else 1


def state_cost(algorithm: str, limit: int, window: float = 86_400.0) -> StateCost:
    """Send ``limit`` requests from one client, evenly over the first half of a window, and measure."""
    if algorithm not in COST_ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(COST_ALGORITHMS)} (got {algorithm!r})")
    if not 1 <= limit <= 200_000:
        raise ValueError(f"limit must be between 1 and 200,000 for this measurement (got {limit:,})")
    store = MemoryStore()
    limiter = make_limiter(algorithm, limit, window, store)
    # What limiter.allow(t, "client") does to the store, without building a Decision per request: the
    # store's step with the limiter's integer parameters (in the store's argument order) at round(t * 1e6) µs.
    step, params = getattr(store, algorithm), tuple(limiter.params.values())
    for t in np.linspace(0.0, window / 2, limit, endpoint=False).tolist():
        step("client", round(t * MICROS_PER_SECOND), *params)
    state = store.peek(algorithm, "client")
    n = _count_numbers(state)
    return StateCost(algorithm, limit, n, _deep_size(state), 8 * n)


def state_cost_table(limits=(10, 100, 1_000, 10_000, 70_000), window: float = 86_400.0) -> list[StateCost]:
    return [state_cost(a, n, window) for n in limits for a in COST_ALGORITHMS]
