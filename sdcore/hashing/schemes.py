"""The alternatives to a hash ring, with the same ``assign``/``node_for`` interface.

- :class:`ModuloHash`: the key's hash modulo n. Simple, and almost every key moves when n changes.
- :class:`JumpHash`: Lamping and Veach (2014), "A Fast, Minimal Memory, Consistent Hash Algorithm". No ring,
  no memory, perfectly even; but buckets are numbered, so a node can only join or leave at the end.
- :class:`RendezvousHash`: highest random weight (Thaler and Ravishankar, 1998): each key goes to the node
  with the highest score for that key; weighted with the logarithmic method (Schindelhauer and Schomaker).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from sdcore.hashing.hashfuncs import check_hash_name, hash64
from sdcore.hashing.keys import KeyHashes, as_key_hashes
from sdcore.hashing.validate import check_known_node, check_new_node, check_not_empty, check_weight

_MASK64 = (1 << 64) - 1
_JUMP_MULTIPLIER = 2862933555777941757


def jump_bucket(key: int, num_buckets: int) -> int:
    """Jump consistent hash, exactly as printed in the paper (on an unsigned 64-bit key)."""
    if num_buckets < 1:
        raise ValueError(f"num_buckets must be at least 1 (got {num_buckets})")
    if not 0 <= key <= _MASK64:
        raise ValueError(f"key must be an unsigned 64-bit integer (got {key})")
    b, j = -1, 0
    while j < num_buckets:
        b = j
        key = (key * _JUMP_MULTIPLIER + 1) & _MASK64
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return b


def jump_buckets(keys: np.ndarray, num_buckets: int) -> np.ndarray:
    """:func:`jump_bucket` for a whole ``uint64`` array at once; identical results, one numpy pass per jump."""
    if num_buckets < 1:
        raise ValueError(f"num_buckets must be at least 1 (got {num_buckets})")
    key = np.asarray(keys, dtype=np.uint64).copy()
    b = np.full(key.shape, -1, dtype=np.int64)
    j = np.zeros(key.shape, dtype=np.int64)
    live = np.arange(key.size)
    mult, one = np.uint64(_JUMP_MULTIPLIER), np.uint64(1)
    while live.size:
        b[live] = j[live]
        k = key[live] * mult + one  # uint64 arithmetic wraps, as in C
        key[live] = k
        step = float(1 << 31) / ((k >> np.uint64(33)) + one).astype(np.float64)
        j[live] = ((b[live] + 1).astype(np.float64) * step).astype(np.int64)
        live = live[j[live] < num_buckets]
    return b


class _ListScheme:
    """Shared membership for schemes that keep an ordered list of nodes."""

    def __init__(self, nodes: Iterable[str] = (), *, hash_name: str = "murmur3"):
        self.hash_name = check_hash_name(hash_name)
        self._nodes: list[str] = []
        for name in nodes:
            self.add_node(name)

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(self._nodes)

    def add_node(self, name: str, weight: float = 1.0) -> None:
        name = check_new_node(name, self._nodes)
        if check_weight(name, weight) != 1.0:
            raise ValueError(f"{type(self).__name__} cannot weight nodes; use a HashRing or RendezvousHash")
        self._nodes.append(name)

    def remove_node(self, name: str) -> None:
        self._nodes.remove(check_known_node(name, self._nodes))

    def locate(self, keys: Sequence[str] | KeyHashes) -> np.ndarray:
        check_not_empty(self._nodes)
        return self._locate(as_key_hashes(keys, self.hash_name))

    def _locate(self, hashed: KeyHashes) -> np.ndarray:
        raise NotImplementedError

    def assign(self, keys: Sequence[str] | KeyHashes) -> list[str]:
        return np.array(self.nodes, dtype=object)[self.locate(keys)].tolist()

    def node_for(self, key: str) -> str:
        return self.assign([key])[0]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._nodes!r}, hash_name={self.hash_name!r})"


class ModuloHash(_ListScheme):
    """``nodes[hash32(key) % n]``: the baseline that consistent hashing improves on."""

    def _locate(self, hashed: KeyHashes) -> np.ndarray:
        return (hashed.h32 % np.uint32(len(self._nodes))).astype(np.int32)


class JumpHash(_ListScheme):
    """``nodes[jump_bucket(hash64(key), n)]``.

    Removing a node that is not the last renumbers every bucket after it, which moves many more keys than the
    minimum: the price of needing no ring.
    """

    def _locate(self, hashed: KeyHashes) -> np.ndarray:
        return jump_buckets(hashed.h64, len(self._nodes)).astype(np.int32)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """The SplitMix64 finalizer (Steele, Lea and Flood, 2014): mixes every input bit into every output bit."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


class RendezvousHash(_ListScheme):
    """Highest random weight: key k goes to the node maximising ``-w_i / ln(u(k, i))``.

    ``u(k, i)`` is a uniform number in (0, 1) made by mixing the key's 64-bit hash with the node's; with
    equal weights the rule reduces to "the node with the highest score". Removing a node moves only its own
    keys, adding one takes only the keys it wins; the cost is O(n) work per key.
    """

    def __init__(
        self, nodes: Iterable[str] | Iterable[tuple[str, float]] = (), *, hash_name: str = "murmur3"
    ):
        self._weights: dict[str, float] = {}
        self.hash_name = check_hash_name(hash_name)
        self._nodes = []
        for item in nodes:
            if isinstance(item, tuple):
                self.add_node(*item)
            else:
                self.add_node(item)

    def add_node(self, name: str, weight: float = 1.0) -> None:
        name = check_new_node(name, self._nodes)
        self._weights[name] = check_weight(name, weight)
        self._nodes.append(name)

    def remove_node(self, name: str) -> None:
        super().remove_node(name)
        del self._weights[name]

    def _locate(self, hashed: KeyHashes) -> np.ndarray:
        keys = hashed.h64
        best = np.full(keys.shape, -np.inf)
        winner = np.zeros(keys.shape, dtype=np.int32)
        for i, name in enumerate(self._nodes):
            mixed = _splitmix64(keys ^ np.uint64(hash64(name, "murmur3")))
            u = ((mixed >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)  # in (0, 1)
            score = -self._weights[name] / np.log(u)
            better = score > best
            best[better] = score[better]
            winner[better] = i
        return winner
