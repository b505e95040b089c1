"""The WARS draws are shared between (R, W) questions and the quorum table, with the same numbers as fresh draws."""

from __future__ import annotations

import numpy as np
import pytest

from sdcore.kvstore import wars
from sdcore.kvstore.wars import quorum_table, simulate_staleness


@pytest.fixture
def draws(monkeypatch):
    """Counts how often the legs are drawn, with an empty cache before and after."""
    calls = []
    real = wars._draw_blocks

    def counted(*args):
        calls.append(args)
        return real(*args)

    wars._cached_blocks.cache_clear()
    monkeypatch.setattr(wars, "_draw_blocks", counted)
    yield calls
    wars._cached_blocks.cache_clear()


def test_every_r_and_w_and_the_table_read_one_set_of_draws(draws):
    runs = {
        (r, w): simulate_staleness(3, r, w, "linkedin-ssd", [0.0, 5.0], 70_000, 4)
        for r in (1, 2)
        for w in (1, 3)
    }
    table = quorum_table(3, "linkedin-ssd", 70_000, 4)
    assert len(draws) == 1  # one draw of the legs for four questions and the table
    for (r, w), res in runs.items():
        row = table[(table.r == r) & (table.w == w)].iloc[0]
        assert row.p_consistent == res.consistent[0]
        assert row.read_p99_ms == res.read_latency.p99 and row.write_p999_ms == res.write_latency.p999
    blocks = wars._cached_blocks(wars.resolve_latency("linkedin-ssd"), 3, 70_000, 4)
    assert len(blocks) == 2 and all(not a.flags.writeable for b in blocks for a in b)  # 65,536 + the rest


def test_cached_draws_give_the_numbers_of_fresh_draws(draws, monkeypatch):
    cached = simulate_staleness(5, 2, 2, "yammer", [0.0, 1.0, 10.0], 20_000, 9)
    monkeypatch.setattr(wars, "_CACHED_CELLS", 0)  # too big to keep: drawn afresh
    fresh = simulate_staleness(5, 2, 2, "yammer", [0.0, 1.0, 10.0], 20_000, 9)
    assert len(draws) == 2
    assert np.array_equal(cached.consistent, fresh.consistent)
    assert np.array_equal(cached.consistent_after_ms, fresh.consistent_after_ms)
    assert cached.read_latency == fresh.read_latency and cached.write_latency == fresh.write_latency


def test_a_question_too_large_to_keep_is_drawn_each_time(draws):
    trials = wars._CACHED_CELLS // 2 + 1  # x N = 2 replicas: one cell over the cap
    for _ in range(2):
        wars._blocks(wars.resolve_latency("linkedin-ssd"), 2, trials, 0)
    assert len(draws) == 2 and wars._cached_blocks.cache_info().currsize == 0
