"""N/R/W quorum arithmetic: when a read is guaranteed to see the last write, and how likely it is when not.

A key is stored on N replicas. A write waits for W acknowledgements, a read for R responses. When
R + W > N every read quorum shares at least one replica with every write quorum (strong consistency);
when R + W <= N they can miss each other and a read can return a stale value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from sdcore.kvstore._checks import replica_counts, whole_number

CONSISTENCY_LEVELS: tuple[str, ...] = ("ONE", "TWO", "THREE", "QUORUM", "ALL")


def staleness_probability(n: int, r: int, w: int, k: int = 1) -> float:
    """Probability that a read quorum misses all of the last ``k`` write quorums.

    Quorums are chosen uniformly at random among the N replicas (the closed form of Bailis et al.,
    VLDB 2012, section 3): a read quorum of size R misses one write quorum of size W with probability
    C(N-W, R) / C(N, R), and the last ``k`` independent writes with that probability to the power ``k``.
    It is 0 when R + W > N (``math.comb`` returns 0 when R > N - W).
    """
    n, r, w = replica_counts(n, r, w)
    k = whole_number("k", k)
    if k < 1:
        raise ValueError(f"k, the number of recent writes the read may miss, must be at least 1 (got k={k})")
    return float(Fraction(math.comb(n - w, r), math.comb(n, r))) ** k


def consistency_level_count(level: str, n: int) -> int:
    """How many replicas a Cassandra-style consistency level waits for when there are ``n`` replicas.

    ONE, TWO, THREE: that many; QUORUM: a majority, ``n // 2 + 1``; ALL: ``n``. Used as R for a read and
    W for a write, so QUORUM reads with QUORUM writes always overlap.
    """
    n = whole_number("N", n)
    if n < 1:
        raise ValueError(f"N, the number of replicas, must be at least 1 (got N={n})")
    name = level.strip().upper() if isinstance(level, str) else None
    counts = {"ONE": 1, "TWO": 2, "THREE": 3, "QUORUM": n // 2 + 1, "ALL": n}
    if name not in counts:
        raise ValueError(f"consistency level must be one of {', '.join(CONSISTENCY_LEVELS)} (got {level!r})")
    count = counts[name]
    if count > n:
        raise ValueError(
            f"consistency level {name} waits for {count} replicas but there are only N={n}; "
            f"use a level that needs at most {n}"
        )
    return count


@dataclass(frozen=True)
class QuorumOverlap:
    """The worst-case placement of a write quorum and a read quorum on replicas ``0 .. n-1``.

    The write goes to the first W replicas and the read to the last R, which makes their intersection as
    small as possible: ``guaranteed_overlap = max(0, R + W - N)`` replicas. No overlap means a read can
    miss the latest write.
    """

    n: int
    r: int
    w: int
    write_replicas: tuple[int, ...]
    read_replicas: tuple[int, ...]
    overlap_replicas: tuple[int, ...]

    @property
    def guaranteed_overlap(self) -> int:
        return len(self.overlap_replicas)

    @property
    def strong(self) -> bool:
        """True when every read quorum meets every write quorum (R + W > N)."""
        return self.r + self.w > self.n


def quorum_overlap(n: int, r: int, w: int) -> QuorumOverlap:
    """The replicas in the write quorum, the read quorum and both, placed to overlap as little as possible."""
    n, r, w = replica_counts(n, r, w)
    write_replicas = tuple(range(w))
    read_replicas = tuple(range(n - r, n))
    overlap = tuple(sorted(set(write_replicas) & set(read_replicas)))
    return QuorumOverlap(n, r, w, write_replicas, read_replicas, overlap)
