"""Consistent hashing: a ring of virtual nodes and the schemes it is compared with.

>>> from sdcore.hashing import HashRing
>>> ring = HashRing(["S1", "S2", "S3"], vnodes=100)
>>> ring.node_for("user:42") in ring.nodes
True
"""

from sdcore.hashing.analysis import (
    LoadStats,
    Movement,
    SpreadCurve,
    expected_key_cv,
    expected_share_cv,
    load_stats,
    minimum_movement_fraction,
    movement,
    movement_of_indices,
    spread_vs_vnodes,
)
from sdcore.hashing.hashfuncs import (
    HASH_DESCRIPTIONS,
    HASH_NAMES,
    hash32,
    hash64,
    hash_keys,
    hash_seeded_keys,
    key_ids,
    make_keys,
)
from sdcore.hashing.keys import KeyHashes
from sdcore.hashing.ring import MAX_POINTS, HashRing, RingPoints
from sdcore.hashing.schemes import JumpHash, ModuloHash, RendezvousHash, jump_bucket, jump_buckets

__all__ = [
    "HASH_DESCRIPTIONS",
    "HASH_NAMES",
    "MAX_POINTS",
    "HashRing",
    "JumpHash",
    "KeyHashes",
    "LoadStats",
    "ModuloHash",
    "Movement",
    "RendezvousHash",
    "RingPoints",
    "SpreadCurve",
    "expected_key_cv",
    "expected_share_cv",
    "hash32",
    "hash64",
    "hash_keys",
    "hash_seeded_keys",
    "jump_bucket",
    "jump_buckets",
    "key_ids",
    "load_stats",
    "make_keys",
    "minimum_movement_fraction",
    "movement",
    "movement_of_indices",
    "spread_vs_vnodes",
]
