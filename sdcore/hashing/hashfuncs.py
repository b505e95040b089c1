"""Hash functions that place keys and virtual nodes.

Every function here is deterministic across processes and machines. Python's built-in string hash is
salted per process (PYTHONHASHSEED), so a ring built on it would place keys differently on every run; it is
never used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from types import MappingProxyType

import mmh3
import numpy as np

from sdcore.hashing.murmur import murmur3_32_rows, murmur3_64_rows

_MASK32 = 0xFFFFFFFF
_MASK64 = 0xFFFFFFFFFFFFFFFF


def _md5_32(label: str) -> int:
    return int.from_bytes(hashlib.md5(label.encode()).digest()[:4], "big")


def _md5_64(label: str) -> int:
    return int.from_bytes(hashlib.md5(label.encode()).digest()[:8], "big")


def _sha1_32(label: str) -> int:
    return int.from_bytes(hashlib.sha1(label.encode()).digest()[:4], "big")


def _sha1_64(label: str) -> int:
    return int.from_bytes(hashlib.sha1(label.encode()).digest()[:8], "big")


def _murmur3_32(label: str) -> int:
    return mmh3.hash(label, 0, False)


def _murmur3_64(label: str) -> int:
    return mmh3.hash64(label, signed=False)[0]


def _byte_sum(label: str) -> int:
    # Deliberately poor: anagrams collide and every value is tiny (a 10-byte key sums to at most 2,550), so
    # all keys and all points crowd into the first millionth of the ring.
    return sum(label.encode())


# name -> (32-bit function, 64-bit function, one-line description for the page)
_FUNCTIONS: MappingProxyType[str, tuple[Callable[[str], int], Callable[[str], int], str]] = MappingProxyType(
    {
        "murmur3": (_murmur3_32, _murmur3_64, "MurmurHash3 (mmh3): fast, well mixed; what Cassandra uses"),
        "md5": (_md5_32, _md5_64, "MD5, first bytes of the digest: what ketama and uhashring use"),
        "sha1": (_sha1_32, _sha1_64, "SHA-1, first bytes of the digest: well mixed, slower"),
        "poor": (_byte_sum, _byte_sum, "sum of the bytes: a deliberately bad hash (anagrams collide)"),
    }
)

HASH_NAMES: tuple[str, ...] = tuple(_FUNCTIONS)
HASH_DESCRIPTIONS: MappingProxyType[str, str] = MappingProxyType({k: v[2] for k, v in _FUNCTIONS.items()})


def check_hash_name(hash_name: str) -> str:
    """Return ``hash_name`` if it is known, else raise a ValueError listing the choices."""
    if hash_name not in _FUNCTIONS:
        raise ValueError(f"hash_name must be one of {', '.join(HASH_NAMES)} (got {hash_name!r})")
    return hash_name


def hash32(label: str, hash_name: str = "murmur3") -> int:
    """Unsigned 32-bit hash of one label (a key, or a virtual node's ``"X#i"``)."""
    return _FUNCTIONS[check_hash_name(hash_name)][0](label) & _MASK32


def hash64(label: str, hash_name: str = "murmur3") -> int:
    """Unsigned 64-bit hash of one label (jump hash and rendezvous hashing take 64-bit keys)."""
    return _FUNCTIONS[check_hash_name(hash_name)][1](label) & _MASK64


def hash_keys(keys: Sequence[str], hash_name: str = "murmur3", bits: int = 32) -> np.ndarray:
    """Hash many keys at once: a ``uint32`` (or ``uint64`` with ``bits=64``) array in the keys' order.

    This is the one unavoidable per-key Python call; everything after it is vectorized.
    """
    if bits not in (32, 64):
        raise ValueError(f"bits must be 32 or 64 (got {bits})")
    f32, f64, _ = _FUNCTIONS[check_hash_name(hash_name)]
    if bits == 32:
        if hash_name == "murmur3":  # the hot path: map straight over mmh3 (signed), then reinterpret the bits
            return np.fromiter(map(mmh3.hash, keys), dtype=np.int32, count=len(keys)).view(np.uint32)
        return np.fromiter((f32(k) & _MASK32 for k in keys), dtype=np.uint32, count=len(keys))
    if hash_name == "murmur3":
        h64 = mmh3.hash64
        return np.fromiter((h64(k, signed=False)[0] for k in keys), dtype=np.uint64, count=len(keys))
    return np.fromiter((f64(k) & _MASK64 for k in keys), dtype=np.uint64, count=len(keys))


def make_keys(count: int, seed: int = 0, first: int | None = None) -> list[str]:
    """``count`` seeded key names such as ``"user:3f9c0a1b2d4e5f60"`` (what a cache would store).

    ``first=m`` returns only the first m of those names, without formatting the rest.
    """
    ids = key_ids(count, seed)
    if first is not None:
        ids = ids[:first]
    if len(ids) < 64:
        return [f"user:{i:016x}" for i in ids.tolist()]
    rows = np.empty((len(ids), KEY_LENGTH + 1), dtype=np.uint8)  # each name and a newline, split in one call
    rows[:, :KEY_LENGTH] = _key_rows(ids)
    rows[:, KEY_LENGTH] = ord("\n")
    return rows.tobytes()[:-1].decode("ascii").split("\n")


KEY_LENGTH = 21  # len("user:") + 16 hex digits
_HEX_PAIRS = np.frombuffer("".join(f"{b:02x}" for b in range(256)).encode("ascii"), dtype=np.uint16)
_HEX_PAIRS.setflags(write=False)


def _key_rows(ids: np.ndarray) -> np.ndarray:
    """The ASCII bytes of ``f"user:{i:016x}"`` for every id, one row each (a ``(n, 21)`` uint8 matrix)."""
    n = len(ids)
    rows = np.empty((n, KEY_LENGTH), dtype=np.uint8)
    rows[:, :5] = np.frombuffer(b"user:", dtype=np.uint8)
    big_endian = np.ascontiguousarray(ids, dtype=">u8").view(np.uint8)  # the id's bytes, high first
    rows[:, 5:] = _HEX_PAIRS[big_endian].view(np.uint8).reshape(n, 16)  # two hex digits a byte
    return rows


_DIGESTS = MappingProxyType({"md5": hashlib.md5, "sha1": hashlib.sha1})


def _digest_rows(rows: np.ndarray, hash_name: str, bits: int) -> np.ndarray:
    """The first ``bits`` of the MD5 or SHA-1 digest of every row's bytes, read big-endian (what ``_md5_32`` and
    the others give for the row as a string): one digest call a row, the digests read in one numpy call."""
    digest, width = _DIGESTS[hash_name], bits // 8
    data, length = rows.tobytes(), rows.shape[1]
    joined = b"".join([digest(data[i : i + length]).digest()[:width] for i in range(0, len(data), length)])
    return np.frombuffer(joined, dtype=f">u{width}").astype(np.uint32 if bits == 32 else np.uint64)


def hash_seeded_keys(count: int, seed: int = 0, hash_name: str = "murmur3", bits: int = 32) -> np.ndarray:
    """``hash_keys(make_keys(count, seed), hash_name, bits)``, the same array, computed from the names' bytes
    (a matrix, one row a name) without making a Python string per key: murmur3 and the byte sum with numpy,
    MD5 and SHA-1 one digest a row."""
    if bits not in (32, 64):
        raise ValueError(f"bits must be 32 or 64 (got {bits})")
    check_hash_name(hash_name)
    rows = _key_rows(key_ids(count, seed))
    if hash_name == "murmur3":
        return murmur3_32_rows(rows) if bits == 32 else murmur3_64_rows(rows)
    if hash_name == "poor":  # the sum of the name's bytes (at most 255 x 21: no mask needed)
        return rows.sum(axis=1, dtype=np.uint32 if bits == 32 else np.uint64)
    return _digest_rows(rows, hash_name, bits)


def key_ids(count: int, seed: int = 0) -> np.ndarray:
    """The 64-bit ids behind :func:`make_keys`, so a page can name a subset of keys without building all."""
    if count < 1 or count > 5_000_000:
        raise ValueError(f"the number of keys must be between 1 and 5,000,000 (got {count:,})")
    rng = np.random.default_rng(seed)
    # 63 random bits: two equal ids among 5,000,000 keys has probability about 1e-6, so no dedup pass.
    return rng.integers(0, 2**63, size=count, dtype=np.int64)
