"""key_slot against the Redis Cluster specification: its CRC16 check value and its hash-tag examples."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdcore.sharding import SLOTS, crc16, hash_tag, hashed_part, key_slot, key_slots


def crc16_bitwise(data: bytes) -> int:
    """CRC16-CCITT (XMODEM) bit by bit, as the spec's reference describes it: poly 0x1021, init 0."""
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def test_crc16_check_value_from_the_spec():
    assert crc16(b"123456789") == 0x31C3 == crc16_bitwise(b"123456789")


def test_spec_hash_tag_examples():
    assert key_slot("{user1000}.following") == key_slot("{user1000}.followers") == key_slot("user1000")
    assert hashed_part("foo{}{bar}") == b"foo{}{bar}"  # empty tag: the whole key is hashed
    assert key_slot("foo{}{bar}") == crc16(b"foo{}{bar}") % SLOTS
    assert hashed_part("foo{{bar}}zap") == b"{bar"
    assert key_slot("foo{{bar}}zap") == key_slot("{bar") == crc16(b"{bar") % SLOTS
    assert hashed_part("foo{bar}{zap}") == b"bar"
    assert key_slot("foo{bar}{zap}") == key_slot("bar")


def test_slots_documented_for_cluster_keyslot():
    """The examples on Redis's CLUSTER KEYSLOT page."""
    assert key_slot("somekey") == 11058
    assert key_slot("foo{hash_tag}") == key_slot("bar{hash_tag}") == 2515


def test_no_closing_brace_or_no_open_brace_hashes_everything():
    assert hash_tag("foo{bar") is None and hash_tag("foo}bar{") is None and hash_tag("plain") is None
    assert hash_tag("a{b}c") == b"b"


def test_str_is_utf8_and_bytes_are_taken_as_they_are():
    assert key_slot("été") == key_slot("été".encode()) == crc16("été".encode()) % SLOTS


def test_bad_keys_are_explained():
    with pytest.raises(ValueError, match="a key must be a str or bytes"):
        key_slot(42)
    with pytest.raises(ValueError, match="crc16 takes bytes"):
        crc16("abc")


keys = st.one_of(
    st.text(alphabet=st.sampled_from("ab{}xé€😀 "), max_size=20),
    st.binary(max_size=20),
)


@given(st.lists(keys, max_size=40))
def test_vectorized_equals_the_loop(ks):
    """key_slots(keys)[i] == key_slot(keys[i]) for every key, braces, unicode and empty keys included."""
    assert key_slots(ks).tolist() == [key_slot(k) for k in ks]


@given(st.binary(max_size=64))
def test_table_crc_equals_bitwise_crc(data):
    """The table-driven CRC is the bitwise definition."""
    assert crc16(data) == crc16_bitwise(data)


@given(keys)
def test_slot_in_range(k):
    assert 0 <= key_slot(k) < SLOTS
