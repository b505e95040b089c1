"""Modulo, jump and rendezvous hashing."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.hashing import (
    JumpHash,
    ModuloHash,
    RendezvousHash,
    hash32,
    hash64,
    jump_bucket,
    jump_buckets,
    make_keys,
)

KEYS = make_keys(20_000, seed=11)


@pytest.mark.parametrize(
    ("key", "buckets", "expected"),
    # Published test vectors of the reference implementation (as used by the Go port dgryski/go-jump).
    [(1, 1, 0), (42, 57, 43), (0xDEAD10CC, 1, 0), (0xDEAD10CC, 666, 361), (256, 1024, 520)],
)
def test_jump_bucket_matches_reference_vectors(key, buckets, expected):
    assert jump_bucket(key, buckets) == expected


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=50), st.integers(1, 5000))
@settings(max_examples=60)
def test_vectorized_jump_equals_the_scalar_algorithm(keys, n):
    """jump_buckets is jump_bucket on every element, including keys near 2**64."""
    assert jump_buckets(np.array(keys, dtype=np.uint64), n).tolist() == [jump_bucket(k, n) for k in keys]


@given(st.integers(0, 2**64 - 1), st.integers(1, 2000))
def test_jump_growth_moves_keys_only_to_the_new_bucket(key, n):
    """Going from n to n+1 buckets, a key either stays or moves to bucket n."""
    a, b = jump_bucket(key, n), jump_bucket(key, n + 1)
    assert 0 <= a < n and (b in (a, n))


def test_modulo_is_hash_mod_n():
    m = ModuloHash(["a", "b", "c"])
    assert m.assign(KEYS[:200]) == [["a", "b", "c"][hash32(k) % 3] for k in KEYS[:200]]


def test_modulo_moves_about_n_over_n_plus_1():
    """From 4 to 5 nodes a key stays only if h mod 4 == h mod 5: 4 of every 20 residues, so 80% move."""
    before = ModuloHash(["a", "b", "c", "d"]).assign(KEYS)
    after = ModuloHash(["a", "b", "c", "d", "e"]).assign(KEYS)
    moved = sum(x != y for x, y in zip(before, after, strict=True)) / len(KEYS)
    assert abs(moved - 0.8) < 0.015


def test_jump_hash_uses_the_64_bit_key_hash():
    j = JumpHash(["a", "b", "c", "d"])
    assert j.assign(KEYS[:100]) == [["a", "b", "c", "d"][jump_bucket(hash64(k), 4)] for k in KEYS[:100]]


def test_jump_remove_last_is_minimal_but_middle_renumbers():
    """Removing the last node moves only its keys; removing a middle node also moves keys between survivors."""
    names = ["a", "b", "c", "d", "e"]
    before = JumpHash(names).assign(KEYS)
    last = JumpHash(names[:-1]).assign(KEYS)
    assert all(x == y for x, y in zip(before, last, strict=True) if x != "e")
    middle = JumpHash(["a", "b", "d", "e"]).assign(KEYS)
    moved_between_survivors = sum(x != y and x != "c" for x, y in zip(before, middle, strict=True))
    assert moved_between_survivors > 0.1 * len(KEYS)


def test_rendezvous_minimal_movement_and_weights():
    """Removing a node moves only its keys; adding one moves keys only to it; weight 3 gets ~3x the keys."""
    r = RendezvousHash(["a", "b", "c", "d"])
    before = r.assign(KEYS)
    r.remove_node("b")
    after = r.assign(KEYS)
    assert all(x == y for x, y in zip(before, after, strict=True) if x != "b")
    r.add_node("e")
    again = r.assign(KEYS)
    assert all(y == z or z == "e" for y, z in zip(after, again, strict=True))
    w = RendezvousHash([("a", 1.0), ("b", 3.0)])
    share_b = w.assign(KEYS).count("b") / len(KEYS)
    assert abs(share_b - 0.75) < 0.015


def test_schemes_refuse_what_they_cannot_do():
    with pytest.raises(ValueError, match="cannot weight nodes"):
        JumpHash().add_node("a", 2.0)
    with pytest.raises(ValueError, match="no nodes"):
        ModuloHash().node_for("k")
    with pytest.raises(ValueError, match="num_buckets must be at least 1"):
        jump_bucket(1, 0)
    with pytest.raises(ValueError, match="unsigned 64-bit"):
        jump_bucket(-1, 3)
