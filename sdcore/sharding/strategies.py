"""The sharding strategies, written once as a registry: how each maps key values to shards, where new key
values go, and how each re-shards from S to S' shards moving as little as its rules allow.

- ``modulo``: murmur3(key) mod S. Even, stateless, and changing S moves almost every key.
- ``ring``: consistent hashing on :class:`sdcore.hashing.HashRing` (shard i is the node ``shard-i``):
  adding a shard moves only the keys its points take over, about 1/(S+1).
- ``range``: consecutive key values per shard, cut at equal row counts. Range scans touch few shards; a
  growing key (time, a time-ordered id) sends every new row to the last shard. Re-sharding splits the
  largest range at its median and hands the upper half to the new shard.
- ``directory``: a lookup table from key value to shard, filled biggest value first onto the least-full
  shard. Any layout is possible, at the price of a table with one entry per key value that every request
  consults. Re-sharding moves just enough values off the full shards.
- ``slots``: fixed logical partitions, the way Redis Cluster does it: CRC16(key) mod 16,384 picks a slot,
  shards own contiguous runs of slots, and re-sharding moves whole slots only.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from sdcore import checks
from sdcore.hashing import HashRing, KeyHashes
from sdcore.sharding.keys import KeyColumn
from sdcore.sharding.keyslot import SLOTS
from sdcore.sharding.memo import memo_of

MAX_SHARDS = 64
_EXACT_DIRECTORY = 4096  # biggest key values placed one by one; the long tail is water-filled at once


@dataclass(frozen=True, eq=False)
class Placement:
    """Where every key value of one column lives: ``group_shard[g]`` is the shard of group g."""

    strategy: str
    shards: int
    group_shard: np.ndarray  # int32
    state: object = None  # the strategy's own map: a ring, range cuts, a slot table

    def row_shards(self, col: KeyColumn) -> np.ndarray:
        """The shard of every post (row)."""
        return self.group_shard[col.codes]


def shard_names(shards: int) -> list[str]:
    return [f"shard-{i}" for i in range(shards)]


def water_fill(loads: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Shards for items of ``sizes`` poured onto shards holding ``loads``, lowest first, so that the final
    loads come out as level as whole items allow. Items keep their order, filling shard after shard."""
    loads = np.asarray(loads, dtype=np.float64)
    sizes = np.asarray(sizes, dtype=np.float64)
    if len(sizes) == 0:
        return np.zeros(0, dtype=np.int32)
    total = sizes.sum()
    if total <= 0:
        return np.full(len(sizes), int(np.argmin(loads)), dtype=np.int32)
    s = np.sort(loads)
    k = np.arange(1, len(s) + 1)
    level = (np.cumsum(s) + total) / k  # the water level if the k lowest shards share the items
    fits = np.append(level[:-1] <= s[1:], True)
    lvl = level[int(np.argmax(fits))]
    bounds = np.cumsum(np.maximum(lvl - loads, 0.0))
    mids = np.cumsum(sizes) - sizes / 2
    return np.minimum(np.searchsorted(bounds, mids, side="right"), len(loads) - 1).astype(np.int32)


# -- the strategies ------------------------------------------------------------------------------------------


class HashModulo:
    def place(self, col: KeyColumn, shards: int, vnodes: int) -> Placement:
        return Placement("modulo", shards, (col.h32() % np.uint32(shards)).astype(np.int32))

    def reshard(self, pl: Placement, col: KeyColumn, shards: int) -> Placement:
        return self.place(col, shards, 0)

    def place_new(self, pl: Placement, col: KeyColumn) -> np.ndarray:
        return (col.new_h32() % np.uint32(pl.shards)).astype(np.int32)


def shared_ring(col: KeyColumn, shards: int, vnodes: int, load_factor: float | None = None) -> HashRing:
    """``HashRing(shard_names(shards), vnodes=vnodes, load_factor=load_factor)``, one for every column of a
    dataset (a ring does not depend on the keys; its sorted points and lookup table are built once). The ring
    is shared: nothing may add or remove its nodes."""

    def make() -> HashRing:
        return HashRing(shard_names(shards), vnodes=vnodes, load_factor=load_factor)

    if col.shared is None:
        return make()
    return col.shared.get(("ring", shards, vnodes, load_factor), make)


class ConsistentHash:
    def place(self, col: KeyColumn, shards: int, vnodes: int) -> Placement:
        ring = shared_ring(col, shards, vnodes)
        where = ring.locate(KeyHashes.precomputed("murmur3", h32=col.h32()))
        return Placement("ring", shards, where.astype(np.int32), ring)

    def reshard(self, pl: Placement, col: KeyColumn, shards: int) -> Placement:
        return self.place(col, shards, pl.state.vnodes)

    def place_new(self, pl: Placement, col: KeyColumn) -> np.ndarray:
        return pl.state.locate(KeyHashes.precomputed("murmur3", h32=col.new_h32())).astype(np.int32)


@dataclass(frozen=True, eq=False)
class RangeMap:
    """Partition j holds groups ``starts[j]`` up to the next start, on shard ``part_shard[j]``."""

    starts: np.ndarray
    part_shard: np.ndarray

    def partition_of(self, groups: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.starts, groups, side="right") - 1


class RangePartition:
    def place(self, col: KeyColumn, shards: int, vnodes: int) -> Placement:
        cum = np.cumsum(col.rows)
        total = cum[-1] if len(cum) else 0
        cuts = np.searchsorted(cum, total * np.arange(1, shards) / shards, side="right")
        starts = np.concatenate(([0], np.minimum(cuts, col.n_groups))).astype(np.int64)
        return self._placement(col, RangeMap(starts, np.arange(shards, dtype=np.int32)), shards)

    def _placement(self, col: KeyColumn, rmap: RangeMap, shards: int) -> Placement:
        parts = rmap.partition_of(np.arange(col.n_groups))
        return Placement("range", shards, rmap.part_shard[parts].astype(np.int32), rmap)

    def reshard(self, pl: Placement, col: KeyColumn, shards: int) -> Placement:
        starts, owner = pl.state.starts.tolist(), pl.state.part_shard.tolist()
        cum = np.concatenate(([0], np.cumsum(col.rows)))

        def rows(j: int) -> int:
            end = starts[j + 1] if j + 1 < len(starts) else col.n_groups
            return int(cum[end] - cum[starts[j]])

        for new in range(pl.shards, shards):  # grow: split the biggest splittable range at its median
            order = sorted(range(len(starts)), key=lambda j: -rows(j))
            for j in order:
                a = starts[j]
                b = starts[j + 1] if j + 1 < len(starts) else col.n_groups
                if b - a < 2 or rows(j) == 0:
                    continue
                half = cum[a] + rows(j) / 2
                m = int(np.clip(np.searchsorted(cum, half, side="right") - 1, a + 1, b - 1))
                starts.insert(j + 1, m)
                owner.insert(j + 1, new)
                break
        if shards < pl.shards:  # shrink: each removed shard's ranges join the lighter kept neighbour
            # (a range between two removed ones waits a pass; range 0 is always on shard 0, so this ends)
            load = np.bincount(owner, weights=[rows(j) for j in range(len(starts))], minlength=pl.shards)
            while any(o >= shards for o in owner):
                for j, o in enumerate(owner):
                    if o < shards:
                        continue
                    near = [owner[i] for i in (j - 1, j + 1) if 0 <= i < len(owner) and owner[i] < shards]
                    if near:
                        to = min(near, key=lambda s: load[s])
                        load[to] += rows(j)
                        owner[j] = to
        rmap = RangeMap(np.array(starts, dtype=np.int64), np.array(owner, dtype=np.int32))
        return self._placement(col, rmap, shards)

    def place_new(self, pl: Placement, col: KeyColumn) -> np.ndarray:
        # New values sort after every existing one: all of them fall in the last range.
        return np.full(len(col.new_labels()), int(pl.state.part_shard[-1]), dtype=np.int32)


class Directory:
    def place(self, col: KeyColumn, shards: int, vnodes: int) -> Placement:
        sizes = col.weights("rows")
        order = np.argsort(-sizes, kind="stable")
        where = np.zeros(col.n_groups, dtype=np.int32)
        head = order[:_EXACT_DIRECTORY]
        heap = [(0.0, s) for s in range(shards)]
        chosen = []
        push = heapq.heapreplace  # pop the least-full shard and push it back fuller, in one step
        for size in sizes[
            head
        ].tolist():  # longest processing time first: biggest value on the least-full shard
            load, s = heap[0]  # (load, shard) pairs are distinct, so the least is the same however they sit
            chosen.append(s)
            push(heap, (load + size, s))
        where[head] = chosen
        loads = np.zeros(shards)
        for load, s in heap:
            loads[s] = load
        tail = order[_EXACT_DIRECTORY:]
        where[tail] = water_fill(loads, sizes[tail])
        return Placement("directory", shards, where, None)

    def reshard(self, pl: Placement, col: KeyColumn, shards: int) -> Placement:
        where = pl.group_shard.copy()
        sizes = col.weights("rows")
        loads = np.bincount(where, weights=sizes, minlength=max(pl.shards, shards))[:shards].copy()
        target = sizes.sum() / shards
        move = where >= shards  # the removed shards' values must move
        kept = np.flatnonzero(~move)
        # From each shard above the new fair share, move its smallest values until it is at the share
        # (a value that straddles the share moves if at least half of it is above the share).
        by = kept[np.lexsort((sizes[kept], where[kept]))]
        shard_of = where[by]
        cum = np.cumsum(sizes[by])
        first = np.searchsorted(shard_of, np.arange(shards), side="left")
        before = np.concatenate(([0.0], cum))[first]
        within = cum - before[shard_of]
        excess = np.maximum(loads - target, 0.0)
        leaving = by[within - sizes[by] / 2 <= excess[shard_of] + 1e-9]  # values mostly within the excess
        move[leaving] = True
        loads -= np.bincount(where[leaving], weights=sizes[leaving], minlength=max(pl.shards, shards))[
            :shards
        ]
        movers = np.flatnonzero(move)
        movers = movers[np.argsort(-sizes[movers], kind="stable")]
        where[movers] = water_fill(loads, sizes[movers])
        return Placement("directory", shards, where, None)

    def place_new(self, pl: Placement, col: KeyColumn) -> np.ndarray:
        loads = np.bincount(pl.group_shard, weights=col.weights("rows"), minlength=pl.shards)
        n = len(col.new_labels())
        return water_fill(loads, np.ones(n))


class LogicalSlots:
    def place(self, col: KeyColumn, shards: int, vnodes: int) -> Placement:
        owner = (np.arange(SLOTS, dtype=np.int64) * shards // SLOTS).astype(np.int32)
        return Placement("slots", shards, owner[col.slots()], owner)

    def reshard(self, pl: Placement, col: KeyColumn, shards: int) -> Placement:
        owner = pl.state.copy()
        target = np.full(shards, SLOTS // shards)
        target[: SLOTS % shards] += 1
        counts = np.bincount(owner, minlength=max(pl.shards, shards))
        # Each kept shard keeps its lowest slots up to its target; the rest go to the shards short of theirs.
        rank = np.empty(SLOTS, dtype=np.int64)
        by = np.lexsort((np.arange(SLOTS), owner))
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        rank[by] = np.arange(SLOTS) - np.repeat(starts, counts)
        keep_upto = np.zeros(len(counts), dtype=np.int64)
        keep_upto[:shards] = target
        pool = np.flatnonzero(rank >= keep_upto[owner])
        need = np.maximum(target - np.minimum(counts[:shards], target), 0)
        owner[pool] = np.repeat(np.arange(shards), need).astype(np.int32)
        return Placement("slots", shards, owner[col.slots()], owner)

    def place_new(self, pl: Placement, col: KeyColumn) -> np.ndarray:
        return pl.state[col.new_slots()]


@dataclass(frozen=True)
class Strategy:
    label: str
    description: str
    cls: type


STRATEGIES: MappingProxyType[str, Strategy] = MappingProxyType({
    "modulo": Strategy("hash mod S", "murmur3(key) mod S: even, but changing S moves almost every key",
                       HashModulo),
    "ring": Strategy("consistent hashing", "a hash ring of virtual nodes: a new shard takes about 1/(S+1)",
                     ConsistentHash),
    "range": Strategy("range partitioning", "consecutive key values per shard: scans stay local, new keys "
                      "pile onto the last range", RangePartition),
    "directory": Strategy("directory (lookup table)", "a table from key value to shard: any layout, one "
                          "entry per value to store and consult", Directory),
    "slots": Strategy("16,384 slots (Redis Cluster)", "CRC16(key) mod 16,384 picks a slot; shards own "
                      "slots and re-sharding moves whole slots", LogicalSlots),
})  # fmt: skip


def check_shards(name: str, shards: object) -> int:
    return checks.int_between(name, shards, 1, MAX_SHARDS)


def place(col: KeyColumn, strategy: str, shards: int, vnodes: int = 100) -> Placement:
    """Place every key value of ``col`` on ``shards`` shards with ``strategy`` (a :data:`STRATEGIES` name)."""
    checks.one_of("strategy", strategy, STRATEGIES)
    shards = check_shards("shards", shards)
    vnodes = checks.int_between("vnodes", vnodes, 1, 1000)
    key = (strategy, shards, vnodes if strategy == "ring" else 0)  # only the ring reads vnodes
    return memo_of(col, PLACEMENTS_KEPT).get(
        key, lambda: _frozen(STRATEGIES[strategy].cls().place(col, shards, vnodes))
    )


PLACEMENTS_KEPT = 16  # placements kept per key column: every strategy at a few shard counts


def _frozen(pl: Placement) -> Placement:
    """A placement that many runs share: its shard arrays become read-only."""
    pl.group_shard.setflags(write=False)
    if isinstance(pl.state, np.ndarray):
        pl.state.setflags(write=False)
    return pl


def reshard(pl: Placement, col: KeyColumn, shards: int) -> Placement:
    """The placement after re-sharding ``pl`` to ``shards`` shards, by its strategy's rules."""
    shards = check_shards("new shards", shards)
    return STRATEGIES[pl.strategy].cls().reshard(pl, col, shards)


def resharded(pl: Placement, col: KeyColumn, shards: int) -> Placement:
    """:func:`reshard`, once per placement and shard count (read-only, shared like the placement)."""
    shards = check_shards("new shards", shards)
    return memo_of(pl, RESHARDS_KEPT, "_reshard_memo").get(
        (col.key, col.n_groups, shards), lambda: _frozen(reshard(pl, col, shards))
    )


RESHARDS_KEPT = 4  # re-shardings kept per placement (a few S' for one S)


def new_post_shards(pl: Placement, col: KeyColumn) -> np.ndarray:
    """The shard of each of the dataset's next posts: an existing key value keeps its shard; new values
    (new ids, new times) are placed by the strategy's rule for values it has not seen."""
    out = np.empty(len(col.new_codes), dtype=np.int32)
    old = col.new_codes < col.n_groups
    out[old] = pl.group_shard[col.new_codes[old]]
    if (~old).any():
        out[~old] = STRATEGIES[pl.strategy].cls().place_new(pl, col)[col.new_codes[~old] - col.n_groups]
    return out
