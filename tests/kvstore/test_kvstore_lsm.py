"""The LSM store against a plain dict: every read equals the model through puts, deletes, flushes,
compactions, crashes and recoveries; compaction drops overwritten values, and tombstones only when safe."""

import re

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from sdcore.kvstore.lsm import (
    FALSE_POSITIVE,
    NO_FILTER,
    LSMStore,
    StoreSettings,
    WorkloadSettings,
    compare_styles,
    parse_script,
    run_script,
)

KEYS = st.sampled_from([f"k{i:02d}" for i in range(12)])
VALUES = st.text(alphabet="abcxyz", min_size=1, max_size=4)


class StoreAgainstDict(RuleBasedStateMachine):
    """Invariants: a get returns exactly what a dict of the acknowledged writes holds; nothing acknowledged is
    lost by a crash once the log is replayed; leveled levels below L0 are sorted and never overlap; size-tiered
    runs never overlap in time (newest first), so the first hit on the read path is the newest version."""

    compaction = "size_tiered"

    def __init__(self):
        super().__init__()
        self.model: dict[str, str] = {}
        self.store: LSMStore | None = None

    @precondition(lambda self: self.store is None)
    @rule(limit=st.integers(1, 4), bits=st.sampled_from([0.0, 2.0, 10.0]), knob=st.integers(2, 4))
    def start(self, limit, bits, knob):
        extra = (
            {"min_threshold": knob}
            if self.compaction == "size_tiered"
            else {"fanout": knob, "l0_trigger": knob - 1}
        )
        self.store = LSMStore(limit, bits, self.compaction, **extra)

    @precondition(lambda self: self.store is not None and not self.store.down)
    @rule(key=KEYS, value=VALUES)
    def put(self, key, value):
        self.store.put(key, value)  # returns once acknowledged
        self.model[key] = value

    @precondition(lambda self: self.store is not None and not self.store.down)
    @rule(key=KEYS)
    def delete(self, key):
        self.store.delete(key)
        self.model.pop(key, None)

    @precondition(lambda self: self.store is not None and not self.store.down)
    @rule(key=KEYS)
    def get(self, key):
        trace = self.store.get_traced(key)
        assert trace.value == self.model.get(key)
        assert trace.disk_reads == sum(s.disk_read for s in trace.steps)

    @precondition(lambda self: self.store is not None and not self.store.down)
    @rule()
    def flush(self):
        self.store.flush()
        assert not self.store.commit_log and not self.store.memtable

    @precondition(lambda self: self.store is not None and not self.store.down)
    @rule()
    def compact(self):
        self.store.compact()
        tables = self.store.tables
        assert len(tables) <= 1 or self.compaction == "leveled"
        assert all(v is not None for t in tables for v in t.values)  # nothing older left: no tombstone kept
        assert self.store.disk_entries == len({k for t in tables for k in t.keys})

    @precondition(lambda self: self.store is not None)
    @rule()
    def crash(self):
        self.store.crash()
        with pytest.raises(ValueError, match="recover"):
            self.store.get("k00")

    @precondition(lambda self: self.store is not None and self.store.down)
    @rule()
    def recover(self):
        self.store.recover()
        for key in [f"k{i:02d}" for i in range(12)]:
            assert self.store.get(key) == self.model.get(key)

    @invariant()
    def shape(self):
        if self.store is None:
            return
        levels = self.store.levels
        if self.compaction == "leveled":
            for level in levels[1:]:
                for a, b in zip(level, level[1:], strict=False):
                    assert a.max_key < b.min_key
        else:
            runs = levels[0]
            for newer, older in zip(runs, runs[1:], strict=False):
                assert min(newer.seqs) > max(older.seqs)
        assert len(self.store.memtable) < self.store.memtable_limit or self.store.memtable_limit == 1
        assert self.store.disk_entries == sum(len(t) for t in self.store.tables)


class LeveledAgainstDict(StoreAgainstDict):
    compaction = "leveled"


TestSizeTiered = StoreAgainstDict.TestCase
TestLeveled = LeveledAgainstDict.TestCase
TestSizeTiered.settings = settings(max_examples=40, stateful_step_count=50, deadline=None)
TestLeveled.settings = settings(max_examples=40, stateful_step_count=50, deadline=None)


def test_compaction_drops_overwritten_values():
    """Ten versions of each of 8 keys spread over many tables: after a major compaction, one entry per key."""
    db = LSMStore(4, compaction="size_tiered", min_threshold=64)
    for round_ in range(10):
        for i in range(8):
            db.put(f"k{i}", f"v{round_}")
    assert db.disk_entries == 80
    db.compact()
    assert db.disk_entries == 8 and len(db.tables) == 1
    assert db.get("k3") == "v9"
    assert db.stats().overwritten_dropped == 72


def test_a_tombstone_stays_while_an_older_table_may_hold_the_value():
    """Merging the two newest runs must keep the tombstone for `a`: the oldest run, outside the merge, still
    holds a value for `a` that would come back. Only the major compaction may drop both."""
    db = LSMStore(8, 10.0, "size_tiered", min_threshold=2)
    for i in range(8):
        db.put(f"{'a' if i == 0 else 'k'}{i}", "old")  # the 8th put flushes T1 with 8 entries
    (t1,) = db.tables
    assert "a0" in t1.keys
    db.delete("a0")
    db.flush()
    db.put("k9", "new")
    db.flush()  # two 1-entry runs: similar sizes, merged; T1 (8 entries) is not in the merge
    merge = [e for e in db.events if e.kind == "compaction"][-1]
    assert t1.table_id not in merge.inputs and merge.tombstones_kept == 1 and merge.tombstones_dropped == 0
    assert db.get("a0") is None
    db.compact()
    assert db.get("a0") is None
    assert all("a0" not in t.keys for t in db.tables)
    assert db.events[-1].tombstones_dropped == 1


def test_leveled_drops_a_tombstone_only_at_the_bottom():
    db = LSMStore(2, 10.0, "leveled", l0_trigger=1, fanout=2)
    for i in range(40):
        db.put(f"k{i:02d}", "v")
    deepest = max(i for i, level in enumerate(db.levels) if level)
    assert deepest >= 2
    db.delete("k05")
    db.put("zz", "v")  # the flush pushes the tombstone into L1; k05's value still lives deeper
    kept = [e for e in db.events if e.tombstones_kept]
    assert kept and db.get("k05") is None
    db.compact()
    assert db.get("k05") is None and db.stats().tombstones_dropped >= 1


def test_crash_loses_only_the_memtable_and_recovery_replays_the_log():
    db = LSMStore(4)
    for i in range(6):
        db.put(f"k{i}", str(i))  # k0..k3 flushed, k4 and k5 in the memtable and the log
    assert [r.key for r in db.commit_log] == ["k4", "k5"]
    assert db.crash() == 2
    with pytest.raises(ValueError, match="recover"):
        db.put("k9", "x")
    assert db.recover() == 2
    assert [db.get(f"k{i}") for i in range(6)] == [str(i) for i in range(6)]


def test_bloom_filters_skip_tables_and_no_filter_reads_every_covering_one():
    def build(bits):
        db = LSMStore(4, bits, "size_tiered", min_threshold=64)
        for i in range(24):
            db.put(f"k{i:03d}", "v")
        return db

    filtered, bare = build(10.0), build(0.0)
    # "k0005" sorts inside the first table's range (k000..k003): only its range can rule a table out
    t_bare = bare.get_traced("k0005")
    assert t_bare.disk_reads == 1 and t_bare.steps[-1].outcome == NO_FILTER
    t = filtered.get_traced("k0005")
    assert t.disk_reads == (t.steps[-1].outcome == FALSE_POSITIVE)
    assert t.bloom_skips + t.false_positives == 1 and t.tables_considered == 1
    stats = filtered.stats()
    assert stats.bloom_checks == stats.bloom_skips + stats.disk_reads


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"memtable_limit": 0}, "memtable_limit must be between 1 and"),
        ({"memtable_limit": 4, "compaction": "btree"}, "compaction must be one of size_tiered, leveled"),
        ({"memtable_limit": 4, "fanout": 3}, "fanout is not a parameter of size_tiered compaction"),
        (
            {"memtable_limit": 4, "compaction": "leveled", "min_threshold": 3},
            "min_threshold is not a parameter",
        ),
        ({"memtable_limit": 4, "bloom_bits_per_key": 40}, "bloom_bits_per_key must be between 0 and 32"),
        ({"memtable_limit": 4, "min_threshold": 1}, "min_threshold must be between 2 and 64"),
        ({"memtable_limit": 4, "compaction": "leveled", "fanout": 1}, "fanout must be between 2 and 100"),
    ],
)
def test_bad_parameters_say_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LSMStore(**kwargs)


def test_keys_and_values_are_checked():
    db = LSMStore(4)
    with pytest.raises(ValueError, match="key must be a string of 1 to 256"):
        db.put("", "x")
    with pytest.raises(ValueError, match="value must be a string"):
        db.put("a", None)


def test_script_parsing_names_the_line_and_bounds_the_input():
    ops = parse_script("load 3 u:\n# a comment\nget u:0002  # trailing\ncrash\nrecover")
    assert [(o.command, o.key, o.value) for o in ops[:3]] == [
        ("put", "u:0001", "v1"),
        ("put", "u:0002", "v2"),
        ("put", "u:0003", "v3"),
    ]
    assert [o.line for o in ops] == [1, 1, 1, 3, 4, 5]
    for text, message in [
        ("put a", "line 1: write it as 'put KEY VALUE'"),
        ("get a\nfrob x", "line 2: unknown command 'frob'"),
        ("put a <b>", "line 1: '?b?' must be 1 to 32 of"),
        ("load 5000", "load COUNT must be a whole number from 1 to 1000"),
        ("\n".join(["flush"] * 201), "at most 200 lines"),
        ("\n".join(["load 1000"] * 3), "more than 2000 operations"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_script(text)


def test_a_session_refuses_work_while_down_and_matches_the_model():
    run = run_script(
        "put a 1\nput b 2\ncrash\nget a\nput c 3\nrecover\nget a\nget c", StoreSettings(memtable_limit=4)
    )
    outcomes = [s.outcome for s in run.steps]
    assert outcomes[3].startswith("refused") and outcomes[4].startswith("refused")
    assert run.acknowledged_writes == 2 and run.refused == 2
    assert [s.trace.value for s in run.gets] == ["1", None]
    assert run.reads_matching == len(run.gets) == 2


def test_workload_amplification_orders_as_the_documentation_says():
    """Tiered writes less and keeps more on disk; leveled the reverse (RocksDB wiki, ScyllaDB docs). Every
    read agrees with a dict of the same writes; write amplification is recomputed from the events."""
    work = WorkloadSettings(
        StoreSettings(memtable_limit=8, fanout=4), writes=6000, key_space=1000, reads=600, seed=1
    )
    tiered, leveled = compare_styles(work)
    assert tiered.read_mismatches == leveled.read_mismatches == 0
    assert tiered.write_amplification < leveled.write_amplification
    assert tiered.space_amplification > leveled.space_amplification
    for r in (tiered, leveled):
        written = r.stats.entries_flushed + r.stats.entries_compacted_out
        assert r.write_amplification == pytest.approx(written / r.settings.writes)
        assert r.write_amplification >= 1
        assert r.peak_space_amplification >= 1
        assert r.disk_entries >= r.live_keys
        assert r.reads_present + r.reads_absent == 600
        assert (
            r.tables_considered
            >= r.bloom_skips + r.disk_reads_present + r.disk_reads_absent - r.reads_present
        )
    work_bare = WorkloadSettings(
        StoreSettings(memtable_limit=8, bloom_bits_per_key=0.0), writes=3000, key_space=500, reads=400
    )
    bare, _ = compare_styles(work_bare)
    assert bare.bloom_skips == 0
    assert (
        bare.disk_reads_absent + bare.disk_reads_present == bare.tables_considered - 0
    )  # reads every candidate
