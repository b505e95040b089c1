"""HashRing against a brute-force model, and the promises a consistent-hash ring makes."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sdcore.hashing import HashRing, hash32, make_keys
from sdcore.hashing.ring import MAX_POINTS

KEYS = make_keys(400, seed=7)


def model_owner(nodes: dict[str, float], vnodes: int, key: str, hash_name: str = "murmur3") -> str:
    """Brute force: list every point, sort by (position, node name), take the first at or after the key."""
    points = sorted(
        (hash32(f"{n}#{i}", hash_name), n) for n, w in nodes.items() for i in range(max(1, round(vnodes * w)))
    )
    h = hash32(key, hash_name)
    for pos, name in points:
        if pos >= h:
            return name
    return points[0][1]


def test_owner_matches_brute_force_for_every_hash_function():
    """For each hash function, node_for and assign agree with the sorted list of all points."""
    nodes = {"a": 1.0, "b": 2.0, "c": 0.5}
    for hash_name in ("murmur3", "md5", "sha1", "poor"):
        ring = HashRing(nodes, vnodes=20, hash_name=hash_name)
        expected = [model_owner(nodes, 20, k, hash_name) for k in KEYS[:100]]
        assert ring.assign(KEYS[:100]) == expected
        assert [ring.node_for(k) for k in KEYS[:100]] == expected


def test_point_positions_are_the_hash_of_the_label():
    """Point i of node X sits at hash32('X#i')."""
    ring = HashRing(["X"], vnodes=5)
    pts = ring.ring_points()
    assert sorted(pts.positions.tolist()) == sorted(hash32(f"X#{i}") for i in range(5))


class RingMachine(RuleBasedStateMachine):
    """After any sequence of adds and removes, every key's owner equals the model's, and a key moves only if
    its owner left or the node that takes it is the one just added."""

    def __init__(self):
        super().__init__()
        self.ring = HashRing(vnodes=8)
        self.model: dict[str, float] = {}
        self.owners: list[str] | None = None
        self.counter = 0

    @rule(weight=st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0]))
    def add(self, weight):
        name = f"n{self.counter}"
        self.counter += 1
        self.ring.add_node(name, weight)
        self.model[name] = weight
        after = self.ring.assign(KEYS)
        if self.owners is not None:
            for b, a in zip(self.owners, after, strict=True):
                assert a in (b, name), "a key moved to a node other than the one added"
        self.owners = after

    @precondition(lambda self: len(self.model) > 1)
    @rule(data=st.data())
    def remove(self, data):
        name = data.draw(st.sampled_from(sorted(self.model)))
        self.ring.remove_node(name)
        del self.model[name]
        after = self.ring.assign(KEYS)
        for b, a in zip(self.owners, after, strict=True):
            assert a == b or b == name, "a key moved although its owner stayed"
        self.owners = after

    @invariant()
    def matches_model(self):
        if self.model:
            assert self.ring.nodes == tuple(self.model)
            sample = KEYS[:40]
            assert self.ring.assign(sample) == [model_owner(self.model, 8, k) for k in sample]


TestRingMachine = RingMachine.TestCase
TestRingMachine.settings = settings(max_examples=25, stateful_step_count=8, deadline=None)


@given(st.integers(min_value=1, max_value=8), st.integers(min_value=1, max_value=30))
@settings(max_examples=30)
def test_adding_a_node_moves_keys_only_to_it(n, vnodes):
    """Adding a node never moves another node's points, so every moved key moves to the new node."""
    ring = HashRing([f"s{i}" for i in range(n)], vnodes=vnodes)
    before = ring.assign(KEYS)
    ring.add_node("new")
    after = ring.assign(KEYS)
    assert all(a == b or a == "new" for a, b in zip(after, before, strict=True))


def test_preference_list_is_distinct_physical_nodes_clockwise():
    """The preference list walks clockwise, skipping repeated physical nodes, starting at the key's owner."""
    ring = HashRing({"a": 1, "b": 1, "c": 1, "d": 1}, vnodes=10)
    pts = ring.ring_points()
    for key in KEYS[:50]:
        pl = ring.preference_list(key, 3)
        assert len(set(pl)) == 3 and pl[0] == ring.node_for(key)
        # Walk the sorted points by hand.
        h = hash32(key)
        start = int(np.searchsorted(pts.positions, h)) % len(pts)
        seen = []
        for j in range(len(pts)):
            name = pts.nodes[pts.owner[(start + j) % len(pts)]]
            if name not in seen:
                seen.append(name)
        assert pl == seen[:3]
    assert sorted(ring.preference_list(KEYS[0], 4)) == ["a", "b", "c", "d"]


def test_weights_scale_points_and_small_weights_still_own_keys():
    """A node has max(1, round(vnodes * w)) points; a weight-5 node beside two weight-1024 nodes owns keys."""
    ring = HashRing(vnodes=1)
    ring.add_node("big1", 1024)
    ring.add_node("big2", 1024)
    ring.add_node("small", 5)
    counts = {n: int((ring.ring_points().owner == i).sum()) for i, n in enumerate(ring.nodes)}
    assert counts == {"big1": 1024, "big2": 1024, "small": 5}
    owners = ring.assign(make_keys(200_000, seed=1))
    assert owners.count("small") > 0
    tiny = HashRing({"a": 0.001}, vnodes=100)
    assert len(tiny.ring_points()) == 1


def test_ring_shares_sum_to_one_and_match_key_counts():
    """Arc shares add up to the whole ring, and key counts follow the shares (binomial tolerance)."""
    ring = HashRing(["a", "b", "c"], vnodes=3)
    shares = ring.ring_shares()
    assert math.isclose(sum(shares.values()), 1.0, rel_tol=1e-12)
    keys = make_keys(100_000, seed=3)
    owners = ring.assign(keys)
    for name, share in shares.items():
        sd = math.sqrt(len(keys) * share * (1 - share))
        assert abs(owners.count(name) - share * len(keys)) < 5 * sd


def test_bounded_loads_caps_and_placement_rule():
    """With load factor c, no node exceeds ceil(c K w_i / sum w), and each key sits at the first point
    clockwise whose node was below its cap when the key was placed (checked by a slow, literal model)."""
    nodes = {"a": 1.0, "b": 1.0, "c": 2.0}
    ring = HashRing(nodes, vnodes=2, load_factor=1.1)
    keys = make_keys(3_000, seed=5)
    owners = ring.assign(keys)
    caps = {n: math.ceil(Fraction(11, 10) * len(keys) * Fraction(w) / 4) for n, w in nodes.items()}
    assert ring.capacities(len(keys)) == caps
    assert all(owners.count(n) <= caps[n] for n in nodes)
    pts = ring.ring_points()
    load = dict.fromkeys(nodes, 0)
    expected = []
    for k in keys:
        j = int(np.searchsorted(pts.positions, hash32(k))) % len(pts)
        while load[pts.nodes[pts.owner[j]]] >= caps[pts.nodes[pts.owner[j]]]:
            j = (j + 1) % len(pts)
        load[pts.nodes[pts.owner[j]]] += 1
        expected.append(pts.nodes[pts.owner[j]])
    assert owners == expected
    # node_for ignores the caps: it is the plain ring owner.
    plain = HashRing(nodes, vnodes=2)
    assert [ring.node_for(k) for k in keys[:200]] == plain.assign(keys[:200])


def test_bounded_load_factor_exact_ceiling():
    """Caps use exact arithmetic: 1.1 x 1000 keys over one node is 1100, not 1101."""
    ring = HashRing(["a"], vnodes=1, load_factor=1.1)
    assert ring.capacities(1000) == {"a": 1100}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: HashRing(vnodes=0), "vnodes must be between 1"),
        (lambda: HashRing(["a", "a"]), "already in the cluster"),
        (lambda: HashRing({"a": 0}), "greater than 0"),
        (lambda: HashRing({"a": -1}), "greater than 0"),
        (lambda: HashRing(["a"]).remove_node("b"), "no node 'b'"),
        (lambda: HashRing(["a", "b"]).preference_list("k", 3), "at most the number of nodes"),
        (lambda: HashRing().node_for("k"), "no nodes"),
        (lambda: HashRing().assign(["k"]), "no nodes"),
        (lambda: HashRing(["a"], load_factor=0.9), "load_factor"),
        (lambda: HashRing(["a"], hash_name="crc"), "hash_name must be one of"),
        (lambda: HashRing({"a": 15, "b": 15}, vnodes=MAX_POINTS // 20), "limit is 2,000,000"),
        (lambda: HashRing(["a"]).assign("abc"), "list of keys"),
    ],
)
def test_bad_input_gives_a_clear_sentence(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_same_placement_in_another_process():
    """Placement uses no salted hash(): a fresh interpreter with another PYTHONHASHSEED agrees."""
    import os
    import subprocess
    import sys

    code = "from sdcore.hashing import HashRing, make_keys; print(HashRing(['a','b','c']).assign(make_keys(50, 9)))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == str(HashRing(["a", "b", "c"]).assign(make_keys(50, 9)))


@given(
    st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=300).map(sorted),
    st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=300),
)
@settings(max_examples=80)
def test_table_lookup_equals_binary_search(points, queries):
    """The 16-bit lookup table finds the same first point at or after each hash as np.searchsorted, with
    wrap-around, including hashes equal to a point, 0 and 2**32 - 1, and crowded rings."""
    from sdcore.hashing.ring import RingPoints

    pos = np.array(points, dtype=np.uint32)
    q = np.array([*queries, 0, 2**32 - 1, *points[:5]], dtype=np.uint32)
    pts = RingPoints(pos, np.zeros(len(pos), np.int32), ("a",))
    expected = np.searchsorted(pos, q, side="left")
    expected[expected == len(pos)] = 0
    assert pts.first_at_or_after(q).tolist() == expected.tolist()
    crowded = RingPoints(np.arange(500, dtype=np.uint32), np.zeros(500, np.int32), ("a",))
    exp2 = np.searchsorted(crowded.positions, q)
    exp2[exp2 == 500] = 0
    assert crowded.first_at_or_after(q).tolist() == exp2.tolist()
