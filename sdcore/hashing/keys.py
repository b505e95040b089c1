"""Keys hashed once, reused by every placement scheme (a 1,000,000-key experiment hashes each key once)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sdcore.hashing.hashfuncs import check_hash_name, hash_keys


class KeyHashes:
    """The 32- and 64-bit hashes of a list of keys under one hash function, computed on first use."""

    def __init__(self, keys: Sequence[str], hash_name: str = "murmur3"):
        self.keys = keys
        self.hash_name = check_hash_name(hash_name)
        self._h32: np.ndarray | None = None
        self._h64: np.ndarray | None = None
        self._count = len(keys)

    @classmethod
    def precomputed(
        cls, hash_name: str, *, h32: np.ndarray | None = None, h64: np.ndarray | None = None
    ) -> KeyHashes:
        """Hashes computed (and cached) elsewhere; asking for a width that was not given is an error."""
        given = h32 if h32 is not None else h64
        if given is None:
            raise ValueError("give h32, h64 or both")
        out = cls((), hash_name)
        out._h32, out._h64, out._count = h32, h64, len(given)
        out.keys = None  # type: ignore[assignment]
        return out

    def __len__(self) -> int:
        return self._count

    @property
    def h32(self) -> np.ndarray:
        if self._h32 is None:
            if self.keys is None:
                raise ValueError("these precomputed key hashes have no 32-bit values")
            self._h32 = hash_keys(self.keys, self.hash_name, bits=32)
        return self._h32

    @property
    def h64(self) -> np.ndarray:
        if self._h64 is None:
            if self.keys is None:
                raise ValueError("these precomputed key hashes have no 64-bit values")
            self._h64 = hash_keys(self.keys, self.hash_name, bits=64)
        return self._h64


def as_key_hashes(keys: Sequence[str] | KeyHashes, hash_name: str) -> KeyHashes:
    """Accept plain keys or already-hashed keys; refuse hashes made with another function."""
    if isinstance(keys, KeyHashes):
        if keys.hash_name != hash_name:
            raise ValueError(
                f"these keys were hashed with {keys.hash_name!r} but the scheme uses {hash_name!r}"
            )
        return keys
    if isinstance(keys, str):
        raise ValueError("assign takes a list of keys; for one key use node_for(key)")
    return KeyHashes(keys, hash_name)
