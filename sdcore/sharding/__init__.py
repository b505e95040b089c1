"""Sharding: the shard key, the strategies, re-sharding, hot keys, and joins across shards.

>>> from sdcore.sharding import key_slot, ShardedId
>>> key_slot("{user1000}.following") == key_slot("{user1000}.followers")
True
>>> ShardedId.decode(ShardedId.encode(1_700_000_000_000, shard=42, seq=7)).shard
42
"""

from sdcore.sharding.dataset import (
    COUNTRIES,
    COUNTRY_SHARES,
    MAX_ROWS,
    NEW_POSTS,
    Dataset,
    DatasetConfig,
    make_dataset,
    zipf_weights,
)
from sdcore.sharding.experiment import (
    ShardingConfig,
    ShardingResult,
    SkewRow,
    run_sharding,
    sample_ids,
    skew_sample_config,
    skew_table,
)
from sdcore.sharding.hotkeys import (
    DYNAMODB_READS_PER_PARTITION,
    DYNAMODB_WRITES_PER_PARTITION,
    MITIGATIONS,
    HotKeyReport,
    HotSettings,
    MitigationResult,
    hot_keys,
    salted,
)
from sdcore.sharding.ids import INSTAGRAM_EPOCH_MS, LOGICAL_SHARDS, DecodedId, ShardedId
from sdcore.sharding.joins import QUERIES, FeedCost, QueryFanout, feed_cost, query_fanout, routable
from sdcore.sharding.keys import SHARD_KEYS, KeyColumn, ShardKey, key_column
from sdcore.sharding.keyslot import SLOTS, crc16, hash_tag, hashed_part, key_slot, key_slots
from sdcore.sharding.layout import ShardLoads, Skew, Workload, group_loads, shard_loads, skew
from sdcore.sharding.resharding import (
    Migration,
    MigrationStep,
    Movement,
    compare_resharding,
    expected_fraction,
    migration,
    moved_slot_ranges,
    movement,
)
from sdcore.sharding.strategies import (
    MAX_SHARDS,
    STRATEGIES,
    Placement,
    Strategy,
    new_post_shards,
    place,
    reshard,
    water_fill,
)

__all__ = [
    "COUNTRIES",
    "COUNTRY_SHARES",
    "DYNAMODB_READS_PER_PARTITION",
    "DYNAMODB_WRITES_PER_PARTITION",
    "INSTAGRAM_EPOCH_MS",
    "LOGICAL_SHARDS",
    "MAX_ROWS",
    "MAX_SHARDS",
    "MITIGATIONS",
    "NEW_POSTS",
    "QUERIES",
    "SHARD_KEYS",
    "SLOTS",
    "STRATEGIES",
    "Dataset",
    "DatasetConfig",
    "DecodedId",
    "FeedCost",
    "HotKeyReport",
    "HotSettings",
    "KeyColumn",
    "Migration",
    "MigrationStep",
    "MitigationResult",
    "Movement",
    "Placement",
    "QueryFanout",
    "ShardKey",
    "ShardLoads",
    "ShardedId",
    "ShardingConfig",
    "ShardingResult",
    "Skew",
    "SkewRow",
    "Strategy",
    "Workload",
    "compare_resharding",
    "crc16",
    "expected_fraction",
    "feed_cost",
    "group_loads",
    "hash_tag",
    "hashed_part",
    "hot_keys",
    "key_column",
    "key_slot",
    "key_slots",
    "make_dataset",
    "migration",
    "moved_slot_ranges",
    "movement",
    "new_post_shards",
    "place",
    "query_fanout",
    "reshard",
    "routable",
    "run_sharding",
    "salted",
    "sample_ids",
    "shard_loads",
    "skew",
    "skew_sample_config",
    "skew_table",
    "water_fill",
    "zipf_weights",
]
