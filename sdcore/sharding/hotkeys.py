"""The celebrity (hot-key) problem: one key value's traffic lands on one shard, whatever the shard count.

DynamoDB caps every partition at 3,000 reads and 1,000 writes per second however large the table's
provisioned total, so a key hotter than that is throttled even on an idle table. The mitigations, each
computed on the same placement with its cost:

- **salting**: split the hot key into k sub-keys ``key#0 .. key#k-1`` placed like any key. Each write picks
  one sub-key, so a shard sees about 1/k of the key's writes; each read must fetch every sub-key, so the
  key's reads cost k requests (one per distinct shard holding sub-keys).
- **bounded-load consistent hashing** (Mirrokni et al. 2018): no shard takes more than c times its share
  of the key values, hottest placed first. It spreads many warm keys, but cannot split one hot key.
- **a dedicated shard** for the hottest keys: the hot shard's neighbours are relieved; the hot key is not.
- **a cache in front**: the ``cached`` most-read key values are served from memory. Under a Zipf law the
  hit ratio is sum_{i<=C} i^-s / sum_{i<=N} i^-s (:func:`sdcore.scale.caching.zipf_hit_ratio`); the
  measured hit ratio on this workload is printed beside it.
- **salting + cache**: the two together, for a key hot on both reads and writes: its reads are served from
  the cache (so the fan-out of salted reads never reaches the shards), its writes spread over k sub-keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from sdcore import checks
from sdcore.hashing import KeyHashes, hash_keys
from sdcore.scale.caching import zipf_hit_ratio
from sdcore.sharding.keys import KeyColumn
from sdcore.sharding.keyslot import key_slots
from sdcore.sharding.layout import ShardLoads, Workload, group_loads, shard_loads
from sdcore.sharding.memo import memo_of
from sdcore.sharding.strategies import Placement, new_post_shards, shared_ring

DYNAMODB_READS_PER_PARTITION = 3000.0
DYNAMODB_WRITES_PER_PARTITION = 1000.0
MAX_SALT = 64


@dataclass(frozen=True)
class Mitigation:
    label: str
    description: str


MITIGATIONS: MappingProxyType[str, Mitigation] = MappingProxyType({
    "none": Mitigation("no mitigation", "the placement as it is"),
    "salting": Mitigation("salt the hot key into k", "writes spread over k sub-keys; reads fan out to all k"),
    "bounded": Mitigation("bounded-load hashing", "consistent hashing with a cap of c × the mean keys per shard"),
    "dedicated": Mitigation("dedicated hot shard", "the hottest key values get a shard of their own"),
    "cache": Mitigation("cache in front", "the most-read key values are served from memory"),
    "salt_cache": Mitigation("salting + cache", "the cache takes the reads, salting spreads the writes"),
})  # fmt: skip


@dataclass(frozen=True)
class HotSettings:
    read_capacity: float = DYNAMODB_READS_PER_PARTITION
    write_capacity: float = DYNAMODB_WRITES_PER_PARTITION
    salt_k: int = 8
    load_factor: float = 1.25
    dedicated_keys: int = 1
    cache_items: int = 100

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "read_capacity", checks.positive_finite("read_capacity", self.read_capacity, " reads/s"))
        set_(
            self, "write_capacity", checks.positive_finite("write_capacity", self.write_capacity, " writes/s")
        )
        set_(self, "salt_k", checks.int_between("salt_k", self.salt_k, 1, MAX_SALT))
        set_(self, "load_factor", checks.number_between("load_factor", self.load_factor, 1.0, 4.0))
        set_(self, "dedicated_keys", checks.int_between("dedicated_keys", self.dedicated_keys, 1, 1000))
        set_(self, "cache_items", checks.int_between("cache_items", self.cache_items, 0, 1_000_000))


@dataclass(frozen=True, eq=False)
class MitigationResult:
    name: str
    reads: np.ndarray  # per shard, per second
    writes: np.ndarray
    hot_read_requests: float  # requests per second the hot key's reads cost the shards
    rows_moved: int
    extra_shards: int = 0
    hit_ratio: float | None = None  # cache: measured share of reads served from memory
    zipf_hit_ratio: float | None = None  # cache: what the Zipf law predicts for this many items

    @property
    def hot_reads(self) -> float:
        return float(self.reads.max())

    @property
    def hot_writes(self) -> float:
        return float(self.writes.max())


@dataclass(frozen=True, eq=False)
class HotKeyReport:
    hot_group: int  # the hottest key value (by reads + writes)
    hot_label: str
    hot_reads: float  # per second, that key alone
    hot_writes: float
    top_shares: tuple[tuple[int, float], ...]  # (n, share of all requests the n hottest key values get)
    loads: ShardLoads
    settings: HotSettings
    options: tuple[MitigationResult, ...]

    def option(self, name: str) -> MitigationResult:
        return next(o for o in self.options if o.name == name)


_HOT_KEPT = 12  # per key column: the group loads and orders of a few workloads


def _frozen(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.setflags(write=False)


def _group_loads(col: KeyColumn, workload: Workload) -> tuple[np.ndarray, np.ndarray]:
    """:func:`group_loads`, computed once per column and workload (read-only: every caller shares them)."""

    def make():
        reads, writes = group_loads(col, workload)
        _frozen(reads, writes)
        return reads, writes

    return memo_of(col, _HOT_KEPT, "_hot_memo").get(("loads", workload), make)


def _order(col: KeyColumn, workload: Workload, by: str) -> np.ndarray:
    """Key values hottest first (stable), by ``"total"`` requests or by ``"reads"``, once per workload."""

    def make():
        reads_g, writes_g = _group_loads(col, workload)
        order = np.argsort(-(reads_g + writes_g) if by == "total" else -reads_g, kind="stable")
        _frozen(order)
        return order

    return memo_of(col, _HOT_KEPT, "_hot_memo").get((by, workload), make)


def _base_loads(pl: Placement, col: KeyColumn, workload: Workload) -> ShardLoads:
    """:func:`shard_loads` once per placement, column and workload (read-only)."""

    def make():
        loads = shard_loads(pl, col, workload)
        _frozen(loads.rows, loads.bytes, loads.reads, loads.writes)
        return loads

    key = ("base", col.key, col.n_groups, workload)
    return memo_of(pl, _HOT_KEPT, "_hot_memo").get(key, make)


def _shards_of_labels(pl: Placement, labels: list[str], home: int) -> np.ndarray:
    """Where new key strings go under ``pl``'s rule (for a range or a directory, salted values land on
    consecutive shards after the key's own: a salt prefix sorts apart, a directory entry is free)."""
    if pl.strategy == "modulo":
        return (hash_keys(labels, "murmur3", 32) % np.uint32(pl.shards)).astype(np.int32)
    if pl.strategy == "ring":
        return pl.state.locate(KeyHashes.precomputed("murmur3", h32=hash_keys(labels, "murmur3", 32)))
    if pl.strategy == "slots":
        return pl.state[key_slots(labels)]
    return ((home + np.arange(len(labels))) % pl.shards).astype(np.int32)


def salted(pl: Placement, col: KeyColumn, workload: Workload, group: int, k: int) -> MitigationResult:
    """Split key value ``group`` into ``k`` sub-keys: writes spread evenly, every read reads all k."""
    reads_g, writes_g = _group_loads(col, workload)
    base = _base_loads(pl, col, workload)
    home = int(pl.group_shard[group])
    label = col.labels()[group]
    where = _shards_of_labels(pl, [f"{label}#{j}" for j in range(k)], home) if k > 1 else np.array([home])
    per_shard = np.bincount(where, minlength=pl.shards)
    reads, writes = base.reads.copy(), base.writes.copy()
    reads[home] -= reads_g[group]
    writes[home] -= writes_g[group]
    holding = per_shard > 0
    reads[holding] += reads_g[group]  # a read fetches every sub-key: one request per shard holding some
    writes += writes_g[group] * per_shard / k
    rows_moved = int(round(col.rows[group] * (1 - per_shard[home] / k)))
    return MitigationResult("salting", reads, writes, float(reads_g[group] * holding.sum()), rows_moved)


def bounded(pl: Placement, col: KeyColumn, workload: Workload, load_factor: float, vnodes: int):
    """Consistent hashing with bounded loads, hottest key values placed first."""
    reads_g, writes_g = _group_loads(col, workload)
    ring = shared_ring(col, pl.shards, vnodes, load_factor)
    order = _order(col, workload, "total")
    where = np.empty(col.n_groups, dtype=np.int32)
    where[order] = ring.locate(KeyHashes.precomputed("murmur3", h32=col.h32()[order]))
    reads = np.bincount(where, weights=reads_g, minlength=pl.shards)
    writes = np.bincount(where, weights=writes_g, minlength=pl.shards)
    if col.creates_values:  # new values are placed as they come, with no cap to apply yet
        plain = shared_ring(col, pl.shards, vnodes)
        new = plain.locate(KeyHashes.precomputed("murmur3", h32=col.new_h32()))
        writes += workload.new_posts_per_s / len(new) * np.bincount(new, minlength=pl.shards)
    hot = int(order[0])
    moved = int(col.rows[where != pl.group_shard].sum())
    return MitigationResult("bounded", reads, writes, float(reads_g[hot]), moved)


def dedicated(pl: Placement, col: KeyColumn, workload: Workload, count: int) -> MitigationResult:
    """Move the ``count`` hottest key values to one extra shard (number S)."""
    reads_g, writes_g = _group_loads(col, workload)
    order = _order(col, workload, "total")[:count]
    where = pl.group_shard.copy()
    where[order] = pl.shards
    s = pl.shards + 1
    reads = np.bincount(where, weights=reads_g, minlength=s)
    writes = np.bincount(where, weights=writes_g, minlength=s)
    if col.creates_values:
        per_post = workload.new_posts_per_s / len(col.new_codes)
        writes += per_post * np.bincount(new_post_shards(pl, col), minlength=s)
    return MitigationResult("dedicated", reads, writes, float(reads_g[order[0]]),
                            int(col.rows[order].sum()), extra_shards=1)  # fmt: skip


def cached(
    pl: Placement, col: KeyColumn, workload: Workload, items: int, exponent: float
) -> MitigationResult:
    """Serve the ``items`` most-read key values from a cache; writes still reach the shards."""
    reads_g, _ = _group_loads(col, workload)
    items = min(items, col.n_groups)
    top = _order(col, workload, "reads")[:items]
    base = _base_loads(pl, col, workload)
    left = reads_g.copy()
    left[top] = 0.0
    reads = np.bincount(pl.group_shard, weights=left, minlength=pl.shards)
    total = reads_g.sum()
    hit = float(reads_g[top].sum() / total) if total > 0 else 0.0
    hot = int(np.argmax(reads_g))
    return MitigationResult("cache", reads, base.writes.copy(), float(left[hot]), 0,
                            hit_ratio=hit, zipf_hit_ratio=zipf_hit_ratio(col.n_groups, exponent, items))  # fmt: skip


def salted_and_cached(
    pl: Placement, col: KeyColumn, workload: Workload, group: int, k: int, items: int, exponent: float
) -> MitigationResult:
    """Salting ``group`` into ``k`` and a cache of the ``items`` most-read key values, together."""
    salt = salted(pl, col, workload, group, k)
    cache = cached(pl, col, workload, items, exponent)
    reads_g, _ = _group_loads(col, workload)
    top = _order(col, workload, "reads")[: min(items, col.n_groups)]
    if (top == group).any():  # the cache answers the hot key's reads: none of its k requests reach a shard
        reads, requests = cache.reads.copy(), 0.0
    else:
        reads = salt.reads - np.bincount(pl.group_shard[top], weights=reads_g[top], minlength=pl.shards)
        requests = salt.hot_read_requests
    return MitigationResult("salt_cache", reads, salt.writes.copy(), requests, salt.rows_moved,
                            hit_ratio=cache.hit_ratio, zipf_hit_ratio=cache.zipf_hit_ratio)  # fmt: skip


def hot_keys(
    pl: Placement,
    col: KeyColumn,
    workload: Workload,
    settings: HotSettings,
    *,
    exponent: float,
    vnodes: int = 100,
) -> HotKeyReport:
    """The hottest key value, the hot shard, and every mitigation side by side."""
    reads_g, writes_g = _group_loads(col, workload)
    total = reads_g + writes_g
    order = _order(col, workload, "total")
    all_requests = workload.reads_per_s + workload.writes_per_s
    cum = np.cumsum(total[order])
    tops = tuple(
        (n, float(cum[min(n, len(cum)) - 1] / all_requests) if all_requests else 0.0)
        for n in (1, 10, 100) if n <= col.n_groups
    )  # fmt: skip
    hot = int(order[0])
    loads = _base_loads(pl, col, workload)
    none = MitigationResult("none", loads.reads.copy(), loads.writes.copy(), float(reads_g[hot]), 0)
    options = (
        none,
        salted(pl, col, workload, hot, settings.salt_k),
        bounded(pl, col, workload, settings.load_factor, vnodes),
        dedicated(pl, col, workload, settings.dedicated_keys),
        cached(pl, col, workload, settings.cache_items, exponent),
        salted_and_cached(pl, col, workload, hot, settings.salt_k, settings.cache_items, exponent),
    )
    return HotKeyReport(hot, col.labels()[hot], float(reads_g[hot]), float(writes_g[hot]), tops, loads,
                        settings, options)  # fmt: skip
