"""Movement accounting, the minimum any scheme must move, and load spread against theory."""

import math

import numpy as np
import pytest

from sdcore.hashing import (
    HashRing,
    expected_key_cv,
    expected_share_cv,
    load_stats,
    make_keys,
    minimum_movement_fraction,
    movement,
    spread_vs_vnodes,
)


def test_movement_counts_flows():
    m = movement(["a", "a", "b", "c"], ["a", "d", "d", "c"])
    assert (m.total, m.moved, m.fraction) == (4, 2, 0.5)
    assert dict(m.flows) == {("a", "d"): 1, ("b", "d"): 1}
    assert m.moved_mask.tolist() == [False, True, True, False]
    assert m.moved_to() == {"d": 2} and m.moved_from() == {"a": 1, "b": 1}
    with pytest.raises(ValueError, match="same keys"):
        movement(["a"], ["a", "b"])


@pytest.mark.parametrize("n", [1, 2, 4, 9])
def test_minimum_movement_is_one_over_n_plus_one_when_adding(n):
    before = {f"s{i}": 1.0 for i in range(n)}
    after = {**before, "new": 1.0}
    assert math.isclose(minimum_movement_fraction(before, after), 1 / (n + 1))
    assert math.isclose(minimum_movement_fraction(after, before), 1 / (n + 1))


def test_minimum_movement_weighted():
    """Adding a weight-2 node to weights 1+1: it should take 2/4 of the keys."""
    assert math.isclose(minimum_movement_fraction({"a": 1, "b": 1}, {"a": 1, "b": 1, "c": 2}), 0.5)


def test_ring_moves_exactly_the_new_nodes_share():
    """On a ring the keys that move are exactly those the new node now owns."""
    keys = make_keys(50_000, seed=2)
    ring = HashRing(["a", "b", "c", "d"], vnodes=50)
    before = ring.assign(keys)
    ring.add_node("e")
    after = ring.assign(keys)
    m = movement(before, after)
    assert m.moved == after.count("e")
    assert abs(m.fraction - ring.ring_shares()["e"]) < 4 * math.sqrt(0.2 * 0.8 / len(keys))


def test_share_cv_theory_closed_form():
    assert math.isclose(expected_share_cv([100] * 10), math.sqrt(9 / 1001))
    assert math.isclose(expected_key_cv([100] * 10, 10_000), math.sqrt(9 / 1001 + 9 / 10_000))


def test_measured_spread_matches_theory_on_average():
    """Over 40 random clusters, the mean squared share deviation is within 20% of (n-1)/(kn+1)."""
    for k in (1, 10, 100):
        curve = spread_vs_vnodes([f"s{i}" for i in range(8)], [k], samples=40)
        # The curve averages CVs; compare on the same footing by averaging squares over fresh samples.
        assert abs(curve.measured_cv[0] - curve.theory_cv[0]) / curve.theory_cv[0] < 0.2


def test_poor_hash_is_far_from_theory():
    """The byte-sum hash crowds every point into a sliver: its spread is many times the theory."""
    curve = spread_vs_vnodes([f"s{i}" for i in range(8)], [100], hash_name="poor")
    assert curve.measured_cv[0] > 5 * curve.theory_cv[0]


def test_load_stats_relative_to_weights():
    s = load_stats(np.array([0, 0, 1, 1, 1, 1]), ["a", "b"], {"a": 1.0, "b": 2.0})
    assert s.counts == (2, 4) and s.ideal == (2.0, 4.0)
    assert s.max_over_mean == 1.0 and s.cv == 0.0


def _spread_one_sort_per_ring(nodes, grid, hash_name, samples):
    """The spread as it was measured before: each ring of k points per node sorted on its own."""
    from sdcore.hashing.hashfuncs import hash_keys
    from sdcore.hashing.ring import RING_SIZE

    n, kmax = len(nodes), max(grid)
    grid = sorted(set(grid))
    cvs, maxes = np.zeros((samples, len(grid))), np.zeros((samples, len(grid)))
    for s in range(samples):
        names = list(nodes) if s == 0 else [f"{x}~{s}" for x in nodes]
        labels = [f"{x}#{i}" for x in names for i in range(kmax)]
        all_pos = hash_keys(labels, hash_name, bits=32).astype(np.int64).reshape(n, kmax)
        for g, k in enumerate(grid):
            pos, owner = all_pos[:, :k].ravel(), np.repeat(np.arange(n), k)
            order = np.lexsort((owner, pos))
            pos, owner = pos[order], owner[order]
            arcs = np.diff(pos, prepend=pos[-1] - RING_SIZE)
            share = np.bincount(owner, weights=arcs, minlength=n) / RING_SIZE * n
            cvs[s, g], maxes[s, g] = np.sqrt(np.mean((share - 1.0) ** 2)), share.max()
    return cvs.mean(axis=0), maxes.mean(axis=0)


@pytest.mark.parametrize(
    "nodes, grid, hash_name, samples",
    [
        (["a", "b", "c"], (1, 10, 100, 1000), "murmur3", 1),
        ([f"S{i}" for i in range(1, 6)], (1, 2, 5, 10, 20, 50), "poor", 3),  # many equal positions
        ([f"S{i}" for i in range(1, 21)], (1, 3, 7, 40), "md5", 2),
        (["x"], (1, 3), "sha1", 2),
    ],
)
def test_the_spread_from_one_sort_equals_sorting_each_ring(nodes, grid, hash_name, samples):
    curve = spread_vs_vnodes(nodes, grid, hash_name=hash_name, samples=samples)
    cv, mx = _spread_one_sort_per_ring(nodes, grid, hash_name, samples)
    assert np.array_equal(curve.measured_cv, cv) and np.array_equal(curve.measured_max, mx)
