"""Preference lists on the ring, for drawing: the same nodes as ``HashRing.preference_list``, plus the points."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdcore.charts.kvstore import preference_ring_figure
from sdcore.hashing import HashRing
from sdcore.kvstore.placement import DEMO_KEYS, DEMO_VNODES, demo_placement, replica_placement

RING = HashRing([f"S{i}" for i in range(1, 9)], vnodes=DEMO_VNODES)
OWNER_AT = {
    int(p): RING.ring_points().nodes[o]
    for p, o in zip(RING.ring_points().positions, RING.ring_points().owner, strict=True)
}


@given(st.lists(st.text(min_size=1, max_size=12), min_size=1, max_size=5), st.integers(1, 8))
def test_placement_matches_the_preference_list(keys, n):
    """Replicas are the ring's preference list: N distinct nodes, each found at a point that node owns; every
    skipped point belongs to a node already chosen before it."""
    for p in replica_placement(RING, keys, n):
        assert list(p.replicas) == RING.preference_list(p.key, n)
        assert len(set(p.replicas)) == n == len(p.replica_points)
        assert [OWNER_AT[x] for x in p.replica_points] == list(p.replicas)
        assert all(OWNER_AT[x] in p.replicas for x in p.skipped_points)
        assert len(p.skipped_points) <= len(RING.ring_points()) - n


def test_demo_keys_show_a_skipped_point_with_three_replicas():
    """The page's keys include one whose walk passes over a point of a node already holding a copy."""
    assert any(p.skipped_points for p in replica_placement(RING, DEMO_KEYS, 3))


def test_demo_placement_has_enough_nodes():
    """Eight nodes, or N when N is larger, so every key gets N distinct nodes."""
    for n in (1, 3, 8, 10):
        ring, placements = demo_placement(n)
        assert len(ring.nodes) == max(8, n) and ring.vnodes == DEMO_VNODES
        assert [p.key for p in placements] == list(DEMO_KEYS)
        assert all(len(set(p.replicas)) == n for p in placements)


def test_bad_n():
    with pytest.raises(ValueError, match="at most the number of nodes"):
        replica_placement(RING, ["k"], 9)
    with pytest.raises(ValueError, match="N must be a whole number"):
        replica_placement(RING, ["k"], 0)


def test_ring_figure_draws_each_replica():
    """One trace per node with its points; per key an arc named with its preference list and one spoke per
    replica hovering "coordinator" for the first; skipped points when there are any."""
    placements = replica_placement(RING, DEMO_KEYS, 3)
    fig = preference_ring_figure(RING.ring_points(), placements)
    names = [t.name for t in fig.data if t.name]
    assert names[:8] == list(RING.nodes)
    for p in placements:
        assert f"{p.key} → {', '.join(p.replicas)}" in names
        spokes = [
            t for t in fig.data if t.mode == "lines+markers" and t.hovertemplate.startswith(f"{p.key}: ")
        ]
        assert len(spokes) == 3 and "coordinator on " + p.replicas[0] in spokes[0].hovertemplate
    skipped = [t for t in fig.data if t.name and t.name.startswith("skipped")]
    assert len(skipped) == 1 and len(skipped[0].theta) == sum(len(p.skipped_points) for p in placements)
    json.loads(fig.to_json())
