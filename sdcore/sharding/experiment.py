"""One run of the sharding page: a dataset, one key and strategy, and every panel's numbers.

>>> r = run_sharding(ShardingConfig(users=1_000, shards=4, new_shards=5))
>>> bool(r.loads.rows.sum() == r.dataset.posts)
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdcore import checks
from sdcore.sharding.dataset import Dataset, DatasetConfig, make_dataset
from sdcore.sharding.hotkeys import HotKeyReport, HotSettings, _base_loads, hot_keys
from sdcore.sharding.ids import LOGICAL_SHARDS, ShardedId
from sdcore.sharding.joins import FeedCost, QueryFanout, feed_cost, query_fanout
from sdcore.sharding.keys import SHARD_KEYS, KeyColumn, key_column
from sdcore.sharding.layout import ShardLoads, Skew, Workload
from sdcore.sharding.memo import memo_of
from sdcore.sharding.resharding import Migration, Movement, compare_resharding, migration, moved_slot_ranges
from sdcore.sharding.strategies import MAX_SHARDS, STRATEGIES, Placement, place, resharded


@dataclass(frozen=True)
class ShardingConfig:
    """Everything one run depends on; hashable, so a page caches runs by it."""

    users: int = 10_000
    posts_per_user: float = 10.0
    exponent: float = 0.99
    celebrity_share: float = 0.0
    seed: int = 0
    shard_key: str = "user_id"
    strategy: str = "ring"
    shards: int = 8
    new_shards: int = 9
    vnodes: int = 100
    reads_per_s: float = 20_000.0
    writes_per_s: float = 4_000.0
    read_capacity: float = 3000.0
    write_capacity: float = 1000.0
    network_mb_per_s: float = 100.0
    scale: int = 1000
    salt_k: int = 8
    load_factor: float = 1.25
    cache_items: int = 100
    follows: int = 100
    feed_size: int = 50

    def __post_init__(self) -> None:
        checks.one_of("shard_key", self.shard_key, SHARD_KEYS)
        checks.one_of("strategy", self.strategy, STRATEGIES)
        set_ = object.__setattr__
        set_(self, "shards", checks.int_between("shards", self.shards, 1, MAX_SHARDS))
        set_(self, "new_shards", checks.int_between("new_shards", self.new_shards, 1, MAX_SHARDS))
        set_(self, "vnodes", checks.int_between("vnodes", self.vnodes, 1, 1000))
        set_(self, "scale", checks.int_between("scale", self.scale, 1, 1_000_000))
        set_(self, "network_mb_per_s", checks.number_between("network_mb_per_s", self.network_mb_per_s, 0.0,
                                                             100_000.0, unit=" MB/s", lo_open=True))  # fmt: skip
        set_(self, "follows", checks.int_between("follows", self.follows, 1, 1000))
        set_(self, "feed_size", checks.int_between("feed_size", self.feed_size, 1, 500))
        self.dataset_config()  # validates the dataset's own fields
        self.workload()
        self.hot_settings()

    def dataset_config(self) -> DatasetConfig:
        return DatasetConfig(
            self.users, self.posts_per_user, self.exponent, self.celebrity_share, seed=self.seed
        )

    def workload(self) -> Workload:
        return Workload(self.reads_per_s, self.writes_per_s)

    def hot_settings(self) -> HotSettings:
        return HotSettings(self.read_capacity, self.write_capacity, self.salt_k, self.load_factor,
                           cache_items=self.cache_items)  # fmt: skip


@dataclass(frozen=True)
class SkewRow:
    key: str
    strategy: str
    rows: Skew
    reads: Skew
    writes: Skew


@dataclass(frozen=True, eq=False)
class ShardingResult:
    config: ShardingConfig
    dataset: Dataset
    column: KeyColumn
    placement: Placement
    loads: ShardLoads
    resharded: Placement
    loads_after: ShardLoads
    movements: tuple[Movement, ...]  # the same S -> S' under every strategy, in registry order
    migration: Migration  # for the chosen strategy
    slot_moves: tuple[tuple[int, int, int, int], ...]  # (first, last, from, to) runs if strategy is slots
    hot: HotKeyReport
    queries: tuple[QueryFanout, ...]
    feed: FeedCost

    @property
    def movement(self) -> Movement:
        return next(m for m in self.movements if m.strategy == self.config.strategy)


def skew_table(ds: Dataset, shards: int, workload: Workload, vnodes: int = 100) -> tuple[SkewRow, ...]:
    """Skew of rows, reads and writes for every shard key under every strategy, at ``shards`` shards."""
    rows = []
    for key in SHARD_KEYS:
        col = key_column(ds, key)
        for name in STRATEGIES:
            loads = _base_loads(place(col, name, shards, vnodes), col, workload)  # kept on the placement
            sk = loads.skews()
            rows.append(SkewRow(key, name, sk["rows"], sk["reads"], sk["writes"]))
    return tuple(rows)


SKEW_SAMPLE_POSTS = 250_000


def skew_sample_config(config: ShardingConfig) -> DatasetConfig:
    """The dataset the every-key-every-strategy table uses: the run's own, or above 250,000 posts the same
    settings with fewer users (hashing five keys of a million rows would take seconds)."""
    d = config.dataset_config()
    if d.posts <= SKEW_SAMPLE_POSTS:
        return d
    users = max(100, int(SKEW_SAMPLE_POSTS / d.posts_per_user))
    return DatasetConfig(users, d.posts_per_user, d.exponent, d.celebrity_share, d.half_life_days, d.seed)


def sample_ids(ds: Dataset, count: int = 8, seed: int = 0) -> list[dict]:
    """A few posts with Instagram-style ids (logical shard = the author's id mod 8,192), sorted by id:
    the order is the creation order, and each id decodes to its shard and time."""
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(ds.posts, size=min(count, ds.posts), replace=False))
    out = []
    for seq, p in enumerate(picks.tolist()):
        shard = int(ds.post_author[p]) % LOGICAL_SHARDS
        ident = ShardedId.encode(int(ds.post_created_ms[p]), shard, seq)
        d = ShardedId.decode(ident)
        out.append({"post": p, "id": ident, "shard": d.shard, "created_ms": d.ms, "seq": d.seq})
    return sorted(out, key=lambda r: r["id"])


def run_sharding(config: ShardingConfig, dataset: Dataset | None = None) -> ShardingResult:
    """Every panel of the page for ``config`` (pass ``dataset`` to reuse one already generated)."""
    if not isinstance(config, ShardingConfig):
        raise ValueError(f"config must be a ShardingConfig (got {type(config).__name__})")
    ds = dataset if dataset is not None else make_dataset(config.dataset_config())
    if ds.config != config.dataset_config():
        raise ValueError("the dataset was generated for other settings than this config's")
    workload = config.workload()
    col = key_column(ds, config.shard_key)
    pl = place(col, config.strategy, config.shards, config.vnodes)
    # Each panel is a pure function of the placement (or the column) and a few settings: kept on it, so a
    # move that changes one setting recomputes only what reads it, and unchanged panels are the same objects.
    k = col.key
    after = resharded(pl, col, config.new_shards)
    movements = compare_resharding(col, config.shards, config.new_shards, config.vnodes)  # kept per placement
    mine = next(m for m in movements if m.strategy == config.strategy)
    mig = migration(
        mine.bytes_moved * config.scale, mine.fraction, config.network_mb_per_s, config.writes_per_s
    )
    runs = tuple(moved_slot_ranges(pl.state, after.state)) if config.strategy == "slots" else ()
    settings = config.hot_settings()
    follows = min(config.follows, ds.users)
    return ShardingResult(
        config=config,
        dataset=ds,
        column=col,
        placement=pl,
        loads=_base_loads(pl, col, workload),
        resharded=after,
        loads_after=_base_loads(after, col, workload),
        movements=movements,
        migration=mig,
        slot_moves=runs,
        hot=_part(pl, ("hot", k, workload, settings, config.exponent, config.vnodes), lambda: hot_keys(
            pl, col, workload, settings, exponent=config.exponent, vnodes=config.vnodes)),
        queries=_part(pl, ("queries", k, config.seed), lambda: query_fanout(ds, col, pl, seed=config.seed)),
        feed=_part(pl, ("feed", k, follows, config.feed_size, config.seed), lambda: feed_cost(
            ds, col, pl, follows=follows, feed_size=config.feed_size, seed=config.seed)),
    )  # fmt: skip


PARTS_KEPT = 24  # panels kept per placement or column (a few workloads, settings and seeds each)


def _part(source: object, key: tuple, make):
    """``make()`` once per ``source`` (a shared placement or key column) and ``key``."""
    return memo_of(source, PARTS_KEPT, "_run_memo").get(key, make)
