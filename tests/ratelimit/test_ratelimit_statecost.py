"""state_cost drives the store's step directly (no Decision per request): the state it measures is the one
``limiter.allow`` would leave, for every algorithm, limit and window."""

import numpy as np
import pytest

from sdcore.ratelimit.limiters import make_limiter
from sdcore.ratelimit.statecost import COST_ALGORITHMS, StateCost, _count_numbers, _deep_size, state_cost
from sdcore.ratelimit.store import MemoryStore


def through_allow(algorithm: str, limit: int, window: float) -> tuple[StateCost, tuple | None]:
    store = MemoryStore()
    limiter = make_limiter(algorithm, limit, window, store)
    for t in np.linspace(0.0, window / 2, limit, endpoint=False).tolist():
        limiter.allow(t, "client")
    state = store.peek(algorithm, "client")
    n = _count_numbers(state)
    return StateCost(algorithm, limit, n, _deep_size(state), 8 * n), state


@pytest.mark.parametrize("algorithm", COST_ALGORITHMS)
@pytest.mark.parametrize(
    "limit, window", [(1, 86_400.0), (7, 1.0), (100, 3.3), (1_000, 86_400.0), (4_999, 0.01)]
)
def test_state_cost_measures_what_allow_leaves(algorithm, limit, window):
    want, _ = through_allow(algorithm, limit, window)
    assert state_cost(algorithm, limit, window) == want
