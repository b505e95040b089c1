"""One node's storage: a log-structured merge tree (commit log, memtable, SSTables, compaction, bloom filters).

The write path: a put is appended to the commit log (synced on every put; that is the acknowledgement), then
written into the memtable, a sorted in-memory map. When the memtable holds ``memtable_limit`` entries it is
written out as an immutable sorted table (an SSTable) with its own bloom filter, and the log it covered is
dropped. Compaction merges tables: the newest version of each key wins, overwritten versions go, and a
tombstone (a delete) goes only once no older table could still hold a value it hides.

The read path: the memtable, then each table newest first; a table whose key range or bloom filter rules the
key out is skipped without a disk read. ``get_traced`` returns every step.

Two compaction styles (``COMPACTION_STYLES``): *size-tiered* merges ``min_threshold`` runs of similar size
into one (Cassandra/ScyllaDB STCS; RocksDB calls it universal), *leveled* keeps level 1 and below as sorted,
non-overlapping runs, each ``fanout`` times larger than the one above (LevelDB, RocksDB's default, LCS).

Sizes are in entries (one key-value version each), time is the store's sequence number: nothing reads a
clock. ``run_script`` replays a small scripted session for the page's step-through; ``run_workload`` measures
write, read and space amplification on a seeded random workload.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import chain
from types import MappingProxyType

import mmh3
import numpy as np

from sdcore import checks
from sdcore.kvstore.bloom import MAX_BITS, BloomFilter, hash_pairs, leveldb_hashes

__all__ = [
    "BLOOM_NO",
    "COMPACTION_STYLES",
    "DELETED",
    "FALSE_POSITIVE",
    "FOUND",
    "NOT_IN_MEMTABLE",
    "NO_FILTER",
    "NO_TABLE",
    "OUTSIDE_RANGE",
    "MAX_KEY_LENGTH",
    "MAX_SCRIPT_LINES",
    "MAX_SCRIPT_OPS",
    "READ_OUTCOMES",
    "SCRIPT_COMMANDS",
    "CompactionStyle",
    "LSMStore",
    "Leveled",
    "LogRecord",
    "ReadStep",
    "ReadTrace",
    "SSTable",
    "ScriptOp",
    "ScriptRun",
    "SizeTiered",
    "StepRecord",
    "StoreEvent",
    "StoreSettings",
    "StoreSnapshot",
    "StoreStats",
    "TableView",
    "WorkloadResult",
    "WorkloadSettings",
    "compare_styles",
    "keys_of",
    "parse_script",
    "run_script",
    "run_workload",
]

MAX_KEY_LENGTH = 256
MAX_VALUE_LENGTH = 4096
MAX_BITS_PER_KEY = 32.0


# -- compaction styles: the registry ----------------------------------------------------------------------


@dataclass(frozen=True)
class SizeTiered:
    """Size-tiered compaction's parameters (Cassandra's defaults: 4, 32, 0.5, 1.5).

    Runs are kept newest first; ``min_threshold`` consecutive runs whose sizes are each within
    [bucket_low, bucket_high] x the bucket's average are merged (at most ``max_threshold`` at once).
    Only neighbours in time are merged, as RocksDB's universal compaction does, so the runs never overlap
    in time and a read can stop at the first run that holds the key.
    """

    min_threshold: int = 4
    max_threshold: int = 32
    bucket_low: float = 0.5
    bucket_high: float = 1.5

    def __post_init__(self) -> None:
        checks.int_between("min_threshold", self.min_threshold, 2, 64)
        checks.int_between(
            "max_threshold", self.max_threshold, self.min_threshold, 1024, lo_name="min_threshold"
        )
        checks.number_between("bucket_low", self.bucket_low, 0.0, 1.0, lo_open=True)
        checks.number_between("bucket_high", self.bucket_high, 1.0, 100.0)


@dataclass(frozen=True)
class Leveled:
    """Leveled compaction's parameters (RocksDB: level0_file_num_compaction_trigger 4, multiplier 10).

    L0 takes the flushed tables and is merged into L1 once it holds ``l0_trigger`` of them. Level n >= 1
    holds at most ``table_entries * fanout^n`` entries in non-overlapping tables of ``table_entries``; over
    that, one table (round robin through the key space) is merged with the tables it overlaps one level down.
    ``table_entries`` of ``None`` means the memtable's size.
    """

    l0_trigger: int = 4
    fanout: int = 10
    table_entries: int | None = None
    max_levels: int = 7

    def __post_init__(self) -> None:
        checks.int_between("l0_trigger", self.l0_trigger, 1, 64)
        checks.int_between("fanout", self.fanout, 2, 100)
        if self.table_entries is not None:
            checks.int_between("table_entries", self.table_entries, 1, 10_000_000)
        checks.int_between("max_levels", self.max_levels, 2, 12)


@dataclass(frozen=True)
class CompactionStyle:
    name: str
    label: str
    description: str
    parameters: type


COMPACTION_STYLES = MappingProxyType(
    {
        "size_tiered": CompactionStyle(
            "size_tiered",
            "Size-tiered",
            "Waits until several runs of similar size pile up, then merges them into one run a tier larger. "
            "Each entry is rewritten about once per tier: cheap writes, more runs for a read, and a merge "
            "briefly needs room for its inputs and its output.",
            SizeTiered,
        ),
        "leveled": CompactionStyle(
            "leveled",
            "Leveled",
            "Keeps each level below L0 as one sorted run split into small tables, each level `fanout` times "
            "the one above; an overfull level pushes one table into the tables it overlaps below. At most one "
            "table per level to read and little dead data, paid for by rewriting each entry about `fanout` "
            "times per level.",
            Leveled,
        ),
    }
)


# -- records ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRecord:
    """One commit-log record: a put or a delete, with its sequence number (the order of acknowledgement)."""

    seq: int
    op: str  # "put" | "delete"
    key: str
    value: str | None


FOUND = "found"
DELETED = "tombstone: deleted"
NOT_IN_MEMTABLE = "not in memtable"
OUTSIDE_RANGE = "outside key range"
NO_TABLE = "no table covers key"
BLOOM_NO = "bloom says no: skipped"
FALSE_POSITIVE = "bloom said maybe: read, not there"
NO_FILTER = "no bloom filter: read, not there"
READ_OUTCOMES = (
    FOUND,
    DELETED,
    NOT_IN_MEMTABLE,
    OUTSIDE_RANGE,
    NO_TABLE,
    BLOOM_NO,
    FALSE_POSITIVE,
    NO_FILTER,
)
_DISK_READS = frozenset({FOUND, DELETED, FALSE_POSITIVE, NO_FILTER})


@dataclass(frozen=True)
class ReadStep:
    """One place a read looked: the memtable (``table_id`` None, level -1) or a table on some level."""

    table_id: int | None
    level: int
    outcome: str

    @property
    def disk_read(self) -> bool:
        return self.table_id is not None and self.outcome in _DISK_READS

    @property
    def where(self) -> str:
        if self.level < 0:
            return "memtable"
        return f"T{self.table_id}" if self.table_id is not None else f"L{self.level}"


@dataclass(frozen=True)
class ReadTrace:
    """A get's read path: its answer and each step, in the order taken."""

    key: str
    value: str | None
    steps: tuple[ReadStep, ...]

    @property
    def found(self) -> bool:
        return self.value is not None

    @property
    def answered_by(self) -> str | None:
        last = self.steps[-1] if self.steps else None
        return last.where if last is not None and last.outcome in (FOUND, DELETED) else None

    @property
    def disk_reads(self) -> int:
        return sum(s.disk_read for s in self.steps)

    @property
    def bloom_skips(self) -> int:
        return sum(s.outcome == BLOOM_NO for s in self.steps)

    @property
    def false_positives(self) -> int:
        return sum(s.outcome == FALSE_POSITIVE for s in self.steps)

    @property
    def tables_considered(self) -> int:
        """Tables that could hold the key by their range: what a read without filters would read."""
        return sum(s.table_id is not None and s.outcome != OUTSIDE_RANGE for s in self.steps)


@dataclass(frozen=True)
class StoreEvent:
    """Something the store did besides a put: a flush, a compaction (or a table moved down a level without
    a rewrite), a crash, a recovery. Counts are in entries."""

    seq: int
    kind: str  # "flush" | "compaction" | "move" | "major compaction" | "crash" | "recover"
    inputs: tuple[int, ...] = ()
    outputs: tuple[int, ...] = ()
    level_from: int = 0
    level_to: int = 0
    entries_in: int = 0
    entries_out: int = 0
    overwritten_dropped: int = 0
    tombstones_dropped: int = 0
    tombstones_kept: int = 0
    disk_entries_peak: int = 0  # on disk while the inputs and the output both exist
    replayed: int = 0  # log records replayed by a recovery; memtable entries lost by a crash


@dataclass(frozen=True)
class StoreStats:
    puts: int
    deletes: int
    gets: int
    log_records_written: int
    flushes: int
    entries_flushed: int
    compactions: int
    entries_compacted_in: int
    entries_compacted_out: int
    overwritten_dropped: int
    tombstones_dropped: int
    disk_reads: int
    bloom_checks: int
    bloom_skips: int
    false_positives: int
    crashes: int
    recoveries: int

    @property
    def writes(self) -> int:
        return self.puts + self.deletes

    @property
    def write_amplification(self) -> float:
        """Entries written to SSTables (flushes and compactions) per entry the user wrote; the commit log
        adds one more write per entry on top."""
        return (self.entries_flushed + self.entries_compacted_out) / self.writes if self.writes else 0.0

    @property
    def measured_false_positive_rate(self) -> float:
        """Of the bloom checks on tables without the key, the share that said maybe."""
        negatives = self.bloom_skips + self.false_positives
        return self.false_positives / negatives if negatives else 0.0


# -- SSTables ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableView:
    """What the page draws of a table: its id, level, size, key range, tombstones and first entries."""

    table_id: int
    level: int
    size: int
    min_key: str
    max_key: str
    tombstones: int
    min_seq: int
    max_seq: int
    bloom_bits: int
    bloom_hashes: int
    entries: tuple[tuple[str, str | None], ...]


class SSTable:
    """An immutable sorted table: keys, values (``None`` is a tombstone), sequence numbers, a bloom filter."""

    __slots__ = (
        "_bloom",
        "_lazy",
        "keys",
        "level",
        "max_key",
        "min_key",
        "seqs",
        "table_id",
        "values",
        "_view",
    )

    def __init__(
        self, table_id: int, level: int, keys: list[str], values: list, seqs: list[int], bits_per_key: float
    ):
        self.table_id = table_id
        self.level = level
        self.keys = keys
        self.values = values
        self.seqs = seqs
        self.min_key: str = keys[0]
        self.max_key: str = keys[-1]
        self._bloom: BloomFilter | None = None
        self._lazy: tuple[int, int, Callable[[str], tuple[int, int]]] | None = None
        if bits_per_key > 0:
            self._bloom = BloomFilter.for_bits_per_key(len(keys), bits_per_key)
            self._bloom.add_many(keys)
        self._view: TableView | None = None

    @property
    def bloom(self) -> BloomFilter | None:
        """The table's filter (``None``: none). A store's tables fill theirs on first use, from the keys'
        hash pairs: the same bits, and no work for the many tables a compaction merges away unread."""
        if self._lazy is not None:
            bits_per_key, k_hashes, pair = self._lazy
            m_bits = min(
                MAX_BITS, max(64, math.ceil(len(self.keys) * bits_per_key))
            )  # for_bits_per_key's size
            self._bloom = BloomFilter.from_pairs(m_bits, k_hashes, [pair(key) for key in self.keys])
            self._lazy = None
        return self._bloom

    def _filter_later(
        self, bits_per_key: float, k_hashes: int, pair: Callable[[str], tuple[int, int]]
    ) -> None:
        """Give the table the filter ``BloomFilter.for_bits_per_key(len(keys), bits_per_key)`` with its keys
        added (``k_hashes`` is that filter's), filled when first used from each key's ``pair(key)``
        (``mmh3.hash64(key, 0, signed=False)``)."""
        self._bloom, self._lazy = None, (bits_per_key, k_hashes, pair)

    def __len__(self) -> int:
        return len(self.keys)

    def covers(self, key: str) -> bool:
        return self.min_key <= key <= self.max_key

    def may_contain(self, key: str) -> bool:
        """The check a compaction may make without reading the table: key range, then bloom filter."""
        return self.covers(key) and (self.bloom is None or key in self.bloom)

    def may_contain_pair(self, key: str, pair: tuple[int, int]) -> bool:
        """:meth:`may_contain` given the key's hash pair (``mmh3.hash64(key, 0, signed=False)``)."""
        if not self.min_key <= key <= self.max_key:
            return False
        bloom = self.bloom
        return bloom is None or bloom.contains_pair(*pair)

    def find(self, key: str) -> tuple[bool, str | None]:
        """A disk read: binary search for the key; (found, value)."""
        i = bisect.bisect_left(self.keys, key)
        if i < len(self.keys) and self.keys[i] == key:
            return True, self.values[i]
        return False, None

    def moved(self, level: int) -> SSTable:
        """The same table on another level (a trivial move: no entry rewritten)."""
        t = SSTable.__new__(SSTable)
        t.table_id, t.level, t.keys, t.values, t.seqs, t._bloom, t._lazy, t._view = (
            self.table_id,
            level,
            self.keys,
            self.values,
            self.seqs,
            self._bloom,
            self._lazy,
            None,
        )
        t.min_key, t.max_key = self.min_key, self.max_key
        return t

    def view(self, max_entries: int = 48) -> TableView:
        if self._view is None or len(self._view.entries) != min(max_entries, len(self.keys)):
            self._view = TableView(
                table_id=self.table_id,
                level=self.level,
                size=len(self.keys),
                min_key=self.keys[0],
                max_key=self.keys[-1],
                tombstones=sum(v is None for v in self.values),
                min_seq=min(self.seqs),
                max_seq=max(self.seqs),
                bloom_bits=self.bloom.m_bits if self.bloom else 0,
                bloom_hashes=self.bloom.k_hashes if self.bloom else 0,
                entries=tuple(zip(self.keys[:max_entries], self.values[:max_entries], strict=True)),
            )
        return self._view


@dataclass(frozen=True)
class StoreSnapshot:
    """The node's state after one operation, for drawing: log, memtable, tables by level."""

    seq: int
    down: bool
    log: tuple[LogRecord, ...]
    memtable: tuple[tuple[str, str | None, int], ...]
    levels: tuple[tuple[TableView, ...], ...]

    @property
    def tables(self) -> tuple[TableView, ...]:
        return tuple(t for level in self.levels for t in level)

    @property
    def disk_entries(self) -> int:
        return sum(t.size for t in self.tables)


# -- the store --------------------------------------------------------------------------------------------


def _check_key(key: object) -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ValueError(f"key must be a string of 1 to {MAX_KEY_LENGTH} characters (got key={key!r:.80})")
    return key


class LSMStore:
    """One node's log-structured merge tree.

    >>> db = LSMStore(memtable_limit=2)
    >>> db.put("a", "1"); db.put("b", "2")   # the second put fills the memtable: flushed to a table
    1
    2
    >>> db.get("a"), db.get_traced("a").steps[-1].outcome
    ('1', 'found')

    Compaction parameters are keyword arguments of the style that uses them (``min_threshold``,
    ``max_threshold``, ``bucket_low``, ``bucket_high`` for size-tiered; ``l0_trigger``, ``fanout``,
    ``table_entries``, ``max_levels`` for leveled); giving one to the other style is an error.
    ``auto_compact=False`` leaves compaction to :meth:`compact`.
    """

    def __init__(
        self,
        memtable_limit: int,
        bloom_bits_per_key: float = 10.0,
        compaction: str = "size_tiered",
        *,
        min_threshold: int | None = None,
        max_threshold: int | None = None,
        bucket_low: float | None = None,
        bucket_high: float | None = None,
        l0_trigger: int | None = None,
        fanout: int | None = None,
        table_entries: int | None = None,
        max_levels: int | None = None,
        auto_compact: bool = True,
    ):
        self.memtable_limit = checks.int_between("memtable_limit", memtable_limit, 1, 10_000_000)
        self.bloom_bits_per_key = checks.number_between(
            "bloom_bits_per_key", bloom_bits_per_key, 0.0, MAX_BITS_PER_KEY
        )
        self.compaction = str(checks.one_of("compaction", compaction, COMPACTION_STYLES))
        self.auto_compact = checks.boolean("auto_compact", auto_compact)
        given = {
            "min_threshold": min_threshold,
            "max_threshold": max_threshold,
            "bucket_low": bucket_low,
            "bucket_high": bucket_high,
            "l0_trigger": l0_trigger,
            "fanout": fanout,
            "table_entries": table_entries,
            "max_levels": max_levels,
        }
        if min_threshold is not None and max_threshold is None and self.compaction == "size_tiered":
            given["max_threshold"] = max(
                SizeTiered.max_threshold, min_threshold
            )  # the cap follows a high floor
        style = COMPACTION_STYLES[self.compaction]
        own = set(style.parameters.__dataclass_fields__)
        for name, value in given.items():
            if value is not None and name not in own:
                raise ValueError(
                    f"{name} is not a parameter of {self.compaction} compaction "
                    f"(its parameters: {', '.join(sorted(own))}; got {name}={value!r})"
                )
        self.policy: SizeTiered | Leveled = style.parameters(
            **{k: v for k, v in given.items() if v is not None}
        )
        self._table_entries = (
            (self.policy.table_entries or self.memtable_limit) if isinstance(self.policy, Leveled) else 0
        )
        n_levels = self.policy.max_levels if isinstance(self.policy, Leveled) else 1
        self._levels: list[list[SSTable]] = [[] for _ in range(n_levels)]  # L0 newest first; Ln by key
        self._pointers = [""] * n_levels  # leveled: where each level's round robin resumes
        self._sizes = [0] * n_levels  # entries per level
        self._max_keys: list[list[str]] = [[] for _ in range(n_levels)]  # leveled Ln: each table's last key
        self._memtable: dict[str, tuple[str | None, int]] = {}
        self._log: list[tuple[int, str, str | None]] = []  # (seq, key, value or None for a delete)
        self._seq = 0
        self._next_table = 1
        self.down = False
        self.events: list[StoreEvent] = []
        self._n = dict.fromkeys(StoreStats.__dataclass_fields__, 0)
        # each key hashed once: its pair fills every filter it goes into and probes every filter it is read in
        self._pairs: dict[str, tuple[int, int]] = {}
        self._filter = (
            (self.bloom_bits_per_key, leveldb_hashes(self.bloom_bits_per_key), self._pair)
            if self.bloom_bits_per_key > 0
            else None
        )

    def _pair(self, key: str) -> tuple[int, int]:
        """The key's hash pair, ``mmh3.hash64(key, 0, signed=False)``: what every table's filter uses."""
        pair = self._pairs.get(key)
        if pair is None:
            pair = self._pairs[key] = mmh3.hash64(key, 0, signed=False)
        return pair

    # -- writes ---------------------------------------------------------------------------------------
    def _check_up(self) -> None:
        if self.down:
            raise ValueError("the node has crashed: call recover() before reading or writing")

    def put(self, key: str, value: str) -> int:
        """Write ``value`` under ``key``; returns the sequence number once the log record is synced (the ack)."""
        self._check_up()
        _check_key(key)
        if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH:
            raise ValueError(
                f"value must be a string of at most {MAX_VALUE_LENGTH} characters (got value={value!r:.80})"
            )
        self._n["puts"] += 1
        return self._write(key, value)

    def delete(self, key: str) -> int:
        """Write a tombstone for ``key``: it hides older values until compaction may drop both."""
        self._check_up()
        _check_key(key)
        self._n["deletes"] += 1
        return self._write(key, None)

    def _write(self, key: str, value: str | None) -> int:
        self._seq += 1
        self._log.append((self._seq, key, value))  # synced before the ack
        self._n["log_records_written"] += 1
        self._memtable[key] = (value, self._seq)
        if len(self._memtable) >= self.memtable_limit:
            self.flush()
        return self._seq

    def flush(self) -> int | None:
        """Write the memtable out as a new SSTable and drop the log it covered; returns the table id."""
        self._check_up()
        if not self._memtable:
            return None
        keys = sorted(self._memtable)
        values = [self._memtable[k][0] for k in keys]
        seqs = [self._memtable[k][1] for k in keys]
        table = self._new_table(0, keys, values, seqs)
        self._levels[0].insert(0, table)
        self._sizes[0] += len(keys)
        self._memtable = {}
        self._log.clear()  # every record is now in a table
        self._n["flushes"] += 1
        self._n["entries_flushed"] += len(keys)
        self.events.append(
            StoreEvent(
                self._seq,
                "flush",
                outputs=(table.table_id,),
                entries_out=len(keys),
                disk_entries_peak=self.disk_entries,
            )
        )
        if self.auto_compact:
            self._maybe_compact()
        return table.table_id

    def _new_table(self, level: int, keys: list[str], values: list, seqs: list[int]) -> SSTable:
        table = SSTable(self._next_table, level, keys, values, seqs, 0.0)
        if self._filter is not None:  # filled on first use (see SSTable._filter_later)
            table._lazy = self._filter
        self._next_table += 1
        return table

    # -- crash and recovery ----------------------------------------------------------------------------
    def crash(self) -> int:
        """Lose the memtable (it lived in memory); the commit log and the tables survive. Returns the
        number of memtable entries lost from memory."""
        lost = len(self._memtable)
        self._memtable = {}
        self.down = True
        self._n["crashes"] += 1
        self.events.append(StoreEvent(self._seq, "crash", replayed=lost))
        return lost

    def recover(self) -> int:
        """Rebuild the memtable by replaying the commit log; returns the number of records replayed."""
        memtable: dict[str, tuple[str | None, int]] = {}
        for seq, key, value in self._log:
            memtable[key] = (value, seq)
        self._memtable = memtable
        self.down = False
        self._n["recoveries"] += 1
        self.events.append(StoreEvent(self._seq, "recover", replayed=len(self._log)))
        return len(self._log)

    # -- reads ----------------------------------------------------------------------------------------
    def get(self, key: str) -> str | None:
        """The newest value of ``key``, or ``None`` if it was never written or its newest write is a delete."""
        return self.get_traced(key).value

    def get_traced(self, key: str) -> ReadTrace:
        """The value with its read path: memtable, then tables newest first, each ruled out by key range or
        bloom filter, or read from disk."""
        self._check_up()
        _check_key(key)
        self._n["gets"] += 1
        steps: list[ReadStep] = []
        hit = self._memtable.get(key)
        if hit is not None:
            steps.append(ReadStep(None, -1, FOUND if hit[0] is not None else DELETED))
            return ReadTrace(key, hit[0], tuple(steps))
        steps.append(ReadStep(None, -1, NOT_IN_MEMTABLE))
        pair = self._pair(key)
        for level, tables in enumerate(self._levels):
            if level == 0 or isinstance(self.policy, SizeTiered):
                candidates = tables
            else:
                if not tables:
                    continue
                i = bisect.bisect_left(self._max_keys[level], key)
                if i == len(tables) or not tables[i].covers(key):
                    steps.append(ReadStep(None, level, NO_TABLE))
                    continue
                candidates = [tables[i]]
            for table in candidates:
                found, value = self._probe(table, key, pair, steps)
                if found:
                    return ReadTrace(key, value, tuple(steps))
        return ReadTrace(key, None, tuple(steps))

    def _get_counted(self, key: str) -> tuple[str | None, int, int]:
        """:meth:`get_traced` without the trace, for a workload's many gets: the value, the disk reads and
        the tables considered (``trace.value``, ``trace.disk_reads``, ``trace.tables_considered``), with the
        same steps taken and the same counters kept."""
        self._check_up()
        _check_key(key)
        n = self._n
        n["gets"] += 1
        hit = self._memtable.get(key)
        if hit is not None:
            return hit[0], 0, 0
        h1, h2 = self._pair(key)
        reads = considered = checks = skips = false_positives = 0
        value = None
        leveled = not isinstance(self.policy, SizeTiered)
        found = False
        for level, tables in enumerate(self._levels):
            if level and leveled:
                if not tables:
                    continue
                i = bisect.bisect_left(self._max_keys[level], key)
                if i == len(tables) or not tables[i].min_key <= key <= tables[i].max_key:
                    continue
                candidates: list[SSTable] | tuple[SSTable] = (tables[i],)
            else:
                candidates = tables
            for table in candidates:
                if not table.min_key <= key <= table.max_key:
                    continue
                considered += 1
                bloom = table.bloom
                if bloom is not None:
                    checks += 1
                    if not bloom.contains_pair(h1, h2):
                        skips += 1
                        continue
                reads += 1
                found, value = table.find(key)
                if found:
                    break
                if bloom is not None:
                    false_positives += 1
            if found:
                break
        n["bloom_checks"] += checks
        n["bloom_skips"] += skips
        n["disk_reads"] += reads
        n["false_positives"] += false_positives
        return value, reads, considered

    def _probe(
        self, table: SSTable, key: str, pair: tuple[int, int], steps: list[ReadStep]
    ) -> tuple[bool, str | None]:
        tid, level = table.table_id, table.level
        if not table.covers(key):
            steps.append(ReadStep(tid, level, OUTSIDE_RANGE))
            return False, None
        if table.bloom is not None:
            self._n["bloom_checks"] += 1
            if not table.bloom.contains_pair(*pair):
                self._n["bloom_skips"] += 1
                steps.append(ReadStep(tid, level, BLOOM_NO))
                return False, None
        self._n["disk_reads"] += 1
        found, value = table.find(key)
        if found:
            steps.append(ReadStep(tid, level, FOUND if value is not None else DELETED))
            return True, value
        if table.bloom is not None:
            self._n["false_positives"] += 1
        steps.append(ReadStep(tid, level, FALSE_POSITIVE if table.bloom is not None else NO_FILTER))
        return False, None

    # -- compaction -----------------------------------------------------------------------------------
    def compact(self) -> int | None:
        """A major compaction: merge every table into one sorted run (leveled: on the deepest level in use).
        Nothing older remains outside it, so every tombstone and every value it hides is dropped. Returns
        the number of entries written, or ``None`` with fewer than two tables and no tombstone to drop."""
        self._check_up()
        tables = self.tables
        if not tables or (len(tables) == 1 and not any(v is None for v in tables[0].values)):
            return None
        if isinstance(self.policy, SizeTiered):
            level = 0
        else:
            level = max(1, max(i for i, ts in enumerate(self._levels) if ts))
        outputs = self._merge(tables, _nothing_older, level, "major compaction", 0)
        for n in range(len(self._levels)):
            self._set_level(n, outputs if n == level else [])
        return self._sizes[level]

    def _set_level(self, n: int, tables: list[SSTable]) -> None:
        self._levels[n] = tables
        self._sizes[n] = sum(len(t) for t in tables)
        self._max_keys[n] = [t.max_key for t in tables] if n > 0 else []

    def _merge(
        self, inputs: list[SSTable], older: Callable[[str], bool], level: int, kind: str, level_from: int
    ) -> list[SSTable]:
        """Merge ``inputs`` (newest first) into sorted output tables for ``level``. A tombstone is dropped
        when ``older(key)`` says no older table may contain its key (by key range and bloom filter, the
        check a real store can make without reading the tables).

        The newest version of a key is the one in the first input that holds it: a table newer in read order
        always holds the later writes of a key (what makes a read stop at the first table that has it), so
        the inputs are laid over each other oldest first, in C, and the last one laid wins."""
        newest_value: dict[str, str | None] = {}
        newest_seq: dict[str, int] = {}
        entries_in = 0
        for table in reversed(inputs):
            entries_in += len(table.keys)
            newest_value.update(zip(table.keys, table.values, strict=True))
            newest_seq.update(zip(table.keys, table.seqs, strict=True))
        keys = sorted(newest_value)
        values = list(map(newest_value.__getitem__, keys))
        seqs = list(map(newest_seq.__getitem__, keys))
        dropped = kept = 0
        if None in values:  # tombstones: each goes unless an older table may still hold a value it hides
            keep = []
            for i, value in enumerate(values):
                if value is None:
                    if not older(keys[i]):
                        dropped += 1
                        continue
                    kept += 1
                keep.append(i)
            keys, values, seqs = [keys[i] for i in keep], [values[i] for i in keep], [seqs[i] for i in keep]
        size = self._table_entries if (isinstance(self.policy, Leveled) and level > 0) else len(keys)
        if size >= len(keys):
            outputs = [self._new_table(level, keys, values, seqs)] if keys else []
        else:
            new = self._new_table
            outputs = [
                new(level, keys[i : i + size], values[i : i + size], seqs[i : i + size])
                for i in range(0, len(keys), size)
            ]
        out = len(keys)
        peak = self.disk_entries + out
        self._n["compactions"] += 1
        self._n["entries_compacted_in"] += entries_in
        self._n["entries_compacted_out"] += out
        self._n["overwritten_dropped"] += entries_in - len(newest_value)
        self._n["tombstones_dropped"] += dropped
        self.events.append(
            StoreEvent(
                self._seq,
                kind,
                inputs=tuple([t.table_id for t in inputs]),
                outputs=tuple([t.table_id for t in outputs]),
                level_from=level_from,
                level_to=level,
                entries_in=entries_in,
                entries_out=out,
                overwritten_dropped=entries_in - len(newest_value),
                tombstones_dropped=dropped,
                tombstones_kept=kept,
                disk_entries_peak=peak,
            )
        )
        return outputs

    def _maybe_compact(self) -> None:
        if isinstance(self.policy, SizeTiered):
            self._compact_tiered(self.policy)
        else:
            self._compact_leveled(self.policy)

    def _compact_tiered(self, p: SizeTiered) -> None:
        runs = self._levels[0]
        while (window := _pick_tier(runs, p)) is not None:
            i, j = window
            later = runs[j:]
            runs[i:j] = self._merge(
                runs[i:j], lambda k, ts=later: self._any_may_contain(ts, k), 0, "compaction", 0
            )
            self._sizes[0] = sum(len(t) for t in runs)

    def _any_may_contain(self, tables: list[SSTable], key: str) -> bool:
        pair = self._pair(key)
        return any(t.may_contain_pair(key, pair) for t in tables)

    def _level_capacity(self, level: int) -> int:
        return self._table_entries * self.policy.fanout**level  # type: ignore[union-attr]

    def _compact_leveled(self, p: Leveled) -> None:
        levels = self._levels
        if len(levels[0]) >= p.l0_trigger:
            lo = min(t.min_key for t in levels[0])
            hi = max(t.max_key for t in levels[0])
            self._push_down(0, list(levels[0]), lo, hi)
        for n in range(1, len(levels) - 1):
            while self._sizes[n] > self._level_capacity(n):
                tables = levels[n]
                # the first table starting after the pointer (the level is sorted and its tables do not
                # overlap: tables before i end at or before it, table i may straddle it)
                after = self._pointers[n]
                i = bisect.bisect_right(self._max_keys[n], after)
                if i < len(tables) and tables[i].min_key <= after:
                    i += 1
                pick = tables[i] if i < len(tables) else tables[0]
                self._pointers[n] = pick.max_key
                self._push_down(n, [pick], pick.min_key, pick.max_key)

    def _push_down(self, n: int, inputs: list[SSTable], lo: str, hi: str) -> None:
        """Merge ``inputs`` from level n with the tables they overlap on level n+1 (or, with nothing to
        merge with below L0, move the table down as it is: no entry rewritten)."""
        levels = self._levels
        below = levels[n + 1]
        start = end = bisect.bisect_left(self._max_keys[n + 1], lo)  # first table ending at or after lo
        while end < len(below) and below[end].min_key <= hi:
            end += 1
        overlap = below[start:end]
        if not overlap and n > 0:
            outputs = [t.moved(n + 1) for t in inputs]
            ids = tuple(t.table_id for t in inputs)
            self.events.append(
                StoreEvent(
                    self._seq,
                    "move",
                    inputs=ids,
                    outputs=ids,
                    level_from=n,
                    level_to=n + 1,
                    disk_entries_peak=self.disk_entries,
                )
            )
        else:  # the inputs stay in place while the output is written: they count toward the peak
            outputs = self._merge(
                inputs + overlap, lambda k: self._deeper_may_contain(k, n + 2), n + 1, "compaction", n
            )
        # splice: level n+1 stays sorted by key, the outputs take the overlapped tables' place
        here = levels[n]
        if n > 0 and len(inputs) == 1:  # one table pushed down from a sorted level: drop it where it is
            i = bisect.bisect_left(self._max_keys[n], inputs[0].max_key)
            del here[i]
            del self._max_keys[n][i]
        else:
            taken = {t.table_id for t in inputs}
            levels[n] = [t for t in here if t.table_id not in taken]
            if n > 0:
                self._max_keys[n] = [t.max_key for t in levels[n]]
        self._sizes[n] -= sum([len(t.keys) for t in inputs])
        below[start:end] = outputs
        self._sizes[n + 1] += sum([len(t.keys) for t in outputs]) - sum([len(t.keys) for t in overlap])
        self._max_keys[n + 1][start:end] = [t.max_key for t in outputs]

    def _deeper_may_contain(self, key: str, first: int) -> bool:
        """Leveled: may any table on level ``first`` or below hold ``key``? One table per level to check."""
        pair = self._pair(key)
        for n in range(first, len(self._levels)):
            i = bisect.bisect_left(self._max_keys[n], key)
            if i < len(self._levels[n]) and self._levels[n][i].may_contain_pair(key, pair):
                return True
        return False

    # -- what there is to see ------------------------------------------------------------------------
    @property
    def seq(self) -> int:
        return self._seq

    @property
    def levels(self) -> tuple[tuple[SSTable, ...], ...]:
        return tuple(tuple(level) for level in self._levels)

    @property
    def tables(self) -> list[SSTable]:
        """Every table in read order: L0 (or the size-tiered runs) newest first, then L1, L2, …"""
        return [t for level in self._levels for t in level]

    @property
    def disk_entries(self) -> int:
        return sum(self._sizes)

    @property
    def memtable(self) -> tuple[tuple[str, str | None, int], ...]:
        return tuple((k, v, s) for k, (v, s) in sorted(self._memtable.items()))

    @property
    def commit_log(self) -> tuple[LogRecord, ...]:
        return tuple(LogRecord(s, "delete" if v is None else "put", k, v) for s, k, v in self._log)

    def stats(self) -> StoreStats:
        return StoreStats(**self._n)

    def snapshot(self) -> StoreSnapshot:
        return StoreSnapshot(
            seq=self._seq,
            down=self.down,
            log=self.commit_log,
            memtable=self.memtable,
            levels=tuple(tuple(t.view() for t in level) for level in self._levels),
        )


def _nothing_older(key: str) -> bool:
    return False


def _pick_tier(runs: list[SSTable], p: SizeTiered) -> tuple[int, int] | None:
    """The first window of consecutive runs of similar size at least ``min_threshold`` long."""
    return _pick_tier_sizes([len(r) for r in runs], p)


def _pick_tier_sizes(sizes: list[int], p: SizeTiered) -> tuple[int, int] | None:
    """:func:`_pick_tier` given the runs' sizes."""
    i, n, low, high = 0, len(sizes), p.bucket_low, p.bucket_high
    while i < n:
        j, total = i + 1, sizes[i]
        while j < n and low * total / (j - i) <= sizes[j] <= high * total / (j - i):
            total += sizes[j]
            j += 1
        if j - i >= p.min_threshold:
            return i, min(j, i + p.max_threshold)
        i = j
    return None


# -- a store's settings, as the page sets them --------------------------------------------------------------


@dataclass(frozen=True)
class StoreSettings:
    """The knobs of one node's store: memtable size, bloom bits per key, compaction style and its main knob."""

    memtable_limit: int = 4
    bloom_bits_per_key: float = 10.0
    compaction: str = "size_tiered"
    min_threshold: int = 4
    l0_trigger: int = 4
    fanout: int = 10

    def __post_init__(self) -> None:
        checks.int_between("memtable_limit", self.memtable_limit, 1, 100_000)
        checks.number_between("bloom_bits_per_key", self.bloom_bits_per_key, 0.0, MAX_BITS_PER_KEY)
        checks.one_of("compaction", self.compaction, COMPACTION_STYLES)
        SizeTiered(min_threshold=self.min_threshold)
        Leveled(l0_trigger=self.l0_trigger, fanout=self.fanout)

    def with_style(self, compaction: str) -> StoreSettings:
        return StoreSettings(
            self.memtable_limit,
            self.bloom_bits_per_key,
            compaction,
            self.min_threshold,
            self.l0_trigger,
            self.fanout,
        )

    def store(self) -> LSMStore:
        if self.compaction == "size_tiered":
            return LSMStore(
                self.memtable_limit, self.bloom_bits_per_key, "size_tiered", min_threshold=self.min_threshold
            )
        return LSMStore(
            self.memtable_limit,
            self.bloom_bits_per_key,
            "leveled",
            l0_trigger=self.l0_trigger,
            fanout=self.fanout,
        )


# -- a scripted session, for the step-through ---------------------------------------------------------------

SCRIPT_COMMANDS = MappingProxyType(
    {
        "put": "put KEY VALUE: write a value (acknowledged once its log record is synced)",
        "get": "get KEY: read it, and trace the read path",
        "delete": "delete KEY: write a tombstone",
        "load": "load COUNT [PREFIX [TAG]]: COUNT puts of PREFIX0001… with values TAG1…",
        "flush": "flush: write the memtable out as an SSTable now",
        "compact": "compact: a major compaction of every table",
        "crash": "crash: the node loses its memtable (the log survives)",
        "recover": "recover: replay the commit log into a new memtable",
    }
)
MAX_SCRIPT_LINES = 200
MAX_SCRIPT_OPS = 2000
MAX_LOAD = 1000
_TOKEN = re.compile(r"[A-Za-z0-9_:.\-]{1,32}")
_ARGS = MappingProxyType(
    {
        "put": (2, 2),
        "get": (1, 1),
        "delete": (1, 1),
        "load": (1, 3),
        "flush": (0, 0),
        "compact": (0, 0),
        "crash": (0, 0),
        "recover": (0, 0),
    }
)


def _shown(token: str) -> str:
    """A token from the script, safe to quote in a message: anything outside the key alphabet becomes '?'."""
    return "".join(c if _TOKEN.fullmatch(c) else "?" for c in token[:32])


@dataclass(frozen=True)
class ScriptOp:
    line: int
    command: str
    key: str | None = None
    value: str | None = None


def parse_script(text: str) -> tuple[ScriptOp, ...]:
    """Parse a session, one command per line (``#`` starts a comment); ``load`` expands into its puts.

    Bounded before it is parsed: at most ``MAX_SCRIPT_LINES`` lines, ``MAX_SCRIPT_OPS`` operations, keys
    and values of 1 to 32 characters from ``A-Z a-z 0-9 _ : . -``. A mistake raises ValueError naming
    the line.
    """
    if not isinstance(text, str):
        raise ValueError("the script must be text")
    lines = text.splitlines()
    if len(lines) > MAX_SCRIPT_LINES or len(text) > MAX_SCRIPT_LINES * 80:
        raise ValueError(
            f"the script may have at most {MAX_SCRIPT_LINES} lines of 80 characters (got {len(lines)} lines)"
        )
    ops: list[ScriptOp] = []
    for number, raw in enumerate(lines, start=1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        command, args = words[0].lower(), words[1:]
        if command not in _ARGS:
            raise ValueError(
                f"line {number}: unknown command '{_shown(command)}' "
                f"(use one of {', '.join(SCRIPT_COMMANDS)})"
            )
        lo, hi = _ARGS[command]
        if not lo <= len(args) <= hi:
            raise ValueError(f"line {number}: write it as '{SCRIPT_COMMANDS[command].split(':')[0]}'")
        for a in args:
            if not _TOKEN.fullmatch(a):
                raise ValueError(f"line {number}: '{_shown(a)}' must be 1 to 32 of A-Z a-z 0-9 _ : . -")
        if command == "load":
            if not args[0].isdigit() or not 1 <= int(args[0]) <= MAX_LOAD:
                raise ValueError(f"line {number}: load COUNT must be a whole number from 1 to {MAX_LOAD}")
            count, prefix = int(args[0]), args[1] if len(args) > 1 else "key"
            tag = args[2] if len(args) > 2 else "v"
            width = max(4, len(str(count)))
            ops.extend(
                ScriptOp(number, "put", f"{prefix}{i:0{width}d}", f"{tag}{i}") for i in range(1, count + 1)
            )
        else:
            ops.append(ScriptOp(number, command, *args))
        if len(ops) > MAX_SCRIPT_OPS:
            raise ValueError(f"line {number}: the script runs more than {MAX_SCRIPT_OPS} operations")
    return tuple(ops)


@dataclass(frozen=True)
class StepRecord:
    """One operation of a session: what it did, the events it caused, the state after it, and for a get,
    its trace and what a plain dict of the acknowledged writes holds."""

    index: int
    op: ScriptOp
    outcome: str
    acknowledged: bool
    events: tuple[StoreEvent, ...]
    snapshot: StoreSnapshot
    trace: ReadTrace | None = None
    expected: str | None = None

    @property
    def matches_model(self) -> bool | None:
        return None if self.trace is None else self.trace.value == self.expected


@dataclass(frozen=True)
class ScriptRun:
    settings: StoreSettings
    steps: tuple[StepRecord, ...]
    stats: StoreStats

    @property
    def gets(self) -> tuple[StepRecord, ...]:
        return tuple(s for s in self.steps if s.trace is not None)

    @property
    def acknowledged_writes(self) -> int:
        return sum(s.acknowledged for s in self.steps if s.op.command in ("put", "delete"))

    @property
    def refused(self) -> int:
        return sum(s.outcome.startswith("refused") for s in self.steps)

    @property
    def reads_matching(self) -> int:
        return sum(bool(s.matches_model) for s in self.gets)


def run_script(text: str, settings: StoreSettings) -> ScriptRun:
    """Run a session against a fresh store, recording the state after every operation; operations while the
    node is down are refused (and not acknowledged)."""
    ops = parse_script(text)
    store = settings.store()
    model: dict[str, str] = {}
    steps = []
    for index, op in enumerate(ops):
        before = len(store.events)
        trace = expected = None
        acknowledged = False
        c = op.command
        if store.down and c not in ("crash", "recover"):
            outcome = "refused: the node is down (recover first)"
        elif c == "put":
            outcome = f"acknowledged as seq {store.put(op.key, op.value)}"
            model[op.key] = op.value  # type: ignore[index]
            acknowledged = True
        elif c == "delete":
            outcome = f"tombstone acknowledged as seq {store.delete(op.key)}"
            model.pop(op.key, None)  # type: ignore[arg-type]
            acknowledged = True
        elif c == "get":
            trace, expected = store.get_traced(op.key), model.get(op.key)  # type: ignore[arg-type]
            outcome = f"{trace.value if trace.found else 'not found'} ({trace.disk_reads} disk reads)"
        elif c == "flush":
            tid = store.flush()
            outcome = f"memtable written as T{tid}" if tid else "memtable empty: nothing to flush"
        elif c == "compact":
            written = store.compact()
            outcome = (
                f"{written} entries rewritten into one run" if written is not None else "nothing to compact"
            )
        elif c == "crash":
            outcome = f"crashed: {store.crash()} memtable entries lost from memory"
        else:
            outcome = f"recovered: {store.recover()} log records replayed"
        steps.append(
            StepRecord(
                index,
                op,
                outcome,
                acknowledged,
                tuple(store.events[before:]),
                store.snapshot(),
                trace,
                expected,
            )
        )
    return ScriptRun(settings, tuple(steps), store.stats())


# -- amplification on a workload ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkloadSettings:
    """A seeded random workload: ``writes`` puts and deletes over ``key_space`` keys, then ``reads`` gets
    (half of live keys, half of keys never written)."""

    store: StoreSettings = StoreSettings()
    writes: int = 10_000
    key_space: int = 2_000
    delete_fraction: float = 0.05
    reads: int = 2_000
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.store, StoreSettings):
            raise ValueError("store must be a StoreSettings")
        checks.int_between("writes", self.writes, 1, 1_000_000)
        checks.int_between("key_space", self.key_space, 1, 1_000_000)
        checks.number_between("delete_fraction", self.delete_fraction, 0.0, 0.9)
        checks.int_between("reads", self.reads, 0, 100_000)
        checks.seed(self.seed)

    def for_style(self, compaction: str) -> WorkloadSettings:
        """These settings as ``run_workload(…, compaction)`` sees them: that style, and the other style's
        knobs at their defaults. ``run_workload(s, c)`` equals ``run_workload(s.for_style(c), c)`` but for
        its ``settings``, so a cache keyed by ``for_style`` serves every value of the knobs a style ignores."""
        st = self.store
        tiered = str(checks.one_of("compaction", compaction, COMPACTION_STYLES)) == "size_tiered"
        default = StoreSettings()
        store = StoreSettings(
            st.memtable_limit,
            st.bloom_bits_per_key,
            compaction,
            st.min_threshold if tiered else default.min_threshold,
            default.l0_trigger if tiered else st.l0_trigger,
            default.fanout if tiered else st.fanout,
        )
        return dataclasses.replace(self, store=store)


@dataclass(frozen=True)
class WorkloadResult:
    settings: WorkloadSettings
    compaction: str
    stats: StoreStats
    live_keys: int
    disk_entries: int
    levels: tuple[tuple[int, ...], ...]  # table sizes per level (size-tiered: one row of runs)
    peak_space_amplification: float
    mean_space_amplification: float
    series_ops: tuple[int, ...]  # sampled after these many writes …
    series_disk: tuple[int, ...]  # … entries on disk (peak since the previous sample)
    series_live: tuple[int, ...]  # … live keys
    series_tables: tuple[int, ...]  # … tables
    reads_present: int
    reads_absent: int
    disk_reads_present: int
    disk_reads_absent: int
    tables_considered: int  # tables whose key range covered the key: disk reads without any filter
    bloom_skips: int
    false_positives: int
    read_mismatches: int  # gets that disagreed with a dict of the same writes: always 0

    @property
    def write_amplification(self) -> float:
        return self.stats.write_amplification

    @property
    def space_amplification(self) -> float:
        return self.disk_entries / self.live_keys if self.live_keys else math.inf

    @property
    def read_amplification(self) -> float:
        """Disk reads per get, over all the gets."""
        n = self.reads_present + self.reads_absent
        return (self.disk_reads_present + self.disk_reads_absent) / n if n else 0.0

    @property
    def levels_in_use(self) -> int:
        return sum(bool(level) for level in self.levels)

    @property
    def measured_false_positive_rate(self) -> float:
        negatives = self.bloom_skips + self.false_positives
        return self.false_positives / negatives if negatives else 0.0


def run_workload(
    settings: WorkloadSettings, compaction: str | None = None, samples: int = 200
) -> WorkloadResult:
    """Run the workload on a fresh store (``compaction`` overrides the settings' style) and measure it.

    The workload's keys are all alike (``user:0000042``), so this runs :class:`LSMStore`'s very steps on
    integer key codes (:class:`_CodeStore`): the same tables, merges, filters and reads, the same numbers
    as :func:`_run_workload_on_store` (the store itself, kept as the reference), several times faster."""
    style = (
        settings.store.compaction
        if compaction is None
        else str(checks.one_of("compaction", compaction, COMPACTION_STYLES))
    )
    return _run_workload_on_codes(settings, style, samples)


def _run_workload_on_store(
    settings: WorkloadSettings, compaction: str | None = None, samples: int = 200
) -> WorkloadResult:
    """:func:`run_workload` on an :class:`LSMStore` with string keys: the reference the fast path matches."""
    style = (
        settings.store.compaction
        if compaction is None
        else str(checks.one_of("compaction", compaction, COMPACTION_STYLES))
    )
    store = settings.store.with_style(style).store()
    rng = np.random.default_rng(settings.seed)
    names = [f"user:{i:07d}" for i in range(settings.key_space)]
    picks = rng.integers(0, settings.key_space, settings.writes)
    deletes = rng.random(settings.writes) < settings.delete_fraction
    model: dict[str, str] = {}
    every = max(1, settings.writes // max(1, samples))
    ops, disk, live, tables = [], [], [], []
    seen_events = 0
    peak_sa, sa_sum, sa_n, window_peak = 0.0, 0.0, 0, 0
    for i in range(settings.writes):
        key = names[picks[i]]
        if deletes[i]:
            store.delete(key)
            model.pop(key, None)
        else:
            store.put(key, f"v{i}")
            model[key] = f"v{i}"
        if len(store.events) > seen_events:
            for event in store.events[seen_events:]:
                window_peak = max(window_peak, event.disk_entries_peak)
                if len(model):
                    peak_sa = max(peak_sa, event.disk_entries_peak / len(model))
            seen_events = len(store.events)
        if (i + 1) % every == 0 or i + 1 == settings.writes:
            on_disk = store.disk_entries
            ops.append(i + 1)
            disk.append(max(window_peak, on_disk))
            live.append(len(model))
            tables.append(len(store.tables))
            window_peak = 0
            if model:
                sa_sum += on_disk / len(model)
                sa_n += 1
    present_keys = sorted(model)
    n_present = min(settings.reads // 2, len(present_keys))
    chosen = rng.choice(len(present_keys), n_present, replace=False) if n_present else np.zeros(0, dtype=int)
    queries = [(present_keys[j], model[present_keys[j]]) for j in chosen]
    # keys never written, each just after a real one, so that key ranges cannot rule them out
    absent = rng.integers(0, settings.key_space, settings.reads - n_present)
    queries += [(names[j] + "-", None) for j in absent]
    before = store.stats()
    counts = {"present": 0, "absent": 0}
    mismatches = considered = 0
    for key, want in queries:
        value, reads, covering = store._get_counted(key)  # get_traced's numbers, without the trace
        counts["present" if want is not None else "absent"] += reads
        considered += covering
        mismatches += value != want
    after = store.stats()
    return WorkloadResult(
        settings=settings,
        compaction=style,
        stats=after,
        live_keys=len(model),
        disk_entries=store.disk_entries,
        levels=tuple(tuple(len(t) for t in level) for level in store.levels),
        peak_space_amplification=peak_sa,
        mean_space_amplification=sa_sum / sa_n if sa_n else 0.0,
        series_ops=tuple(ops),
        series_disk=tuple(disk),
        series_live=tuple(live),
        series_tables=tuple(tables),
        reads_present=n_present,
        reads_absent=settings.reads - n_present,
        disk_reads_present=counts["present"],
        disk_reads_absent=counts["absent"],
        tables_considered=considered,
        bloom_skips=after.bloom_skips - before.bloom_skips,
        false_positives=after.false_positives - before.false_positives,
        read_mismatches=mismatches,
    )


# -- the workload on integer key codes: LSMStore's steps without its strings and records ------------------


class _CodeTable:
    """A table of :class:`_CodeStore`: sorted key codes, their sequence numbers, its bloom filter's bits."""

    __slots__ = ("bits", "hi", "keys", "lo", "seqs")

    def __init__(self, keys: list[int], seqs: list[int], lo: int, hi: int):
        self.keys, self.seqs, self.lo, self.hi = keys, seqs, lo, hi
        self.bits: bytearray | None = None  # filled on first use, as SSTable.bloom is


class _Level:
    """A sorted level (leveled L1 and below) of :class:`_CodeStore`: its non-overlapping tables' entries as one
    sorted run (``keys`` and their ``seqs``), and per table, in key order, its first and last key, its size and
    its filter's bits (``None`` until first used)."""

    __slots__ = ("bits", "highs", "keys", "lens", "lows", "seqs")

    def __init__(self) -> None:
        self.keys: list[int] = []
        self.seqs: list[int] = []
        self.lows: list[int] = []
        self.highs: list[int] = []
        self.lens: list[int] = []
        self.bits: list[bytearray | None] = []


def _overlay(keys: list[int], seqs: list[int], new_keys: list[int], new_seqs: list[int]) -> None:
    """Put a newer sorted table's entries into the sorted run ``keys``/``seqs`` (in place): each replaces its
    key's entry or goes in at its place."""
    j = 0
    for k, sq in zip(new_keys, new_seqs, strict=True):
        j = bisect.bisect_left(keys, k, j)
        if j < len(keys) and keys[j] == k:
            seqs[j] = sq
        else:
            keys.insert(j, k)
            seqs.insert(j, sq)
        j += 1


class _CodeStore:
    """:class:`LSMStore`'s write path, compaction and counted reads for a workload whose keys sort as integer
    codes do (the workload's ``user:0000042`` is code 84, a key just after it, ``user:0000042-``, code 85).

    What it keeps is what the workload reports: the counters, the tables' sizes and key ranges, and the
    ``disk_entries_peak`` of each event (``peaks``). Values are not kept: a write's value follows from its
    sequence number, kept negative for a delete (``-seq``: a tombstone). The filters are ``BloomFilter.from_pairs`` of the keys'
    hash pairs (``pairs[code]``), the bits an SSTable's filter gets."""

    def __init__(
        self,
        settings: StoreSettings,
        pairs: list[tuple[int, int]],
        h1: np.ndarray,
        h2: np.ndarray,
    ):
        self.limit = settings.memtable_limit
        self.bits_per_key = settings.bloom_bits_per_key
        self.k = leveldb_hashes(self.bits_per_key) if self.bits_per_key > 0 else 0
        self.tiered = settings.compaction == "size_tiered"
        if self.tiered:
            self.policy: SizeTiered | Leveled = SizeTiered(
                min_threshold=settings.min_threshold,
                max_threshold=max(SizeTiered.max_threshold, settings.min_threshold),
            )
        else:
            self.policy = Leveled(l0_trigger=settings.l0_trigger, fanout=settings.fanout)
        self.table_entries = self.limit  # Leveled.table_entries None: the memtable's size
        n_levels = 1 if self.tiered else self.policy.max_levels
        self.n_levels = n_levels
        self.levels: list[list[_CodeTable]] = [[]]  # L0 (size-tiered: the runs), newest first
        self.run_lens: list[int] = []  # size-tiered: each run's size, as levels[0]
        self.sorted_levels = [_Level() for _ in range(n_levels)]  # leveled L1, L2, … (index 0 unused)
        self.pointers = [-1] * n_levels  # below every code, as "" is below every key
        self.sizes = [0] * n_levels
        self.memtable: dict[int, int] = {}  # code -> seq
        self.pairs, self.h1, self.h2 = pairs, h1, h2
        self.steps = np.arange(self.k, dtype=np.uint64)
        self.peaks: list[int] = []
        self.flushes = self.entries_flushed = self.compactions = 0
        self.entries_in = self.entries_out = self.overwritten = self.tombstones_dropped = 0

    def flush(self) -> None:
        mem = self.memtable
        keys = sorted(mem)
        table = _CodeTable(keys, list(map(mem.__getitem__, keys)), keys[0], keys[-1])
        self.levels[0].insert(0, table)
        self.sizes[0] += len(keys)
        if self.tiered:
            self.run_lens.insert(0, len(keys))
        self.memtable = {}
        self.flushes += 1
        self.entries_flushed += len(keys)
        self.peaks.append(sum(self.sizes))
        if self.tiered:
            self._compact_tiered()
        else:
            self._compact_leveled()

    # -- filters -----------------------------------------------------------------------------------------
    def _bits(self, t: _CodeTable) -> bytearray:
        bits = t.bits
        if bits is None:
            bits = t.bits = self._filter_bits(t.keys)
        return bits

    def _filter_bits(self, codes: list[int]) -> bytearray:
        """The bits of the filter a table of these keys gets (``BloomFilter.for_bits_per_key`` filled)."""
        m_bits = min(MAX_BITS, max(64, math.ceil(len(codes) * self.bits_per_key)))
        if len(codes) * self.k <= _SMALL_FILTER:
            pairs = self.pairs
            return BloomFilter.from_pairs(m_bits, self.k, [pairs[c] for c in codes])._bits
        # BloomFilter._positions of the keys' pairs: the bits from_pairs sets
        keys = np.asarray(codes)
        pos = (self.h1[keys][:, None] + self.steps[None, :] * self.h2[keys][:, None]) % np.uint64(m_bits)
        filled = np.zeros(m_bits, dtype=np.uint8)
        filled[pos.ravel()] = 1
        return bytearray(filled.tobytes())

    def table_sizes(self) -> tuple[tuple[int, ...], ...]:
        """Each level's table sizes (size-tiered: one row of runs), as WorkloadResult.levels has them."""
        l0 = tuple([len(t.keys) for t in self.levels[0]])
        return (l0,) if self.tiered else (l0, *(tuple(lv.lens) for lv in self.sorted_levels[1:]))

    def table_count(self) -> int:
        return len(self.levels[0]) + sum([len(lv.lens) for lv in self.sorted_levels[1:]])

    def _may_contain(self, t: _CodeTable, code: int) -> bool:
        """SSTable.may_contain_pair: the key range, then the filter."""
        if not t.lo <= code <= t.hi:
            return False
        if not self.k:
            return True
        bits = t.bits
        if bits is None:  # a key the table holds has all its bits set: no need to fill the filter to see it
            keys = t.keys
            i = bisect.bisect_left(keys, code)
            if i < len(keys) and keys[i] == code:
                return True
            bits = t.bits = self._filter_bits(keys)
        m, (h1, h2) = len(bits), self.pairs[code]
        for i in range(self.k):  # noqa: SIM110 - BloomFilter.contains_pair, stopping at the first clear bit
            if not bits[((h1 + i * h2) & _MASK64) % m]:
                return False
        return True

    # -- compaction --------------------------------------------------------------------------------------
    def _merge(self, inputs: list[_CodeTable], older: Callable[[int], bool], chunk: int) -> list[_CodeTable]:
        """LSMStore._merge: the first input holding a key has its newest version; a tombstone goes unless
        ``older(code)``; the output is cut into tables of ``chunk`` entries (0: one table)."""
        if len(inputs) == 1:
            t = inputs[0]
            keys, seqs, entries_in, unique = t.keys, t.seqs, len(t.keys), len(t.keys)
        else:
            # oldest first in one pass: a key met again takes the newer seq, as update() table by table does
            rev = inputs[::-1]
            newest = dict(
                zip(
                    chain.from_iterable([t.keys for t in rev]),
                    chain.from_iterable([t.seqs for t in rev]),
                    strict=True,
                )
            )
            entries_in = sum([len(t.keys) for t in inputs])
            keys = sorted(newest)
            seqs = list(map(newest.__getitem__, keys))
            unique = len(keys)
        dropped = 0
        if min(seqs) < 0:  # a tombstone goes unless an older table may still hold a value it hides
            drop = [i for i, sq in enumerate(seqs) if sq < 0 and not older(keys[i])]
            if drop:
                dropped = len(drop)
                gone = set(drop)
                keep = [i for i in range(len(keys)) if i not in gone]
                keys, seqs = list(map(keys.__getitem__, keep)), list(map(seqs.__getitem__, keep))
        out = len(keys)
        self.peaks.append(sum(self.sizes) + out)
        self.compactions += 1
        self.entries_in += entries_in
        self.entries_out += out
        self.overwritten += entries_in - unique
        self.tombstones_dropped += dropped
        if not out:
            return []
        if not chunk or chunk >= out:
            return [_CodeTable(keys, seqs, keys[0], keys[-1])]
        highs = keys[chunk - 1 :: chunk]
        if out % chunk:
            highs.append(keys[-1])
        return [
            _CodeTable(keys[i : i + chunk], seqs[i : i + chunk], lo, hi)
            for i, lo, hi in zip(range(0, out, chunk), keys[::chunk], highs, strict=True)
        ]

    def _compact_tiered(self) -> None:
        runs, p, lens = self.levels[0], self.policy, self.run_lens
        while (window := _pick_tier_sizes(lens, p)) is not None:  # type: ignore[arg-type]
            i, j = window
            later = runs[j:]

            def older(code: int, later: list[_CodeTable] = later, may_contain=self._may_contain) -> bool:
                for t in later:  # noqa: SIM110 - any() of a generator, without the generator
                    if may_contain(t, code):
                        return True
                return False

            runs[i:j] = outputs = self._merge(runs[i:j], older, 0)
            lens[i:j] = [len(t.keys) for t in outputs]
            self.sizes[0] = sum(lens)

    def _compact_leveled(self) -> None:
        p = self.policy
        # Each pass leaves every level within its capacity, and a level changes only when the one above pushes
        # into it: without an L0 merge, or past a level that was within its capacity, nothing is left to do.
        if len(self.levels[0]) < p.l0_trigger:  # type: ignore[union-attr]
            return
        self._push_l0()
        sizes, pointers, fanout = self.sizes, self.pointers, p.fanout  # type: ignore[union-attr]
        for n in range(1, self.n_levels - 1):
            capacity = self.table_entries * fanout**n
            if sizes[n] <= capacity:
                break
            lv = self.sorted_levels[n]
            lows, highs = lv.lows, lv.highs  # edited in place by _push_one
            while sizes[n] > capacity:  # round robin through the key space, from where the last push ended
                after = pointers[n]
                i = bisect.bisect_right(highs, after)
                if i < len(highs) and lows[i] <= after:
                    i += 1
                if i >= len(highs):
                    i = 0
                pointers[n] = highs[i]
                self._push_one(n, i)

    def _overlap(self, m: int, lo: int, hi: int) -> tuple[int, int, int, int]:
        """The tables of sorted level m whose ranges meet [lo, hi] (tables start:end) and where their entries
        lie in the level's run (c:d; none: c = d where entries from lo would go)."""
        lv = self.sorted_levels[m]
        start = bisect.bisect_left(lv.highs, lo)  # the first table ending at or after lo
        end = max(start, bisect.bisect_right(lv.lows, hi))  # … up to the last starting at or before hi
        if start == end:
            c = bisect.bisect_left(lv.keys, lo)
            return start, end, c, c
        c = bisect.bisect_left(lv.keys, lv.lows[start])
        return start, end, c, bisect.bisect_right(lv.keys, lv.highs[end - 1], c)

    def _write_out(
        self, m: int, start: int, end: int, c: int, d: int, keys: list[int], seqs: list[int]
    ) -> None:
        """Put a merge's output (sorted) in place of level m's tables start:end (entries c:d), cut into tables
        of ``table_entries``; counts the compaction and its peak, as LSMStore._merge does."""
        out, size_overlap = len(keys), d - c
        sizes = self.sizes
        self.peaks.append(sum(sizes) + out)  # the inputs stay in place while the output is written
        self.compactions += 1
        self.entries_out += out
        sizes[m] += out - size_overlap
        lv, chunk = self.sorted_levels[m], self.table_entries
        lv.keys[c:d], lv.seqs[c:d] = keys, seqs
        if not out:
            lows, highs, lens = [], [], []
        elif chunk >= out:
            lows, highs, lens = [keys[0]], [keys[-1]], [out]
        else:
            lows, highs, lens = keys[::chunk], keys[chunk - 1 :: chunk], [chunk] * (out // chunk)
            if out % chunk:
                highs.append(keys[-1])
                lens.append(out % chunk)
        lv.lows[start:end], lv.highs[start:end], lv.lens[start:end] = lows, highs, lens
        lv.bits[start:end] = [None] * len(lens)

    def _drop_tombstones(self, keys: list[int], seqs: list[int], first: int) -> None:
        """Drop (in place) each tombstone no table on level ``first`` or below may still hide a value from."""
        dropped = 0
        if seqs and min(seqs) < 0:
            deeper = self._deeper_may_contain
            for j in reversed([j for j, sq in enumerate(seqs) if sq < 0]):
                if not deeper(keys[j], first):
                    del keys[j], seqs[j]
                    dropped += 1
        self.tombstones_dropped += dropped

    def _push_l0(self) -> None:
        """_push_down(0, every L0 table): merged with the L1 tables they overlap."""
        l0 = self.levels[0]
        lo, hi = min([t.lo for t in l0]), max([t.hi for t in l0])
        start, end, c, d = self._overlap(1, lo, hi)
        l1 = self.sorted_levels[1]
        entries_in = d - c + self.sizes[0]
        if len(l0) == 1 and c == d:
            keys, seqs = l0[0].keys[:], l0[0].seqs[:]
        elif self.sizes[0] * 4 <= d - c:  # few new entries: each put into the run of L1 below, oldest first
            keys, seqs = l1.keys[c:d], l1.seqs[c:d]
            for t in reversed(l0):
                _overlay(keys, seqs, t.keys, t.seqs)
        else:  # oldest first in one pass: a key met again takes the newer seq
            newest = dict(zip(l1.keys[c:d], l1.seqs[c:d], strict=True))
            for t in reversed(l0):
                newest.update(zip(t.keys, t.seqs, strict=True))
            keys = sorted(newest)
            seqs = list(map(newest.__getitem__, keys))
        self.entries_in += entries_in
        self.overwritten += entries_in - len(keys)
        self._drop_tombstones(keys, seqs, 2)
        self._write_out(1, start, end, c, d, keys, seqs)
        self.levels[0] = []
        self.sizes[0] = 0

    def _push_one(self, n: int, i: int) -> None:
        """_push_down(n, [table i of level n]) for n >= 1: moved down as it is when nothing below overlaps
        it, else merged with the tables it overlaps on level n+1."""
        lv, sizes = self.sorted_levels[n], self.sizes
        lo, hi, size_in = lv.lows[i], lv.highs[i], lv.lens[i]
        a = bisect.bisect_left(lv.keys, lo)
        keys_in, seqs_in, bits_in = lv.keys[a : a + size_in], lv.seqs[a : a + size_in], lv.bits[i]
        start, end, c, d = self._overlap(n + 1, lo, hi)
        below = self.sorted_levels[n + 1]
        if start == end:  # a move: the same table one level down
            self.peaks.append(sum(sizes))
            below.keys[c:c], below.seqs[c:c] = keys_in, seqs_in
            below.lows.insert(start, lo)
            below.highs.insert(start, hi)
            below.lens.insert(start, size_in)
            below.bits.insert(start, bits_in)
            sizes[n + 1] += size_in
        else:  # the tables below hold one entry per key, in order; the pushed table is newer
            keys, seqs = below.keys[c:d], below.seqs[c:d]
            _overlay(keys, seqs, keys_in, seqs_in)
            entries_in = size_in + d - c
            self.entries_in += entries_in
            self.overwritten += entries_in - len(keys)
            self._drop_tombstones(keys, seqs, n + 2)
            self._write_out(n + 1, start, end, c, d, keys, seqs)
        del lv.keys[a : a + size_in], lv.seqs[a : a + size_in]
        del lv.lows[i], lv.highs[i], lv.lens[i], lv.bits[i]
        sizes[n] -= size_in

    def _deeper_may_contain(self, code: int, first: int) -> bool:
        """Leveled: may the one table covering ``code`` on level ``first`` or below hold it (range, filter)?"""
        k, pairs = self.k, self.pairs
        for m in range(first, self.n_levels):
            lv = self.sorted_levels[m]
            i = bisect.bisect_left(lv.highs, code)
            if i < len(lv.highs) and lv.lows[i] <= code:
                if not k:
                    return True
                bits = lv.bits[i]
                if bits is None:
                    a = bisect.bisect_left(lv.keys, lv.lows[i])
                    b = bisect.bisect_left(lv.keys, code, a)
                    if lv.keys[b] == code:  # a key the table holds has all its bits set
                        return True
                    bits = lv.bits[i] = self._filter_bits(lv.keys[a : a + lv.lens[i]])
                size, (h1, h2) = len(bits), pairs[code]
                for j in range(k):  # BloomFilter.contains_pair, stopping at the first clear bit
                    if not bits[((h1 + j * h2) & _MASK64) % size]:
                        break
                else:
                    return True
        return False

    # -- reads ---------------------------------------------------------------------------------------------
    def read_many(
        self, codes: np.ndarray, h1: np.ndarray, h2: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int, int]:
        """LSMStore._get_counted of each code, all at once (reads change nothing but counters, so table by
        table over the codes still unanswered is the same walk). ``h1``/``h2``: each code's hash pair.
        Returns each code's value seq (-1: none or a tombstone), disk reads and tables considered, then the
        bloom checks, skips and false positives."""
        nq = len(codes)
        value = np.full(nq, -1, dtype=np.int64)
        reads = np.zeros(nq, dtype=np.int64)
        considered = np.zeros(nq, dtype=np.int64)
        done = np.zeros(nq, dtype=bool)
        totals = [0, 0, 0]  # checks, skips, false positives
        mem = self.memtable
        for j, c in enumerate(codes.tolist()):
            if c in mem:
                done[j] = True
                value[j] = max(-1, mem[c])  # a tombstone's seq is negative
        steps = np.arange(self.k, dtype=np.uint64)

        def probe(
            idx: np.ndarray, bits: np.ndarray | None, offset, m_bits, keys: np.ndarray, seqs: np.ndarray
        ):
            """The codes ``idx`` each read one table: its filter (``bits[offset + pos % m_bits]``), then the
            table's sorted ``keys``."""
            considered[idx] += 1
            if bits is not None:
                totals[0] += len(idx)
                pos = (h1[idx][:, None] + steps[None, :] * h2[idx][:, None]) % m_bits[:, None]
                maybe = bits[pos + offset[:, None]].all(axis=1)
                totals[1] += len(idx) - int(maybe.sum())
                idx = idx[maybe]
            reads[idx] += 1
            q = codes[idx]
            at = np.minimum(np.searchsorted(keys, q), len(keys) - 1)
            hit = keys[at] == q
            found = idx[hit]
            done[found] = True
            seq = seqs[at[hit]]
            value[found] = np.maximum(seq, -1)
            if bits is not None:
                totals[2] += len(idx) - len(found)

        def filters(lens: list[int], keys: np.ndarray) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
            """Every table's filter bits laid end to end (table i's at ``offset[i]``, ``m_bits[i]`` long),
            filled at once from the level's ``keys`` (``lens``: each table's size): the bits each table's own
            filter gets."""
            if not self.k:
                return None, np.zeros(len(lens), np.uint64), np.ones(len(lens), np.uint64)
            b = self.bits_per_key
            m_bits = np.array([min(MAX_BITS, max(64, math.ceil(n * b))) for n in lens], np.uint64)
            offset = np.concatenate(([0], np.cumsum(m_bits[:-1]))).astype(np.uint64)
            owner = np.repeat(np.arange(len(lens)), lens)
            pos = (self.h1[keys][:, None] + steps[None, :] * self.h2[keys][:, None]) % m_bits[owner][:, None]
            bits = np.zeros(int(m_bits.sum()), dtype=np.uint8)
            bits[(pos + offset[owner][:, None]).ravel()] = 1
            return bits, offset, m_bits

        one = np.ones(1, dtype=np.uint64)
        for t in self.levels[0]:  # L0 (size-tiered: every run): every table, newest first
            idx = np.flatnonzero(~done & (codes >= t.lo) & (codes <= t.hi))
            if len(idx):
                bits = None if not self.k else np.frombuffer(self._bits(t), dtype=np.uint8)
                m = one * (len(bits) if bits is not None else 1)
                probe(idx, bits, np.zeros(len(idx), np.uint64), np.repeat(m, len(idx)),
                      np.asarray(t.keys), np.asarray(t.seqs))  # fmt: skip
        for lv in self.sorted_levels[1:]:
            if not lv.lens:
                continue
            # a sorted level: the one table whose range may hold each code (its keys, laid end to end, sorted)
            idx = np.flatnonzero(~done)
            which = np.searchsorted(np.asarray(lv.highs), codes[idx])
            ok = which < len(lv.lens)
            idx, which = idx[ok], which[ok]
            ok = np.asarray(lv.lows)[which] <= codes[idx]
            idx, which = idx[ok], which[ok]
            if not len(idx):
                continue
            keys = np.asarray(lv.keys, dtype=np.int64)
            bits, offset, m_bits = filters(lv.lens, keys)
            probe(idx, bits, offset[which], m_bits[which], keys, np.asarray(lv.seqs, dtype=np.int64))
        checks, skips, false_positives = totals
        return value, reads, considered, checks, skips, false_positives


_MASK64 = (1 << 64) - 1
_SMALL_FILTER = 96  # probes up to which a plain loop fills a filter faster than numpy


def _run_workload_on_codes(settings: WorkloadSettings, style: str, samples: int) -> WorkloadResult:
    """:func:`_run_workload_on_store`'s workload, random draws and measurements, on a :class:`_CodeStore`."""
    s = settings.store.with_style(style)
    rng = np.random.default_rng(settings.seed)
    space, writes = settings.key_space, settings.writes
    picks = rng.integers(0, space, writes)
    deletes = rng.random(writes) < settings.delete_fraction
    signed = np.arange(
        1, writes + 1, dtype=np.int64
    )  # the i-th write is seq i + 1, kept negative for a delete
    signed[deletes] *= -1
    h1 = np.zeros(2 * space, dtype=np.uint64)
    h2 = np.zeros(2 * space, dtype=np.uint64)
    if s.bloom_bits_per_key > 0:
        h1[0::2], h2[0::2] = hash_pairs(f"user:{i:07d}" for i in range(space))
        pairs = list(zip(h1.tolist(), h2.tolist(), strict=True))
    else:
        pairs = []
    store = _CodeStore(s, pairs, h1, h2)
    # the write path: only the memtable changes between flushes, so the loop records each flush (the write
    # it came after, the events' highest peak, the disk and tables after it) and the rest is rebuilt below
    flush_at, flush_peak, flush_disk, flush_tables = [], [], [], []
    peaks, sizes = store.peaks, store.sizes
    limit, mem = store.limit, store.memtable
    for i, (code, seq) in enumerate(zip((2 * picks).tolist(), signed.tolist(), strict=True)):
        mem[code] = seq
        if len(mem) >= limit:
            store.flush()
            mem = store.memtable
            flush_at.append(i)
            flush_peak.append(max(peaks))
            flush_disk.append(sum(sizes))
            flush_tables.append(store.table_count())
            peaks.clear()
    # live keys after each write: a put makes its key live, a delete not, whatever the key was before
    order = np.argsort(picks, kind="stable")
    ordered = picks[order]
    same = ordered[1:] == ordered[:-1]
    was_live = np.zeros(writes, dtype=bool)
    was_live[order[1:][same]] = ~deletes[order[:-1][same]]
    live_after = np.cumsum((~deletes).astype(np.int64) - was_live)
    last = order[np.append(~same, True)]  # each key's last write, by key
    present_keys = picks[last][~deletes[last]].tolist()
    model = dict(
        zip(present_keys, last[~deletes[last]].tolist(), strict=True)
    )  # key -> the write of its live value
    peak_sa = 0.0
    if flush_at:
        n_live = live_after[flush_at]
        if n_live.any():
            peak_sa = max(peak_sa, float((np.asarray(flush_peak)[n_live > 0] / n_live[n_live > 0]).max()))
    every = max(1, writes // max(1, samples))
    at = np.arange(every - 1, writes, every)
    if not len(at) or at[-1] != writes - 1:
        at = np.append(at, writes - 1)
    after = np.searchsorted(np.asarray(flush_at, dtype=np.int64), at, side="right") - 1  # last flush by then
    on_disk = np.where(after >= 0, np.asarray([0, *flush_disk])[after + 1], 0)
    window = np.zeros(len(at), dtype=np.int64)  # the highest event peak since the previous sample
    if flush_at:
        np.maximum.at(window, np.searchsorted(at, flush_at), flush_peak)
    live_at = live_after[at]
    ops, live = (at + 1).tolist(), live_at.tolist()
    disk = np.maximum(window, on_disk).tolist()
    tables = np.asarray([0, *flush_tables])[after + 1].tolist()
    sa_sum, sa_n = 0.0, 0
    for d, n in zip(on_disk.tolist(), live, strict=True):
        if n:
            sa_sum += d / n
            sa_n += 1
    n_present = min(settings.reads // 2, len(present_keys))
    chosen = rng.choice(len(present_keys), n_present, replace=False) if n_present else np.zeros(0, dtype=int)
    present = np.asarray(present_keys, dtype=np.int64)[chosen] if n_present else np.zeros(0, np.int64)
    want = np.asarray([model[k] + 1 for k in present.tolist()], dtype=np.int64)  # the seq of its value
    absent = rng.integers(0, space, settings.reads - n_present)
    codes = np.concatenate((2 * present, 2 * absent + 1)).astype(np.int64)
    want = np.concatenate((want, np.full(len(absent), -1, dtype=np.int64)))
    if s.bloom_bits_per_key > 0 and len(absent):
        odd = np.unique(absent)
        h1[2 * odd + 1], h2[2 * odd + 1] = hash_pairs(f"user:{j:07d}-" for j in odd.tolist())
    value, reads, considered, checks, skips, false_positives = store.read_many(codes, h1[codes], h2[codes])
    n_deletes = int(deletes.sum())
    stats = StoreStats(
        puts=writes - n_deletes,
        deletes=n_deletes,
        gets=len(codes),
        log_records_written=writes,
        flushes=store.flushes,
        entries_flushed=store.entries_flushed,
        compactions=store.compactions,
        entries_compacted_in=store.entries_in,
        entries_compacted_out=store.entries_out,
        overwritten_dropped=store.overwritten,
        tombstones_dropped=store.tombstones_dropped,
        disk_reads=int(reads.sum()),
        bloom_checks=checks,
        bloom_skips=skips,
        false_positives=false_positives,
        crashes=0,
        recoveries=0,
    )
    return WorkloadResult(
        settings=settings,
        compaction=style,
        stats=stats,
        live_keys=len(model),
        disk_entries=sum(sizes),
        levels=store.table_sizes(),
        peak_space_amplification=peak_sa,
        mean_space_amplification=sa_sum / sa_n if sa_n else 0.0,
        series_ops=tuple(ops),
        series_disk=tuple(disk),
        series_live=tuple(live),
        series_tables=tuple(tables),
        reads_present=n_present,
        reads_absent=settings.reads - n_present,
        disk_reads_present=int(reads[:n_present].sum()),
        disk_reads_absent=int(reads[n_present:].sum()),
        tables_considered=int(considered.sum()),
        bloom_skips=skips,
        false_positives=false_positives,
        read_mismatches=int((value != want).sum()),
    )


def compare_styles(
    settings: WorkloadSettings, run: Callable[[WorkloadSettings, str], WorkloadResult] | None = None
) -> tuple[WorkloadResult, ...]:
    """The same workload under every compaction style, in registry order.

    ``run(settings, style)``, when given, stands in for :func:`run_workload` (a cache of it): it is asked
    each style's :meth:`WorkloadSettings.for_style`, so a knob of one style reruns only that style, and
    the answers are given back these ``settings``."""
    if run is None:
        return tuple(run_workload(settings, name) for name in COMPACTION_STYLES)
    return tuple(
        dataclasses.replace(run(settings.for_style(name), name), settings=settings)
        for name in COMPACTION_STYLES
    )


def keys_of(steps: Iterable[StepRecord]) -> tuple[str, ...]:
    """Every key a session names, in first-seen order."""
    return tuple(dict.fromkeys(s.op.key for s in steps if s.op.key is not None))
