"""Merkle trees against brute force: the leaves that differ, the keys they hold, the hashes a top-down walk
compares, and a repair that leaves both replicas with equal roots."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdcore.kvstore.merkle import (
    MAX_DEPTH,
    MerkleTree,
    RepairConfig,
    anti_entropy,
    differing_keys,
    divergent_replicas,
    leaf_index,
    merkle_diff,
    newest,
    run_repair,
)

keys = st.text(alphabet="abcdefghij:0123456789", min_size=1, max_size=8)
values = st.text(alphabet="xyz", max_size=3)
replica = st.dictionaries(keys, values, max_size=40)


@st.composite
def two_replicas(draw):
    """B is A with some keys rewritten, some deleted and some added: inputs built by construction."""
    a = draw(replica)
    b = dict(a)
    for k in draw(st.lists(st.sampled_from(sorted(a)), max_size=5, unique=True)) if a else []:
        b[k] = b[k] + "!"
    for k in draw(st.lists(st.sampled_from(sorted(a)), max_size=3, unique=True)) if a else []:
        b.pop(k, None)
    b.update(draw(st.dictionaries(keys, values, max_size=3)))
    return a, b, draw(st.integers(1, 10))


def brute_leaves(a, b, depth):
    def content(d, leaf):
        return sorted((k, v) for k, v in d.items() if leaf_index(k, depth) == leaf)

    touched = {leaf_index(k, depth) for k in a.keys() | b.keys()}
    return sorted(leaf for leaf in touched if content(a, leaf) != content(b, leaf))


@given(two_replicas())
def test_diff_finds_exactly_the_leaves_that_differ(case):
    """merkle_diff's leaves are exactly the leaves whose (key, value) sets differ; its keys are every key in those
    leaves from both sides; a top-down walk compares the root plus two children per differing inner node."""
    a, b, depth = case
    d = merkle_diff(MerkleTree(a, depth), MerkleTree(b, depth))
    assert list(d.leaves) == brute_leaves(a, b, depth)
    assert d.keys == {k for k in a.keys() | b.keys() if leaf_index(k, depth) in set(d.leaves)}
    inner = sum(1 for level, _ in d.nodes if level < depth)
    assert d.hashes_compared == 1 + 2 * inner
    assert differing_keys(a, b) <= d.keys
    assert d.equal == (a == b)


@given(two_replicas())
def test_repair_makes_roots_equal_and_matches_a_brute_force_merge(case):
    """After streaming the differing leaves both ways (greater value wins), both replicas equal the brute-force
    merge of A and B and their roots are equal."""
    a, b, depth = case
    r = anti_entropy(a, b, depth)
    merged = {k: newest(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k)) for k in a.keys() | b.keys()}
    assert dict(r.repaired_a) == merged == dict(r.repaired_b)
    assert r.roots_equal_after
    assert r.needed == sum((k in a) + (k in b) for k in differing_keys(a, b))
    assert r.streamed >= r.needed and r.over_streamed == r.streamed - r.needed


@given(replica, st.integers(1, 12), st.randoms(use_true_random=False))
def test_equal_contents_give_equal_roots_whatever_the_insertion_order(items, depth, rnd):
    """The root depends on the contents only; identical replicas compare equal at the root, in one hash."""
    pairs = list(items.items())
    rnd.shuffle(pairs)
    a, b = MerkleTree(items, depth), MerkleTree(dict(pairs), depth)
    assert a.root == b.root
    d = merkle_diff(a, b)
    assert d.equal and d.hashes_compared == 1 and d.leaves == () and d.keys == frozenset()


def test_one_changed_value_changes_the_root_and_one_leaf_path():
    a = {f"k{i}": "v1" for i in range(100)}
    b = dict(a, k7="v2")
    ta, tb = MerkleTree(a, 6), MerkleTree(b, 6)
    assert ta.root != tb.root
    d = merkle_diff(ta, tb)
    assert d.leaves == (leaf_index("k7", 6),)
    assert [lv for lv, _ in d.nodes] == list(range(7))  # one differing node per level, root to leaf
    assert d.hashes_compared == 1 + 2 * 6


def test_leaves_are_contiguous_hash_ranges():
    """A key's leaf at depth d is its leaf at depth d + 1 halved: leaves split the hash space in order."""
    for key in ("a", "user:000001", "zzz", "✓"):
        for depth in range(1, MAX_DEPTH):
            assert leaf_index(key, depth) == leaf_index(key, depth + 1) >> 1


def test_bytes_and_str_values_and_empty_trees():
    assert MerkleTree({}, 4).root == MerkleTree({}, 4).root != MerkleTree({}, 5).root
    assert MerkleTree({"k": b"v"}, 3).root == MerkleTree({"k": "v"}, 3).root
    assert MerkleTree({"ab": "c"}, 3).root != MerkleTree({"a": "bc"}, 3).root


def test_coarse_tree_over_streams_and_deep_tree_does_not():
    a, b = divergent_replicas(2000, 5, 2, seed=1)
    coarse, fine = anti_entropy(a, b, 3), anti_entropy(a, b, 20)
    assert len(differing_keys(a, b)) == 7
    assert coarse.streamed > 1000 and coarse.diff.hashes_compared <= 2**4 - 1
    assert fine.over_streamed == 0 and fine.streamed == fine.needed == 5 * 2 + 2
    assert fine.diff.hashes_compared > coarse.diff.hashes_compared


def test_run_repair_sweeps_depths_and_includes_the_chosen_one():
    run = run_repair(RepairConfig(keys=500, changed=3, missing=1, depth=5, seed=2))
    assert 5 in [s.depth for s in run.sweep] and run.repair.depth == 5
    assert run.tree_a.root != run.tree_b.root and run.repair.roots_equal_after
    streamed = [s.streamed for s in run.sweep]
    assert streamed == sorted(streamed, reverse=True)  # a finer tree never streams more keys


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: MerkleTree({}, 0), "depth must be between 1 and 20 (got depth=0)"),
        (lambda: MerkleTree({}, 21), "depth must be between 1 and 20 (got depth=21)"),
        (lambda: MerkleTree({"k": 3}, 4), "items must map str keys to str or bytes values"),
        (lambda: MerkleTree([("k", "v")], 4), "items must be a mapping"),
        (
            lambda: merkle_diff(MerkleTree({}, 3), MerkleTree({}, 5)),
            "same depth to be compared (got depth 3 and 5)",
        ),
        (
            lambda: RepairConfig(keys=10, changed=11),
            "changed must be between 0 and keys (got changed=11, keys=10)",
        ),
        (lambda: divergent_replicas(10, 5, 6), "missing must be between 0 and keys - changed"),
    ],
)
def test_bad_parameters_say_what_is_allowed(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()
