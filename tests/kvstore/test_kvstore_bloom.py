"""Bloom filters: no false negatives ever, a false-positive rate the formula predicts, sizing by the textbook
formulas, the same answers from the scalar and the bulk path, and rbloom's filter as a peer on the same keys."""

import math

import numpy as np
import pytest
import rbloom
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.kvstore.bloom import (
    PUBLISHED_RATES,
    BloomFilter,
    bloom_sweep,
    false_positive_rate,
    hash_pairs,
    leveldb_hashes,
    optimal_hashes,
)

keys = st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=200, unique=True)


@given(keys, st.integers(8, 4096), st.integers(1, 12), st.integers(0, 2**32 - 1))
@settings(max_examples=60)
def test_never_a_false_negative(added, m, k, seed):
    """Every key added is reported present, by `in` and by `contains_many`, whatever m, k and the seed."""
    bf = BloomFilter(m, k, seed=seed)
    half = len(added) // 2
    bf.add_many(added[:half])
    for key in added[half:]:
        bf.add(key)
    assert all(key in bf for key in added)
    assert bf.contains_many(added).all()
    assert bf.count == len(added)


@given(keys, keys)
@settings(max_examples=40)
def test_bulk_and_scalar_paths_agree(added, asked):
    """contains_many(keys)[i] == (keys[i] in bf): both paths compute the same probe positions."""
    bf = BloomFilter(257, 5)
    bf.add_many(added)
    assert list(bf.contains_many(asked)) == [q in bf for q in asked]


@pytest.mark.parametrize("bits", [2.0, 5.0, 10.0, 15.5])
def test_false_positive_rate_matches_the_formula(bits):
    """Measured on 100,000 keys never added: within 4 binomial standard errors of (1 - e^(-kn/m))^k."""
    (p,) = bloom_sweep([bits], keys=10_000, queries=100_000, seed=3)
    assert p.false_negatives == 0
    assert abs(p.measured - p.expected) < 4 * p.standard_error
    assert p.expected == pytest.approx((1 - math.exp(-p.k_hashes * p.keys / p.m_bits)) ** p.k_hashes)


def test_ten_bits_per_key_is_about_one_percent_as_leveldb_and_rocksdb_say():
    """LevelDB: ~100x fewer unnecessary reads at 10 bits/key; RocksDB: 9.9 bits/key for 1%."""
    assert leveldb_hashes(10) == 6
    assert 0.007 < false_positive_rate(10, 6) < 0.011
    for pub in PUBLISHED_RATES:
        # a standard filter does at least as well as the published figure (RocksDB's is cache-local, which
        # costs accuracy: 15.5 bits/key for 0.1%, where the formula gives 0.058%), and within a factor 2
        rate = false_positive_rate(pub.bits_per_key, optimal_hashes(pub.bits_per_key))
        assert pub.false_positive_rate / 2 < rate <= pub.false_positive_rate * 1.05


def test_optimal_hashes_minimises_the_formula():
    for b in (1.0, 2.9, 7.3, 10.0, 20.0):
        k = optimal_hashes(b)
        assert all(false_positive_rate(b, k) <= false_positive_rate(b, j) for j in range(1, 31))


def test_for_capacity_uses_the_textbook_sizes():
    bf = BloomFilter.for_capacity(1000, 0.01)
    assert bf.m_bits == math.ceil(-1000 * math.log(0.01) / math.log(2) ** 2) == 9586
    assert bf.k_hashes == 7
    assert bf.expected_false_positive_rate(1000) <= 0.0101


def test_same_rate_as_rbloom_on_the_same_keys():
    """rbloom (a Rust filter from PyPI) and ours, both sized for 5,000 keys at 1%: both measure near 1%."""
    added = [f"key:{i}" for i in range(5000)]
    asked = [f"absent:{i}" for i in range(100_000)]
    ours = BloomFilter.for_capacity(5000, 0.01)
    ours.add_many(added)
    peer = rbloom.Bloom(5000, 0.01)
    peer.update(added)
    ours_rate = ours.contains_many(asked).mean()
    peer_rate = sum(q in peer for q in asked) / len(asked)
    se = math.sqrt(0.01 * 0.99 / len(asked))
    assert abs(ours_rate - peer_rate) < 6 * se
    assert abs(ours_rate - 0.01) < 4 * se


def test_fill_ratio_is_about_a_half_at_the_optimal_k():
    bf = BloomFilter.for_capacity(20_000, 0.01)
    bf.add_many([str(i) for i in range(20_000)])
    assert bf.fill_ratio == pytest.approx(0.5, abs=0.02)
    assert bf.size_bytes == (bf.m_bits + 7) // 8


def test_hash_pairs_are_the_two_halves_of_murmur3():
    import mmh3

    h1, h2 = hash_pairs(["a", "b"], seed=9)
    assert (int(h1[0]), int(h2[0])) == mmh3.hash64("a", 9, signed=False)
    assert h1.dtype == np.uint64 and len(hash_pairs([])[0]) == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: BloomFilter(0, 3), "m_bits must be between 1 and"),
        (lambda: BloomFilter(64, 0), "k_hashes must be between 1 and 30 (got k_hashes=0)"),
        (lambda: BloomFilter(64, 31), "k_hashes must be between 1 and 30"),
        (
            lambda: BloomFilter.for_capacity(100, 0.0),
            "false_positive_rate must be more than 0 and at most 0.5",
        ),
        (lambda: BloomFilter.for_capacity(0, 0.1), "n must be between 1 and"),
        (lambda: BloomFilter(64, 2).add(3), "key must be a string"),
        (lambda: bloom_sweep([0.0]), "bits_per_key must be more than 0"),
    ],
)
def test_bad_parameters_say_what_is_allowed(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()
