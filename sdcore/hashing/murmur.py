"""MurmurHash3 over many keys at once, with numpy: bit for bit what ``mmh3.hash`` and ``mmh3.hash64`` give.

``mmh3`` hashes one key per Python call; a page that hashes 100,000 keys spends most of that time in the
calls. Here keys of equal length are the rows of a byte matrix (the seeded key names of
:func:`sdcore.hashing.hash_seeded_keys` are all 21 bytes) and every step of the algorithm (blocks, tail,
finalization) runs over all rows at once, in wrapping ``uint32`` / ``uint64`` arithmetic.
"""

from __future__ import annotations

import numpy as np

_U32 = np.uint32
_U64 = np.uint64
_C1_32, _C2_32 = _U32(0xCC9E2D51), _U32(0x1B873593)
_C1_64, _C2_64 = _U64(0x87C37B91114253D5), _U64(0x4CF5AD432745937F)


def _rotl32(x: np.ndarray, r: int) -> np.ndarray:
    return (x << _U32(r)) | (x >> _U32(32 - r))


def _rotl64(x: np.ndarray, r: int) -> np.ndarray:
    return (x << _U64(r)) | (x >> _U64(64 - r))


def _fmix64(k: np.ndarray) -> np.ndarray:
    k ^= k >> _U64(33)
    k *= _U64(0xFF51AFD7ED558CCD)
    k ^= k >> _U64(33)
    k *= _U64(0xC4CEB9FE1A85EC53)
    k ^= k >> _U64(33)
    return k


def _little_endian(rows: np.ndarray, start: int, width: int, dtype) -> np.ndarray:
    """The ``width`` bytes from column ``start`` of every row as one little-endian integer."""
    out = np.zeros(len(rows), dtype=dtype)
    for i in range(width):
        out |= rows[:, start + i].astype(dtype) << dtype(8 * i)
    return out


def murmur3_32_rows(rows: np.ndarray) -> np.ndarray:
    """``mmh3.hash(row_bytes, 0, False)`` of every row of a ``(n, length)`` uint8 matrix, as uint32."""
    n, length = rows.shape
    h = np.zeros(n, dtype=_U32)
    nblocks = length // 4
    if nblocks:
        blocks = np.ascontiguousarray(rows[:, : 4 * nblocks]).view("<u4").astype(_U32)
        for b in range(nblocks):
            k = blocks[:, b] * _C1_32
            k = _rotl32(k, 15) * _C2_32
            h ^= k
            h = _rotl32(h, 13) * _U32(5) + _U32(0xE6546B64)
    tail = length & 3
    if tail:
        k = _little_endian(rows, 4 * nblocks, tail, _U32) * _C1_32
        h ^= _rotl32(k, 15) * _C2_32
    h ^= _U32(length)
    h ^= h >> _U32(16)
    h *= _U32(0x85EBCA6B)
    h ^= h >> _U32(13)
    h *= _U32(0xC2B2AE35)
    h ^= h >> _U32(16)
    return h


def murmur3_64_rows(rows: np.ndarray) -> np.ndarray:
    """``mmh3.hash64(row_bytes, 0, True, False)[0]`` (the first half of x64_128) of every row, as uint64."""
    n, length = rows.shape
    h1 = np.zeros(n, dtype=_U64)
    h2 = np.zeros(n, dtype=_U64)
    nblocks = length // 16
    if nblocks:
        blocks = np.ascontiguousarray(rows[:, : 16 * nblocks]).view("<u8").astype(_U64)
        for b in range(nblocks):
            k1 = _rotl64(blocks[:, 2 * b] * _C1_64, 31) * _C2_64
            h1 ^= k1
            h1 = (_rotl64(h1, 27) + h2) * _U64(5) + _U64(0x52DCE729)
            k2 = _rotl64(blocks[:, 2 * b + 1] * _C2_64, 33) * _C1_64
            h2 ^= k2
            h2 = (_rotl64(h2, 31) + h1) * _U64(5) + _U64(0x38495AB5)
    tail = length & 15
    start = 16 * nblocks
    if tail > 8:
        k2 = _little_endian(rows, start + 8, tail - 8, _U64)
        h2 ^= _rotl64(k2 * _C2_64, 33) * _C1_64
    if tail:
        k1 = _little_endian(rows, start, min(tail, 8), _U64)
        h1 ^= _rotl64(k1 * _C1_64, 31) * _C2_64
    h1 ^= _U64(length)
    h2 ^= _U64(length)
    h1 += h2
    h2 += h1
    h1 = _fmix64(h1)
    h2 = _fmix64(h2)
    return h1 + h2
