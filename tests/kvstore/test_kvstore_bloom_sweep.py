"""bloom_sweep against filters filled and probed key by key: the same points on seeded settings."""

import numpy as np
import pytest

from sdcore.kvstore.bloom import BloomFilter, bloom_sweep


def _reference(bits, keys, queries, seed):
    hash_seed = int(np.random.default_rng(seed).integers(0, 2**32))
    out = []
    for b in bits:
        bf = BloomFilter.for_bits_per_key(keys, b, seed=hash_seed)
        for i in range(keys):
            bf.add(f"key:{i}")
        fp = sum(f"absent:{i}" in bf for i in range(queries))
        fn = sum(f"key:{i}" not in bf for i in range(keys))
        out.append((b, bf.k_hashes, bf.m_bits, fp, fn, bf.expected_false_positive_rate()))
    return out


@pytest.mark.parametrize(
    ("bits", "keys", "queries", "seed"),
    [((1.0, 2.0, 10.0), 300, 2000, 0), ((0.5, 3.3, 10.5, 20.0), 777, 3000, 7), ((64.0, 0.1), 50, 500, 123)],
)
def test_sweep_equals_key_by_key_filters(bits, keys, queries, seed):
    got = [
        (p.bits_per_key, p.k_hashes, p.m_bits, p.false_positives, p.false_negatives, p.expected)
        for p in bloom_sweep(bits, keys, queries, seed)
    ]
    assert got == _reference(bits, keys, queries, seed)


def test_a_second_sweep_on_the_same_seed_reuses_read_only_hashes():
    full = bloom_sweep((1.0, 10.0, 10.5), 400, 2000, 5)
    assert bloom_sweep((10.5,), 400, 2000, 5) == full[2:]  # the hashes kept from the first sweep
    assert bloom_sweep((10.0,), 400, 2000, 6) != full[1:2]  # another seed, other hashes
    from sdcore.kvstore.bloom import _sweep_hashes

    (h1, h2), (q1, q2) = _sweep_hashes(400, 2000, int(np.random.default_rng(5).integers(0, 2**32)))
    assert not any(a.flags.writeable for a in (h1, h2, q1, q2))
