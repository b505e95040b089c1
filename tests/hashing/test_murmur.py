"""The numpy MurmurHash3 and the seeded-key fast paths: bit for bit what mmh3 and the per-key loop give."""

import mmh3
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.hashing import HASH_NAMES, hash_keys, hash_seeded_keys, key_ids, make_keys
from sdcore.hashing.murmur import murmur3_32_rows, murmur3_64_rows


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 40).flatmap(lambda n: st.lists(st.binary(min_size=n, max_size=n), min_size=1, max_size=30))
)
def test_numpy_murmur3_equals_mmh3(keys):
    """Rows of every length (whole blocks, each tail length, empty) hash as mmh3 hashes the bytes."""
    rows = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), len(keys[0]))
    assert murmur3_32_rows(rows).tolist() == [mmh3.hash(k) & 0xFFFFFFFF for k in keys]
    assert murmur3_64_rows(rows).tolist() == [mmh3.hash64(k, signed=False)[0] for k in keys]


@pytest.mark.parametrize("count", [1, 63, 64, 65, 5_000])
@pytest.mark.parametrize("seed", [0, 7])
def test_make_keys_equals_the_formatted_ids(count, seed):
    assert make_keys(count, seed) == [f"user:{i:016x}" for i in key_ids(count, seed).tolist()]
    assert make_keys(count, seed, first=10) == make_keys(count, seed)[:10]


@pytest.mark.parametrize("hash_name", HASH_NAMES)
@pytest.mark.parametrize("bits", [32, 64])
def test_hash_seeded_keys_equals_hashing_the_names(hash_name, bits):
    for count, seed in ((1, 0), (2_000, 3)):
        got = hash_seeded_keys(count, seed, hash_name, bits)
        want = hash_keys(make_keys(count, seed), hash_name, bits)
        assert got.dtype == want.dtype and np.array_equal(got, want)


def test_hash_seeded_keys_checks_its_arguments():
    with pytest.raises(ValueError, match="bits must be 32 or 64"):
        hash_seeded_keys(10, 0, "murmur3", 16)
    with pytest.raises(ValueError, match="hash_name must be one of"):
        hash_seeded_keys(10, 0, "crc", 32)
