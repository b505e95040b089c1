"""Redis Cluster's key slots: CRC16 (XMODEM) of the key, or of its ``{hash tag}``, modulo 16,384.

The rule is the one in the Redis Cluster specification, so :func:`key_slot` gives exactly what a real
cluster's ``CLUSTER KEYSLOT`` answers:

- A key is hashed as UTF-8 bytes with CRC16-CCITT in the XMODEM variant (polynomial 0x1021, initial value 0,
  no reflection), then reduced modulo 16,384 (the spec takes the low 14 bits).
- If the key contains a ``{``, and a ``}`` somewhere after that first ``{``, and at least one byte between
  them, only the bytes between the first ``{`` and the first ``}`` after it are hashed. So
  ``{user1000}.following`` and ``{user1000}.followers`` share a slot; ``foo{}{bar}`` hashes the whole key.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SLOTS = 16384
_POLY = 0x1021


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


CRC16_TABLE: tuple[int, ...] = _crc_table()
_TABLE = np.array(CRC16_TABLE, dtype=np.uint16)
_TABLE.setflags(write=False)


def _pair_table() -> np.ndarray:
    """The CRC after two bytes at once: for this CRC (16-bit register, no reflection) the register after bytes
    b0, b1 from ``crc`` is ``PAIR[crc ^ (b0 << 8 | b1)]``, where ``PAIR[v]`` is the CRC of v's two bytes from 0."""
    v = np.arange(1 << 16, dtype=np.uint32)
    first = _TABLE[v >> 8]
    pair = ((first << np.uint16(8)) ^ _TABLE[(first >> np.uint16(8)) ^ (v & 0xFF).astype(np.uint16)]).astype(
        np.uint16
    )
    pair.setflags(write=False)
    return pair


_PAIR = _pair_table()


def crc16(data: bytes) -> int:
    """CRC16-CCITT (XMODEM) of ``data``: the check value of ``b"123456789"`` is 0x31C3."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"crc16 takes bytes (got {type(data).__name__})")
    crc = 0
    table = CRC16_TABLE
    for b in bytes(data):
        crc = ((crc << 8) & 0xFFFF) ^ table[((crc >> 8) ^ b) & 0xFF]
    return crc


def _as_bytes(key: str | bytes) -> bytes:
    if isinstance(key, str):
        return key.encode("utf-8", errors="surrogatepass")
    if isinstance(key, bytes | bytearray | memoryview):
        return bytes(key)
    raise ValueError(f"a key must be a str or bytes (got {type(key).__name__})")


def hash_tag(key: str | bytes) -> bytes | None:
    """The ``{hash tag}`` Redis hashes instead of the whole key, or ``None`` if the key has none."""
    k = _as_bytes(key)
    start = k.find(b"{")
    if start < 0:
        return None
    end = k.find(b"}", start + 1)
    if end <= start + 1:  # no '}' after the first '{', or "{}" with nothing inside
        return None
    return k[start + 1 : end]


def hashed_part(key: str | bytes) -> bytes:
    """The bytes that decide the slot: the hash tag if there is one, else the whole key."""
    tag = hash_tag(key)
    return _as_bytes(key) if tag is None else tag


def key_slot(key: str | bytes) -> int:
    """The Redis Cluster slot of ``key``, 0..16383 (a str is encoded as UTF-8).

    >>> key_slot("foo"), key_slot("{user1000}.following") == key_slot("{user1000}.followers")
    (12182, True)
    """
    return crc16(hashed_part(key)) & (SLOTS - 1)


def _segments_of_str_keys(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTF-8 bytes of every key in one buffer, and each key's hashed segment (start, length) in it, found
    with array operations: the hash-tag rule applied to every key at once."""
    data = np.frombuffer("".join(keys).encode("utf-8", errors="surrogatepass"), dtype=np.uint8)
    chars = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    char_bounds = np.concatenate(([0], np.cumsum(chars)))
    if len(data) == char_bounds[-1]:  # all ASCII: a character is a byte
        bounds = char_bounds
    else:  # each key's UTF-8 length (one C call a key; cheaper than locating characters in the buffer)
        sizes = (len(k.encode("utf-8", errors="surrogatepass")) for k in keys)
        bounds = np.concatenate(([0], np.cumsum(np.fromiter(sizes, dtype=np.int64, count=len(keys)))))
    start, end = bounds[:-1], bounds[1:]
    if not (data == ord("{")).any():  # no key has a hash tag: every key is hashed whole
        return data, start, end - start
    opens, closes = np.flatnonzero(data == ord("{")), np.flatnonzero(data == ord("}"))
    first_open = np.append(opens, len(data))[np.searchsorted(opens, start)]
    has_open = first_open < end
    after = np.minimum(first_open + 1, len(data))
    first_close = np.append(closes, len(data))[np.searchsorted(closes, after)]
    tagged = has_open & (first_close < end) & (first_close > first_open + 1)
    seg_start = np.where(tagged, first_open + 1, start)
    seg_len = np.where(tagged, first_close - first_open - 1, end - start)
    return data, seg_start, seg_len


def key_slots(keys: Sequence[str | bytes]) -> np.ndarray:
    """:func:`key_slot` of many keys at once (int32 array), identical to the loop.

    For str keys everything is array work: one UTF-8 encoding of all keys joined, the hash tags found
    with ``searchsorted`` over the positions of the braces, then the CRC one numpy step per two byte positions
    over every key at once (a 65,536-entry table advances the CRC by two bytes), keys sorted longest first so
    that the keys still running at byte j are always a prefix of the array. Bytes keys take a per-key path for
    the hash tags.
    """
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int32)
    if set(map(type, keys)) <= {str}:  # (a str subclass takes the per-key path: the same slots)
        data, seg_start, lengths = _segments_of_str_keys(keys)
    else:
        parts = [hashed_part(k) for k in keys]
        data = np.frombuffer(b"".join(parts), dtype=np.uint8)
        lengths = np.fromiter(map(len, parts), dtype=np.int64, count=n)
        seg_start = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    order = np.argsort(-lengths, kind="stable")
    sorted_len = lengths[order]
    offsets = seg_start[order]
    longest = int(sorted_len[0])
    alive = np.searchsorted(-sorted_len, -np.arange(longest + 1), side="left").tolist()  # longer than j bytes
    crc = np.zeros(n, dtype=np.uint16)
    for j in range(0, longest, 2):
        both, one = alive[j + 1], alive[j]  # keys with bytes j and j+1; keys that end at byte j
        if both:
            at = offsets[:both] + j
            pair = (data[at].astype(np.uint16) << np.uint16(8)) | data[at + 1]
            crc[:both] = _PAIR[crc[:both] ^ pair]
        if one > both:
            c = crc[both:one]
            byte = data[offsets[both:one] + j].astype(np.uint16)
            crc[both:one] = (c << np.uint16(8)) ^ _TABLE[(c >> np.uint16(8)) ^ byte]
    out = np.empty(n, dtype=np.int32)
    out[order] = (crc & np.uint16(SLOTS - 1)).astype(np.int32)
    return out
