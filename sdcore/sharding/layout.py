"""What each shard holds and serves: rows, bytes, reads and writes per second, and how uneven they are.

Loads are expected rates, not samples: a shard's reads per second is the total read rate times the
shares of the key values it holds, so two runs with the same seed agree to the last digit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdcore import checks
from sdcore.sharding.keys import KeyColumn
from sdcore.sharding.strategies import Placement, new_post_shards

MAX_RATE = 10_000_000.0


@dataclass(frozen=True)
class Workload:
    """Requests per second to the posts table. Likes are writes landing on posts as reads do; new posts
    are the other writes, ``new_post_share`` of them."""

    reads_per_s: float = 20_000.0
    writes_per_s: float = 4_000.0
    new_post_share: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "reads_per_s", checks.number_between("reads_per_s", self.reads_per_s, 0, MAX_RATE)
        )
        object.__setattr__(
            self, "writes_per_s", checks.number_between("writes_per_s", self.writes_per_s, 0, MAX_RATE)
        )
        object.__setattr__(
            self, "new_post_share", checks.number_between("new_post_share", self.new_post_share, 0.0, 1.0)
        )

    @property
    def likes_per_s(self) -> float:
        return self.writes_per_s * (1 - self.new_post_share)

    @property
    def new_posts_per_s(self) -> float:
        return self.writes_per_s * self.new_post_share


@dataclass(frozen=True)
class Skew:
    """How uneven one quantity is across shards: max over mean (1 is perfect) and the Gini coefficient
    (0 perfect, (S-1)/S when one shard has everything)."""

    max_over_mean: float
    gini: float


def skew(values: np.ndarray) -> Skew:
    x = np.sort(np.asarray(values, dtype=np.float64))
    n, total = len(x), float(x.sum())
    if n == 0 or total <= 0:
        return Skew(1.0, 0.0)
    gini = float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * total))
    return Skew(float(x[-1] / (total / n)), max(gini, 0.0))


@dataclass(frozen=True, eq=False)
class ShardLoads:
    """Per shard (index = shard number): what it stores and what it serves."""

    rows: np.ndarray
    bytes: np.ndarray
    reads: np.ndarray  # per second
    writes: np.ndarray  # per second: likes plus new posts

    @property
    def shards(self) -> int:
        return len(self.rows)

    def skews(self) -> dict[str, Skew]:
        return {name: skew(getattr(self, name)) for name in ("rows", "bytes", "reads", "writes")}


def group_loads(col: KeyColumn, workload: Workload) -> tuple[np.ndarray, np.ndarray]:
    """Reads and writes per second of every key value (new posts counted on the values they reuse)."""
    reads = workload.reads_per_s * col.read_share
    writes = workload.likes_per_s * col.read_share
    old = col.new_codes[col.new_codes < col.n_groups]
    if len(old):
        per_post = workload.new_posts_per_s / len(col.new_codes)
        writes = writes + per_post * np.bincount(old, minlength=col.n_groups)
    return reads, writes


def shard_loads(pl: Placement, col: KeyColumn, workload: Workload) -> ShardLoads:
    s = pl.shards
    where = pl.group_shard
    reads = np.bincount(where, weights=workload.reads_per_s * col.read_share, minlength=s)
    writes = np.bincount(where, weights=workload.likes_per_s * col.read_share, minlength=s)
    if len(col.new_codes):
        per_post = workload.new_posts_per_s / len(col.new_codes)
        writes = writes + per_post * np.bincount(new_post_shards(pl, col), minlength=s)
    return ShardLoads(
        rows=np.bincount(where, weights=col.weights("rows"), minlength=s).astype(np.int64),
        bytes=np.bincount(where, weights=col.weights("bytes"), minlength=s).astype(np.int64),
        reads=reads,
        writes=writes,
    )
