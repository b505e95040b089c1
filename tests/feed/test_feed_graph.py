"""The follower graph: CSR arrays both ways, the scale-free tail, the celebrity star, uploaded edge lists."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.feed import (
    MAX_EDGE_LIST_BYTES,
    FeedConfig,
    neighbourhood,
    parse_edge_list,
    scale_free_graph,
    with_star,
)
from sdcore.feed.graph import FollowerGraph


def test_csr_matches_networkx_on_the_same_edges():
    """In- and out-degrees and neighbour sets equal networkx's DiGraph built from the same edge list."""
    g = scale_free_graph(2_000, 12, 2.4, seed=3)
    d = nx.DiGraph()
    d.add_nodes_from(range(g.users))
    d.add_edges_from(zip(g.follower.tolist(), g.followee.tolist(), strict=True))
    assert d.number_of_edges() == g.edges
    assert [d.in_degree(u) for u in range(g.users)] == g.follower_counts.tolist()
    assert [d.out_degree(u) for u in range(g.users)] == g.followee_counts.tolist()
    for u in (0, 1, 17, 1999):
        assert sorted(d.predecessors(u)) == g.followers_of(u).tolist()
        assert sorted(d.successors(u)) == g.followees_of(u).tolist()


@settings(max_examples=40)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=200))
def test_from_edges_drops_self_follows_and_repeats(pairs):
    """Every edge kept is distinct and not a self-follow; the set of kept edges is exactly the input's set
    minus self-follows; both CSR directions hold the same edges."""
    src = np.array([a for a, _ in pairs], dtype=np.int64)
    dst = np.array([b for _, b in pairs], dtype=np.int64)
    g = FollowerGraph.from_edges(31, src, dst)
    kept = set(zip(g.follower.tolist(), g.followee.tolist(), strict=True))
    assert kept == {(a, b) for a, b in pairs if a != b} and len(kept) == g.edges
    via_followers = {(int(f), j) for j in range(31) for f in g.followers_of(j)}
    assert via_followers == kept


def test_heavy_tail_and_lighter_tail():
    """A smaller exponent gives a heavier tail: the most-followed account holds a larger share."""
    heavy = scale_free_graph(20_000, 20, 2.1, seed=1).follower_counts
    light = scale_free_graph(20_000, 20, 3.5, seed=1).follower_counts
    assert heavy.max() > 20 * np.median(heavy)
    assert heavy.max() / heavy.sum() > 3 * light.max() / light.sum()
    out = scale_free_graph(20_000, 20, 2.5, seed=2).followee_counts
    assert abs(out.mean() - 20) < 0.5  # 1 + Poisson(19), minus the few repeats dropped


def test_same_seed_same_graph():
    a, b = scale_free_graph(500, 8, 2.5, seed=9), scale_free_graph(500, 8, 2.5, seed=9)
    assert np.array_equal(a.follower, b.follower) and np.array_equal(a.followee, b.followee)
    assert not np.array_equal(a.followee, scale_free_graph(500, 8, 2.5, seed=10).followee)


@pytest.mark.parametrize("star", [10, 499, 5_000])
def test_star_has_exactly_its_followers(star):
    """User 0 ends with exactly ``star`` followers; extra accounts appear only when the graph is too small,
    and they follow only the star."""
    g = scale_free_graph(500, 8, 2.5, seed=4)
    s = with_star(g, star, seed=4)
    assert s.follower_counts[0] == star
    assert s.users == max(500, star + 1)
    if s.users > 500:
        assert set(s.followee_counts[500:].tolist()) == {1}
    assert np.array_equal(s.followees_of(0), g.followees_of(0))


def test_edge_list_parses_header_comments_and_repeats():
    el = parse_edge_list(b"follower,followee\n# a comment\n1,2\n\n2,1\n1,2  # again\n3,0\n")
    assert el.edges == 4 and el.duplicates == 1 and el.users == 4
    g = el.graph()
    assert g.edges == 3 and g.followers_of(2).tolist() == [1]


@pytest.mark.parametrize(
    "text, message",
    [
        ("1,2\n3\n", "line 2: expected two user ids"),
        ("1,2\n2,x\n", "line 2: user ids must be whole numbers"),
        ("1,2\n\n4,4\n", "line 3: a user cannot follow themselves"),
        ("1,200000\n", "line 1: user ids must be between 0 and 99,999"),
        ("# nothing\n", "has no edges"),
        ("1,-2\n", "line 1: user ids must be whole numbers"),
    ],
)
def test_edge_list_errors_name_the_line(text, message):
    with pytest.raises(ValueError, match=message):
        parse_edge_list(text)


def test_edge_list_caps_bytes_edges_and_encoding():
    with pytest.raises(ValueError, match=f"at most {MAX_EDGE_LIST_BYTES:,} bytes"):
        parse_edge_list(b"1,2\n" * (MAX_EDGE_LIST_BYTES // 4 + 1))
    with pytest.raises(ValueError, match="at most 200,000 edges"):
        parse_edge_list("".join(f"{i % 999},{i % 999 + 1}\n" for i in range(200_001)))
    with pytest.raises(ValueError, match="UTF-8"):
        parse_edge_list(b"1,2\n\xff\xfe,3\n")


def test_edge_list_enters_the_config_by_its_hash():
    a, b = parse_edge_list("1,2\n2,3\n"), parse_edge_list(b"1,2\n2,3\n")
    c = parse_edge_list("1,2\n3,2\n")
    assert a == b and hash(a) == hash(b) and a != c
    assert FeedConfig(users=4, seed=0, edge_list=a) == FeedConfig(users=4, seed=0, edge_list=b)
    assert hash(FeedConfig(users=4, seed=0, edge_list=a)) == hash(FeedConfig(users=4, seed=0, edge_list=b))
    with pytest.raises(ValueError, match="users must be at least 1 \\+ the largest id"):
        FeedConfig(users=3, seed=0, edge_list=a)


def test_neighbourhood_is_a_sample_of_real_followers():
    g = with_star(scale_free_graph(300, 6, 2.5, seed=1), 10_000, seed=1)
    hood = neighbourhood(g, 0, 40, seed=1)
    assert hood.total_followers == 10_000 and len(hood.nodes) == 41 and hood.nodes[0] == 0
    assert set(hood.nodes[1:]) <= set(g.followers_of(0).tolist())
    assert all((i, 0) in hood.edges for i in range(1, 41))
    for a, b in hood.edges:
        assert hood.nodes[b] in set(g.followees_of(hood.nodes[a]).tolist())


def test_followers_csr_is_the_stable_order_by_followee():
    """from_edges sorts (followee, follower) codes instead of a stable argsort by followee: the same order."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        users = int(rng.integers(2, 2000))
        m = int(rng.integers(0, 5000))
        f, e = rng.integers(0, users, m), rng.integers(0, users, m)
        g = FollowerGraph.from_edges(users, f, e)
        keep = f != e
        code = np.unique(f[keep] * users + e[keep])
        src, dst = code // users, code % users
        expected = src[np.argsort(dst, kind="stable")]
        assert g.followers_idx.dtype == expected.dtype
        assert np.array_equal(g.followers_idx, expected)
