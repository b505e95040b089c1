"""quorum_table: every (R, W) for one N from one set of draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.kvstore import Exponential, LegLatencies, quorum_table, simulate_staleness

COLUMNS = [
    "n",
    "r",
    "w",
    "strong",
    "closed_form_staleness",
    "t_ms",
    "p_consistent",
    "read_p50_ms",
    "read_p99_ms",
    "read_p999_ms",
    "write_p50_ms",
    "write_p99_ms",
    "write_p999_ms",
]


def test_rows_reproduce_simulate_staleness_exactly():
    """Each row equals ``simulate_staleness`` for that (R, W) with the same seed and trials: the same
    draws (more than one block of trials), the same P(consistent) to the bit, the same quantiles."""
    n, trials, seed, t = 4, 70_000, 17, 1.5
    table = quorum_table(n, "linkedin-disk", trials, seed, t_ms=t)
    assert list(table.columns) == COLUMNS
    assert len(table) == n * n
    for row in table.itertuples():
        result = simulate_staleness(n, row.r, row.w, "linkedin-disk", [t], trials, seed)
        assert row.p_consistent == result.consistent[0]
        assert row.read_p50_ms == pytest.approx(result.read_latency.p50, rel=1e-12)
        assert row.read_p999_ms == pytest.approx(result.read_latency.p999, rel=1e-12)
        assert row.write_p99_ms == pytest.approx(result.write_latency.p99, rel=1e-12)
        assert row.write_p999_ms == pytest.approx(result.write_latency.p999, rel=1e-12)


@settings(max_examples=15)
@given(
    st.integers(1, 7), st.sampled_from(["linkedin-ssd", "linkedin-disk", "yammer"]), st.integers(0, 2**32 - 1)
)
def test_table_invariants(n, preset, seed):
    """Every (R, W) appears once; ``strong`` is R + W > N; strong rows are always consistent and have
    zero closed-form staleness; P(consistent) grows with R and with W; read latency quantiles grow with R
    and do not depend on W; write latency quantiles grow with W and do not depend on R."""
    table = quorum_table(n, preset, 3_000, seed, t_ms=0.0)
    assert sorted(zip(table.r, table.w, strict=True)) == [
        (r, w) for r in range(1, n + 1) for w in range(1, n + 1)
    ]
    assert (table.strong == (table.r + table.w > n)).all()
    assert (table.loc[table.strong, "p_consistent"] == 1.0).all()
    assert (table.loc[table.strong, "closed_form_staleness"] == 0.0).all()
    for r in range(1, n + 1):
        expected = [math.comb(n - w, r) / math.comb(n, r) for w in range(1, n + 1)]
        got = table.loc[table.r == r].sort_values("w")["closed_form_staleness"].to_numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    grid = table.pivot(index="r", columns="w", values="p_consistent").to_numpy()
    assert np.all(np.diff(grid, axis=0) >= 0) and np.all(np.diff(grid, axis=1) >= 0)
    for column, varies in (
        ("read_p999_ms", "r"),
        ("read_p50_ms", "r"),
        ("write_p999_ms", "w"),
        ("write_p50_ms", "w"),
    ):
        other = "w" if varies == "r" else "r"
        values = table.pivot(index=varies, columns=other, values=column).to_numpy()
        assert np.all(np.diff(values, axis=0) >= 0)
        assert np.all(values == values[:, :1])


def test_table_at_commit_matches_the_closed_form():
    """With negligible A and R legs every partial row's P(consistent at t=0) is 1 - the closed form,
    within 5 binomial standard errors (see test_kvstore_wars for why)."""
    legs = LegLatencies(w=Exponential(1.0), a=Exponential(1e9), r=Exponential(1e9), s=Exponential(1.0))
    trials = 40_000
    table = quorum_table(5, legs, trials, 8, t_ms=0.0)
    sigma = np.sqrt(table.closed_form_staleness * (1 - table.closed_form_staleness) / trials)
    assert np.all(np.abs(table.p_consistent - (1 - table.closed_form_staleness)) <= 5 * sigma + 1e-12)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"n": 11}, "N, the number of replicas, must be between 1 and 10 here (got N=11)"),
        ({"trials": 500_001}, "trials must be between 1 and 500,000 (got trials=500,001)"),
        ({"t_ms": [1.0, 2.0]}, "t_ms must be a single time in ms for the table (got t_ms=[1.0, 2.0])"),
        ({"t_ms": -2.0}, "t_ms must contain only finite times >= 0 ms after commit (got -2)"),
        ({"seed": 1.5}, "seed must be a whole number (got seed=1.5)"),
    ],
)
def test_bad_table_input(kwargs, words):
    """Bad parameters raise a ValueError naming the parameter, its value and the allowed range."""
    args = {"n": 3, "latency": "yammer", "trials": 100, "seed": 0, "t_ms": 0.0} | kwargs
    with pytest.raises(ValueError) as info:
        quorum_table(**args)
    assert str(info.value) == words
