"""Bloom filters: "definitely not here" or "maybe here" in a few bits per key.

An SSTable carries one so that a read can skip the tables that cannot hold its key without touching their
data. ``m`` bits, ``k`` probes per key; the probes come from one 128-bit MurmurHash3 of the key split into two
64-bit halves, ``h1 + i * h2 (mod 2^64) mod m`` for ``i = 0 .. k-1`` (Kirsch & Mitzenmacher 2006: two hashes
give the same false-positive rate as k independent ones). Because the hash pair does not depend on ``m`` or
``k``, a bulk path hashes once (``hash_pairs``) and reuses the pairs for filters of any size.

After ``n`` keys the chance that a key never added finds all its ``k`` bits set is
``(1 - e^(-k n / m))^k`` (Bloom 1970); ``k = (m/n) ln 2`` minimises it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import mmh3
import numpy as np

from sdcore import checks
from sdcore.checks import number_text

__all__ = [
    "MAX_BITS",
    "MAX_HASHES",
    "PUBLISHED_RATES",
    "BloomFilter",
    "BloomPoint",
    "PublishedRate",
    "bloom_sweep",
    "false_positive_rate",
    "hash_pairs",
    "leveldb_hashes",
    "optimal_hashes",
]

MAX_BITS = 2**32
MAX_HASHES = 30  # LevelDB's cap on probes per key
_MASK = (1 << 64) - 1
_BULK_PROBES = 2048  # from_pairs: above this many probes numpy is faster than a plain loop


def hash_pairs(keys: Iterable[str], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The two 64-bit halves of each key's MurmurHash3 (x64, 128-bit), as two uint64 arrays: the same
    numbers as ``mmh3.hash64(key, seed, signed=False)``, read from the joined digests in one numpy call."""
    digests = b"".join([mmh3.hash_bytes(key, seed) for key in keys])
    both = np.frombuffer(digests, dtype="<u8").reshape(-1, 2).astype(np.uint64)
    return both[:, 0], both[:, 1]


def false_positive_rate(bits_per_key: float, k_hashes: int) -> float:
    """(1 - e^(-k/b))^k: the chance a key never added is reported present, with b bits per key added."""
    b = checks.positive_finite("bits_per_key", bits_per_key)
    k = checks.int_between("k_hashes", k_hashes, 1, MAX_HASHES)
    return (1.0 - math.exp(-k / b)) ** k


def optimal_hashes(bits_per_key: float) -> int:
    """The k that minimises the false-positive rate for b bits per key: round(b ln 2), at least 1."""
    b = checks.positive_finite("bits_per_key", bits_per_key)
    best = max(1, min(MAX_HASHES, round(b * math.log(2))))
    # the rounding can land on the worse neighbour; compare both
    candidates = {best, max(1, best - 1), min(MAX_HASHES, best + 1)}
    return min(sorted(candidates), key=lambda k: false_positive_rate(b, k))


def leveldb_hashes(bits_per_key: float) -> int:
    """LevelDB's choice, ``k = int(bits_per_key * 0.69)`` clamped to 1..30 ("round down to reduce probing
    cost a little bit", util/bloom.cc): 6 probes at 10 bits per key."""
    b = checks.positive_finite("bits_per_key", bits_per_key)
    return max(1, min(MAX_HASHES, int(b * 0.69)))


class BloomFilter:
    """A Bloom filter over string keys: ``m_bits`` bits and ``k_hashes`` probes per key.

    >>> bf = BloomFilter(1024, 7)
    >>> bf.add("cart:42")
    >>> "cart:42" in bf
    True
    """

    def __init__(self, m_bits: int, k_hashes: int, *, seed: int = 0):
        self.m_bits = checks.int_between("m_bits", m_bits, 1, MAX_BITS)
        self.k_hashes = checks.int_between("k_hashes", k_hashes, 1, MAX_HASHES)
        self.seed = checks.int_between("seed", seed, 0, 2**32 - 1)
        self._bits = bytearray(self.m_bits)  # one byte per bit: plain indexing in the scalar path
        self.count = 0

    @classmethod
    def from_pairs(
        cls, m_bits: int, k_hashes: int, pairs: Sequence[tuple[int, int]], *, seed: int = 0
    ) -> BloomFilter:
        """A filter of ``m_bits`` bits and ``k_hashes`` probes holding the keys whose hash pairs are given
        (``mmh3.hash64(key, seed, signed=False)`` each): the same bits as :meth:`add` of each key.

        The fast path of an LSM store, which hashes each key once and builds many small filters: the sizes
        are trusted (the caller has checked them), small filters are filled by a plain loop, large ones
        through numpy."""
        bf = cls.__new__(cls)
        bf.m_bits, bf.k_hashes, bf.seed, bf.count = m_bits, k_hashes, seed, len(pairs)
        bits = bf._bits = bytearray(m_bits)
        if len(pairs) * k_hashes > _BULK_PROBES:
            both = np.array(pairs, dtype=np.uint64).reshape(-1, 2)
            bf._view[bf._positions(both[:, 0], both[:, 1]).ravel()] = 1
            return bf
        for h1, h2 in pairs:
            for i in range(k_hashes):
                bits[((h1 + i * h2) & _MASK) % m_bits] = 1
        return bf

    def contains_pair(self, h1: int, h2: int) -> bool:
        """``key in self`` for the key whose hash pair (``mmh3.hash64(key, seed, signed=False)``) is given."""
        bits, m = self._bits, self.m_bits
        for i in range(self.k_hashes):  # noqa: SIM110 - a plain loop stops at the first clear bit
            if not bits[((h1 + i * h2) & _MASK) % m]:
                return False
        return True

    @property
    def _view(self) -> np.ndarray:
        return np.frombuffer(self._bits, dtype=np.uint8)

    # -- sizing ---------------------------------------------------------------------------------------
    @classmethod
    def for_capacity(cls, n: int, false_positive_rate: float, *, seed: int = 0) -> BloomFilter:
        """The smallest filter for ``n`` keys at that rate: m = ceil(-n ln p / (ln 2)^2), k = (m/n) ln 2."""
        n = checks.int_between("n", n, 1, MAX_BITS)
        p = checks.number_between("false_positive_rate", false_positive_rate, 0.0, 0.5, lo_open=True)
        m = max(1, math.ceil(-n * math.log(p) / math.log(2) ** 2))
        if m > MAX_BITS:
            raise ValueError(
                f"n and false_positive_rate need {m:,} bits, more than the {MAX_BITS:,} allowed "
                f"(got n={n}, false_positive_rate={number_text(p)})"
            )
        return cls(m, optimal_hashes(m / n), seed=seed)

    @classmethod
    def for_bits_per_key(cls, n: int, bits_per_key: float, *, seed: int = 0) -> BloomFilter:
        """A filter for ``n`` keys sized as LevelDB sizes an SSTable's: n x bits_per_key bits (at least 64,
        "for small n, we can see a very high false positive rate"), ``leveldb_hashes`` probes."""
        n = checks.int_between("n", n, 0, MAX_BITS)
        b = checks.number_between("bits_per_key", bits_per_key, 0.0, 64.0, lo_open=True)
        return cls(min(MAX_BITS, max(64, math.ceil(n * b))), leveldb_hashes(b), seed=seed)

    # -- one key at a time ---------------------------------------------------------------------------
    def _probes(self, key: str) -> list[int]:
        if not isinstance(key, str):
            raise ValueError(f"key must be a string (got key={key!r})")
        h1, h2 = mmh3.hash64(key, self.seed, signed=False)
        m = self.m_bits
        return [((h1 + i * h2) & _MASK) % m for i in range(self.k_hashes)]

    def add(self, key: str) -> None:
        bits = self._bits
        for p in self._probes(key):
            bits[p] = 1
        self.count += 1

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            raise ValueError(f"key must be a string (got key={key!r})")
        h1, h2 = mmh3.hash64(key, self.seed, signed=False)
        bits, m = self._bits, self.m_bits
        for i in range(self.k_hashes):  # noqa: SIM110 - a plain loop stops at the first clear bit, faster than all()
            if not bits[((h1 + i * h2) & _MASK) % m]:
                return False
        return True

    # -- many keys at once ---------------------------------------------------------------------------
    def _positions(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        # uint64 arithmetic wraps mod 2^64, exactly as the scalar path masks it
        steps = np.arange(self.k_hashes, dtype=np.uint64)
        return (h1[:, None] + steps[None, :] * h2[:, None]) % np.uint64(self.m_bits)

    def add_hashes(self, h1: np.ndarray, h2: np.ndarray) -> None:
        """Add keys given by their hash pairs (from :func:`hash_pairs` with this filter's seed)."""
        if len(h1):
            self._view[self._positions(h1, h2).ravel()] = 1
        self.count += len(h1)

    def contains_hashes(self, h1: np.ndarray, h2: np.ndarray) -> np.ndarray:
        """Which keys (given by their hash pairs) may be present: probe by probe, each probe only for the keys
        every earlier probe found set (a clear bit settles a key, as in the scalar path)."""
        n = len(h1)
        out = np.zeros(n, dtype=bool)
        if not n:
            return out
        view, m = self._view, np.uint64(self.m_bits)
        alive = np.arange(n)
        for i in range(self.k_hashes):
            # uint64 arithmetic wraps mod 2^64, exactly as the scalar path masks it
            keep = view[(h1 + np.uint64(i) * h2) % m].astype(bool)
            alive, h1, h2 = alive[keep], h1[keep], h2[keep]
            if not len(alive):
                break
        out[alive] = True
        return out

    def add_many(self, keys: Sequence[str]) -> None:
        self.add_hashes(*hash_pairs(keys, self.seed))

    def contains_many(self, keys: Sequence[str]) -> np.ndarray:
        """A boolean array: which keys may be present."""
        return self.contains_hashes(*hash_pairs(keys, self.seed))

    # -- what it costs and promises -----------------------------------------------------------------
    def expected_false_positive_rate(self, n: int | None = None) -> float:
        """(1 - e^(-k n / m))^k for ``n`` keys added (by default, the keys added so far)."""
        n = self.count if n is None else checks.int_between("n", n, 0, 2**63)
        return (1.0 - math.exp(-self.k_hashes * n / self.m_bits)) ** self.k_hashes

    @property
    def bits_per_key(self) -> float:
        return self.m_bits / self.count if self.count else math.inf

    @property
    def fill_ratio(self) -> float:
        """The share of bits set (about 1/2 at the optimal k)."""
        return float(self._view.mean()) if self.m_bits else 0.0

    @property
    def size_bytes(self) -> int:
        """What the filter would take packed, one bit per bit."""
        return (self.m_bits + 7) // 8

    def __repr__(self) -> str:
        return f"BloomFilter(m_bits={self.m_bits}, k_hashes={self.k_hashes}, count={self.count})"


# -- what the documentation says, and what a measurement shows ---------------------------------------------


@dataclass(frozen=True)
class PublishedRate:
    """A bits-per-key figure a storage engine's documentation gives, and the false-positive rate it states."""

    source: str
    bits_per_key: float
    false_positive_rate: float


# RocksDB wiki, "RocksDB Bloom Filter" (configuration basics, diminishing returns); LevelDB doc/index.md:
# 10 bits per key cut unnecessary disk reads "by a factor of approximately a 100", i.e. about 1%.
PUBLISHED_RATES: tuple[PublishedRate, ...] = (
    PublishedRate("RocksDB wiki", 1.5, 0.50),
    PublishedRate("RocksDB wiki", 2.9, 0.25),
    PublishedRate("RocksDB wiki", 4.9, 0.10),
    PublishedRate("RocksDB wiki", 9.9, 0.01),
    PublishedRate("RocksDB wiki", 15.5, 0.001),
    PublishedRate("LevelDB docs", 10.0, 0.01),
)


@dataclass(frozen=True)
class BloomPoint:
    """One filter of ``keys`` keys at ``bits_per_key``, probed with ``queries`` keys never added."""

    bits_per_key: float
    k_hashes: int
    m_bits: int
    keys: int
    queries: int
    false_positives: int
    expected: float  # the formula, for this filter's m, k and n
    false_negatives: int  # keys added and reported absent: always 0

    @property
    def measured(self) -> float:
        return self.false_positives / self.queries if self.queries else 0.0

    @property
    def standard_error(self) -> float:
        """Binomial sampling error of the measured rate around the formula."""
        return math.sqrt(self.expected * (1 - self.expected) / self.queries) if self.queries else 0.0


@functools.lru_cache(maxsize=4)
def _sweep_hashes(
    keys: int, queries: int, hash_seed: int
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The hash pairs of ``key:0`` … and ``absent:0`` …, read-only: a sweep of another setting on the same seed
    (a bits-per-key the page's sweep did not measure) reuses them instead of hashing every key again."""
    added = hash_pairs((f"key:{i}" for i in range(keys)), hash_seed)
    absent = hash_pairs((f"absent:{i}" for i in range(queries)), hash_seed)
    for a in (*added, *absent):
        a.setflags(write=False)
    return added, absent


def bloom_sweep(
    bits_per_key: Sequence[float], keys: int = 10_000, queries: int = 100_000, seed: int = 0
) -> tuple[BloomPoint, ...]:
    """Measure the false-positive rate at each bits-per-key setting, on the same keys and queries.

    The keys (``key:0`` …) are added; the queries (``absent:0`` …) never are. The hash seed comes from
    ``seed`` so another seed is another, independent experiment. Keys and queries are hashed once.
    """
    keys = checks.int_between("keys", keys, 1, 1_000_000)
    queries = checks.int_between("queries", queries, 1, 2_000_000)
    rng = np.random.default_rng(checks.seed(seed))
    hash_seed = int(rng.integers(0, 2**32))
    settings = [checks.number_between("bits_per_key", b, 0.0, 64.0, lo_open=True) for b in bits_per_key]
    added, absent = _sweep_hashes(keys, queries, hash_seed)
    points = []
    for b in settings:
        bf = BloomFilter.for_bits_per_key(keys, b, seed=hash_seed)
        # add_hashes(*added), then contains_hashes(*added) from the same probe positions: a key is reported
        # present when all its k bits are set (a clear bit stops the scalar path, not the answer)
        where = bf._positions(*added)
        view = bf._view
        view[where.ravel()] = 1
        bf.count += keys
        points.append(
            BloomPoint(
                bits_per_key=b,
                k_hashes=bf.k_hashes,
                m_bits=bf.m_bits,
                keys=keys,
                queries=queries,
                false_positives=int(bf.contains_hashes(*absent).sum()),
                expected=bf.expected_false_positive_rate(),
                false_negatives=int((~view[where].all(axis=1)).sum()),
            )
        )
    return tuple(points)
