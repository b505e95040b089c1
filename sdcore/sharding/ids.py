"""Sharded ids, Instagram's 64-bit layout: an id that carries its shard and sorts by time.

    | 41 bits: ms since a custom epoch | 13 bits: logical shard | 10 bits: sequence |

41 bits of milliseconds last about 69.7 years from the epoch; 13 bits name one of 8,192 logical shards;
10 bits count up to 1,024 ids per shard per millisecond. Because time is in the top bits, sorting by id
sorts by creation time, and anyone holding an id can find its shard without a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdcore import checks

TIME_BITS, SHARD_BITS, SEQ_BITS = 41, 13, 10
LOGICAL_SHARDS = 1 << SHARD_BITS
INSTAGRAM_EPOCH_MS = 1_293_840_000_000  # 2011-01-01T00:00:00Z, the epoch of Instagram's worked example
_MAX_MS = (1 << TIME_BITS) - 1


@dataclass(frozen=True)
class DecodedId:
    ms: int  # milliseconds since 1970 (the epoch added back)
    shard: int
    seq: int


class ShardedId:
    """Encode and decode Instagram-style ids (all methods are static: the layout is the state)."""

    @staticmethod
    def encode(ms: int, shard: int, seq: int, epoch_ms: int = INSTAGRAM_EPOCH_MS) -> int:
        """The id for time ``ms`` (Unix milliseconds), ``shard`` (0..8191) and ``seq`` (any count; its
        remainder mod 1,024 is kept, as Instagram's ``nextval() % 1024``)."""
        epoch_ms = checks.whole_number("epoch_ms", epoch_ms)
        ms = checks.int_between("ms", ms, epoch_ms, epoch_ms + _MAX_MS, lo_name="epoch_ms",
                                hi_name="epoch_ms + 2^41 - 1")  # fmt: skip
        shard = checks.int_between("shard", shard, 0, LOGICAL_SHARDS - 1)
        seq = checks.whole_number("seq", seq)
        if seq < 0:
            raise ValueError(f"seq must be a whole number >= 0 (got seq={seq!r})")
        return ((ms - epoch_ms) << (SHARD_BITS + SEQ_BITS)) | (shard << SEQ_BITS) | (seq % (1 << SEQ_BITS))

    @staticmethod
    def decode(n: int, epoch_ms: int = INSTAGRAM_EPOCH_MS) -> DecodedId:
        n = checks.int_between("n", n, 0, (1 << 64) - 1)
        epoch_ms = checks.whole_number("epoch_ms", epoch_ms)
        return DecodedId(
            ms=(n >> (SHARD_BITS + SEQ_BITS)) + epoch_ms,
            shard=(n >> SEQ_BITS) & (LOGICAL_SHARDS - 1),
            seq=n & ((1 << SEQ_BITS) - 1),
        )

    @staticmethod
    def encode_many(ms: np.ndarray, shard: np.ndarray, seq: np.ndarray, epoch_ms: int = INSTAGRAM_EPOCH_MS):
        """:meth:`encode` for arrays (uint64), the same bits; inputs are checked as a whole."""
        ms, shard, seq = (np.asarray(a, dtype=np.int64) for a in (ms, shard, seq))
        delta = ms - int(epoch_ms)
        if delta.size and (delta.min() < 0 or delta.max() > _MAX_MS):
            raise ValueError("every ms must be between epoch_ms and epoch_ms + 2^41 - 1")
        if shard.size and (shard.min() < 0 or shard.max() >= LOGICAL_SHARDS):
            raise ValueError(f"every shard must be between 0 and {LOGICAL_SHARDS - 1:,}")
        if seq.size and seq.min() < 0:
            raise ValueError("every seq must be >= 0")
        u = np.uint64
        return (
            (delta.astype(u) << u(SHARD_BITS + SEQ_BITS))
            | (shard.astype(u) << u(SEQ_BITS))
            | (seq % (1 << SEQ_BITS)).astype(u)
        )
