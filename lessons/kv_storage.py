"""Words for the page "Key-value store: one node's storage": parameters, presets, headlines, captions, the
why text (measured against the figures LevelDB, RocksDB and ScyllaDB publish), try-this prompts, references.

Keys and values in a session are limited to ``A-Z a-z 0-9 _ : . -`` by the parser and are always quoted
in code spans here, so a session's words never turn into markdown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lessons.base import Headline, Param, Preset, Reference, num, pct, plural, preset_table
from sdcore.checks import number_text
from sdcore.kvstore.bloom import (
    PUBLISHED_RATES,
    BloomPoint,
    false_positive_rate,
    leveldb_hashes,
    optimal_hashes,
)
from sdcore.kvstore.lsm import (
    COMPACTION_STYLES,
    SCRIPT_COMMANDS,
    ReadTrace,
    ScriptRun,
    StepRecord,
    StoreSettings,
    WorkloadResult,
    WorkloadSettings,
)

TITLE = "Key-value store: one node's storage"
IDEA = (
    "One node has to keep more data than fits in its memory, write it fast, and lose nothing it acknowledged. "
    "A log-structured merge tree does it with an append-only **commit log** (the acknowledgement), a sorted "
    "**memtable** in memory, and immutable sorted **SSTables** on disk that **compaction** merges in the "
    "background. Reads look in the memtable, then in the tables newest first, skipping every table whose "
    "**bloom filter** says the key is not there. Here a real store runs your session step by step, then a "
    "seeded workload measures what each compaction style costs."
)

STYLE_LABELS = {name: s.label for name, s in COMPACTION_STYLES.items()}
BLOOM_SWEEP = tuple(float(b) for b in range(1, 21))
SWEEP_KEYS = 10_000
SWEEP_QUERIES = 50_000

_WRITE_PATH = """# fill the memtable (4 entries) four times: four tables, then one compaction
load 16 user:
get user:0003
put user:0003 moved
get user:0003
get user:0099
load 4 cart:"""
_CRASH = """put cart:1 milk
put cart:2 eggs
put cart:3 bread
crash            # the memtable is gone, the log is not
get cart:1
recover          # replay the log into a new memtable
get cart:1
put cart:4 jam   # the memtable fills: written out, log truncated
get cart:3"""
_TOMBSTONES = """load 4 user:
put user:0002 new
delete user:0001
flush
get user:0001
compact          # nothing older is left outside: the tombstone goes
get user:0001
get user:0002"""
_LEVELED = """load 40 user:
put user:0007 again
get user:0007
get user:0031
get user:0050"""
_NO_BLOOM = """load 24 user:
get user:0002
get user:00025
get zzz"""

PARAMS: tuple[Param, ...] = (
    Param(
        "memtable_limit",
        4,
        lo=2,
        hi=64,
        step=1,
        label="Memtable size (entries)",
        help="A full memtable is written out as one SSTable (its commit log is then dropped).",
    ),
    Param(
        "bloom_bits",
        10.0,
        lo=0.0,
        hi=20.0,
        step=0.5,
        label="Bloom filter bits per key (0 = none)",
        help="Each SSTable's filter gets this many bits per key it holds; LevelDB and RocksDB suggest 10.",
    ),
    Param(
        "compaction",
        "size_tiered",
        options=tuple(COMPACTION_STYLES),
        labels=STYLE_LABELS,
        kind="radio",
        label="Compaction (this session)",
        help="How tables are merged. The workload below runs both.",
    ),
    Param(
        "min_threshold",
        4,
        lo=2,
        hi=8,
        step=1,
        label="Size-tiered: runs per merge",
        help="Merge once this many runs of similar size sit side by side (Cassandra's min_threshold, 4).",
    ),
    Param(
        "fanout",
        10,
        lo=2,
        hi=20,
        step=1,
        label="Leveled: fanout",
        help="Each level holds fanout times the level above (RocksDB's max_bytes_for_level_multiplier, 10).",
    ),
    Param(
        "l0_trigger",
        4,
        lo=1,
        hi=8,
        step=1,
        label="Leveled: L0 tables before a merge",
        help="L0 is merged into L1 once it holds this many tables (level0_file_num_compaction_trigger, 4).",
    ),
    Param(
        "writes",
        6_000,
        lo=1_000,
        hi=40_000,
        step=1_000,
        label="Workload: writes",
        help="Random puts and deletes, the same for both styles.",
    ),
    Param(
        "key_space",
        1_500,
        lo=100,
        hi=20_000,
        step=100,
        label="Workload: distinct keys",
        help="Fewer keys than writes means overwrites: dead versions for compaction to drop.",
    ),
    Param(
        "delete_pct",
        5,
        lo=0,
        hi=50,
        step=1,
        label="Workload: deletes (%)",
        help="The share of writes that are deletes (tombstones).",
    ),
    Param(
        "seed",
        7,
        lo=0,
        hi=2**31 - 1,
        step=1,
        kind="number",
        label="Seed",
        help="Same seed, same workload and the same hashes.",
    ),
    Param(
        "script",
        _WRITE_PATH,
        max_len=4000,
        kind="text_area",
        label="One command per line",
        help="Commands: " + "; ".join(SCRIPT_COMMANDS.values()),
    ),
)
PARAM = {p.name: p for p in PARAMS}

PRESETS: tuple[Preset, ...] = (
    Preset(
        "Write path: fill, flush, compact",
        "A memtable of 4 entries filled four times: four SSTables on "
        "disk, merged into one by size-tiered compaction; an overwrite, and reads traced through the tables.",
        {},
        "flushes, a size-tiered merge, reads skipping tables",
    ),
    Preset(
        "Crash before the flush",
        "Three puts sit in the memtable when the node crashes. The log was synced "
        "before each put was acknowledged, so recovery replays it and nothing acknowledged is lost.",
        {"script": _CRASH},
        "durability from the commit log",
    ),
    Preset(
        "Deletes leave tombstones",
        "A delete is a write: a tombstone that hides the older value. Only a "
        "compaction that leaves no older table outside it may drop the tombstone and the value together.",
        {"script": _TOMBSTONES},
        "tombstones dropped only when safe",
    ),
    Preset(
        "Leveled compaction",
        "The same kind of load under leveled compaction with fanout 3 and L0 merged "
        "after two tables: sorted, non-overlapping levels, at most one table per level to read.",
        {"script": _LEVELED, "compaction": "leveled", "fanout": 3, "l0_trigger": 2},
        "levels and fanout",
    ),
    Preset(
        "No bloom filter: every table is read",
        "Six tables that never merge (8 runs per merge) and no "
        "filters: a read of a key that is not there reads every table whose key range covers it.",
        {"script": _NO_BLOOM, "bloom_bits": 0.0, "min_threshold": 8},
        "what the filters save",
    ),
    Preset(
        "Heavy overwrites: space amplification",
        "20,000 writes over 500 keys with a memtable of 32: "
        "size-tiered keeps many dead versions on disk; leveled rewrites more to keep fewer.",
        {"memtable_limit": 32, "writes": 20_000, "key_space": 500},
        "space vs write amplification",
    ),
)
PRESET_TABLE = preset_table(PRESETS)
DEFAULT_PRESET = PRESETS[0].name


def describe(preset: str) -> str:
    return PRESET_TABLE[preset].description


def settings_from(values: Mapping[str, Any]) -> tuple[StoreSettings, WorkloadSettings, str]:
    """The page's parameter values -> the store's settings, the workload's settings and the session script."""
    store = StoreSettings(
        memtable_limit=int(values["memtable_limit"]),
        bloom_bits_per_key=float(values["bloom_bits"]),
        compaction=values["compaction"],
        min_threshold=int(values["min_threshold"]),
        l0_trigger=int(values["l0_trigger"]),
        fanout=int(values["fanout"]),
    )
    work = WorkloadSettings(
        store,
        writes=int(values["writes"]),
        key_space=int(values["key_space"]),
        delete_fraction=int(values["delete_pct"]) / 100,
        seed=int(values["seed"]),
    )
    return store, work, str(values["script"])


def level_names(compaction: str) -> tuple[str, ...]:
    return ("runs, newest first",) if compaction == "size_tiered" else tuple(f"L{i}" for i in range(12))


def by_style(results: Sequence[WorkloadResult]) -> dict[str, WorkloadResult]:
    return {r.compaction: r for r in results}


# -- headlines ---------------------------------------------------------------------------------------------


def headlines(
    run: ScriptRun, results: Sequence[WorkloadResult], chosen: BloomPoint | None
) -> tuple[Headline, ...]:
    r = by_style(results)
    mine = r[run.settings.compaction]
    other = next(x for x in results if x.compaction != mine.compaction)
    me, them = STYLE_LABELS[mine.compaction].lower(), STYLE_LABELS[other.compaction].lower()
    gets = len(run.gets)
    lost = (
        "none lost"
        if run.reads_matching == gets
        else f"{plural(gets - run.reads_matching, 'read')} differ{'s' if gets - run.reads_matching == 1 else ''}"
    )
    out = [
        Headline(
            "Reads matching a dict",
            f"{run.reads_matching} of {gets}",
            f"{plural(run.acknowledged_writes, 'write')} acknowledged, {lost}",
            "Every get compared with a plain dict holding the acknowledged writes (crashes included).",
        ),
        Headline(
            f"Write amp., {me}",
            f"{mine.write_amplification:.1f}×",
            f"{them}: {other.write_amplification:.1f}×",
            "Entries written to SSTables per entry written by the user, in the workload "
            "(the commit log adds one more write each).",
            "off",
        ),
        Headline(
            f"Space amp., {me}",
            f"{mine.space_amplification:.2f}×",
            f"{them}: {other.space_amplification:.2f}×",
            f"Entries on disk per live key at the end of the workload; the peak during a merge was "
            f"{mine.peak_space_amplification:.2f}× ({them}: {other.peak_space_amplification:.2f}×).",
            "off",
        ),
        Headline(
            f"Disk reads/get, {me}",
            f"{mine.read_amplification:.2f}",
            f"{num(mine.bloom_skips)} reads saved by filters",
            "Half the gets ask for keys that exist, half for keys never written.",
            "off",
        ),
    ]
    if chosen is not None:
        out.append(
            Headline(
                "Bloom false positives",
                pct(chosen.measured, 2),
                f"formula {pct(chosen.expected, 2)} at {number_text(chosen.bits_per_key)} bits/key",
                f"{num(chosen.false_positives)} of {num(chosen.queries)} keys never added said maybe "
                f"(k = {chosen.k_hashes} probes).",
                "off",
            )
        )
    else:
        out.append(
            Headline(
                "Bloom false positives",
                "no filter",
                "every covering table is read",
                "Bits per key 0: no bloom filters.",
                "off",
            )
        )
    return tuple(out)


# -- the step-through --------------------------------------------------------------------------------------


def _op_text(step: StepRecord) -> str:
    op = step.op
    parts = [op.command] + [f"`{x}`" for x in (op.key, op.value) if x is not None]
    return " ".join(parts)


def _event_text(e) -> str:
    ids = ", ".join(f"T{i}" for i in e.inputs)
    outs = ", ".join(f"T{i}" for i in e.outputs) or "nothing"
    if e.kind == "flush":
        return f"memtable flushed to {outs} ({plural(e.entries_out, 'entry', 'entries')}); log truncated"
    if e.kind == "move":
        return f"{ids} moved from L{e.level_from} to L{e.level_to} without a rewrite"
    if e.kind in ("compaction", "major compaction"):
        dropped = []
        if e.overwritten_dropped:
            dropped.append(plural(e.overwritten_dropped, "overwritten version"))
        if e.tombstones_dropped:
            dropped.append(plural(e.tombstones_dropped, "tombstone"))
        kept = (
            f", {plural(e.tombstones_kept, 'tombstone')} kept (older data may exist)"
            if e.tombstones_kept
            else ""
        )
        gone = f", dropped {' and '.join(dropped)}" if dropped else ""
        return (
            f"{e.kind}: {ids} → {outs} ({num(e.entries_in)} entries in, {num(e.entries_out)} out{gone}{kept})"
        )
    return ""


def step_caption(run: ScriptRun, cursor: int) -> str:
    step = run.steps[cursor]
    text = (
        f"**Step {cursor + 1} of {len(run.steps)}** (line {step.op.line}): {_op_text(step)} → {step.outcome}."
    )
    events = [t for t in (_event_text(e) for e in step.events) if t]
    if events:
        text += " Then " + "; ".join(events) + "."
    return text


def trace_for(run: ScriptRun, cursor: int) -> StepRecord | None:
    """The get at the cursor, else the last get before it."""
    for step in reversed(run.steps[: cursor + 1]):
        if step.trace is not None:
            return step
    return None


def trace_caption(step: StepRecord) -> str:
    t: ReadTrace = step.trace  # type: ignore[assignment]
    answer = f"`{t.value}`" if t.found else "not found"
    where = f" from {t.answered_by}" if t.answered_by else ""
    model = "matches" if step.matches_model else "does NOT match"
    skips = (
        f"{plural(t.bloom_skips, 'table')} skipped by the bloom filter" if t.bloom_skips else "no bloom skips"
    )
    fp = f", {plural(t.false_positives, 'false positive')}" if t.false_positives else ""
    return (
        f"get `{t.key}` (step {step.index + 1}): {answer}{where}, after {plural(t.disk_reads, 'disk read')}; "
        f"{skips}{fp}. The answer {model} a dict of the acknowledged writes."
    )


NODE_CAPTION = (
    "Notice what a put touches: one log record and one memtable entry. Only a flush or a compaction "
    "writes a table (orange), and the log empties once the memtable is on disk."
)


def bloom_caption(points: Sequence[BloomPoint]) -> str:
    worst = max(points, key=lambda p: abs(p.measured - p.expected) / (p.standard_error or 1))
    z = abs(worst.measured - worst.expected) / (worst.standard_error or 1)
    return (
        f"Each blue dot is {num(points[0].queries)} keys never added, asked of a filter holding "
        f"{num(points[0].keys)}: the farthest from the formula is {z:.1f} standard errors off, at "
        f"{number_text(worst.bits_per_key)} bits/key. The published points sit on the same curve."
    )


def amplification_caption(results: Sequence[WorkloadResult]) -> str:
    r = by_style(results)
    st, lv = r["size_tiered"], r["leveled"]
    return (
        f"Same {num(st.settings.writes)} writes: leveled rewrote {lv.write_amplification / st.write_amplification:.1f}× "
        f"as much as size-tiered to keep {st.space_amplification / lv.space_amplification:.1f}× less on disk "
        "(the red line: the peak during a merge)."
    )


def space_caption(results: Sequence[WorkloadResult]) -> str:
    st = by_style(results)["size_tiered"]
    return (
        f"The saw-tooth is merges: size-tiered climbs to {st.peak_space_amplification:.2f}× while a big merge "
        "holds its inputs and its output at once, then drops."
    )


# -- why it behaves this way -------------------------------------------------------------------------------


def _levels_text(r: WorkloadResult) -> str:
    if r.compaction == "size_tiered":
        return f"{plural(len(r.levels[0]), 'run')} of {', '.join(num(s) for s in r.levels[0])} entries"
    used = [(i, lv) for i, lv in enumerate(r.levels) if lv]
    return "; ".join(f"L{i}: {plural(len(lv), 'table')}, {num(sum(lv))} entries" for i, lv in used)


def why(run: ScriptRun, results: Sequence[WorkloadResult], points: Sequence[BloomPoint], bits: float) -> str:
    r = by_style(results)
    st, lv = r["size_tiered"], r["leveled"]
    s = st.settings.store
    flushes = max(st.stats.flushes, 1)
    tiers = 1 + math.log(flushes, s.min_threshold) if flushes > 1 else 1.0
    lv_levels = max(lv.levels_in_use - 1, 1)
    ceiling = 1 + s.fanout * lv_levels
    ten = next((p for p in points if p.bits_per_key == 10.0), None)
    k10 = leveldb_hashes(10.0)
    bloom_line = (
        f"At 10 bits per key LevelDB probes k = {k10} times and the formula gives "
        f"{pct(false_positive_rate(10.0, k10), 2)}; measured here: {pct(ten.measured, 2)} "
        f"({num(ten.false_positives)} of {num(ten.queries)})."
        if ten
        else ""
    )
    last = lv.levels[max(i for i, level in enumerate(lv.levels) if level)]
    share_last = sum(last) / max(lv.disk_entries, 1)
    lines = [
        "**The write path is sequential.** A put appends to the commit log and updates the memtable; it is "
        "acknowledged once the log record is synced, so a crash loses the memtable but never an acknowledged "
        f"write: the session's {plural(len(run.gets), 'get')} all match a dict of the acknowledged writes "
        f"({run.reads_matching} of {len(run.gets)}). Tables are only ever written whole and never changed.",
        "",
        "**Bloom filters.** A filter with m bits and k probes, after n keys, says *maybe* to a key it never saw "
        "with probability (1 − e^(−kn/m))^k. "
        + bloom_line
        + " LevelDB's docs: 10 bits per key \"will reduce "
        'the number of unnecessary disk reads needed for Get() calls by a factor of approximately a 100". '
        'RocksDB\'s wiki: "9.9 bits per key (1% false positive rate) is 99% as effective as 100 bits per key" '
        "and 15.5 bits per key gives 0.1%: each extra ~5 bits per key divides the rate by ten, with diminishing "
        "returns. The textbook formula does a little better than RocksDB's figure at 15.5 bits per key "
        f"({pct(false_positive_rate(15.5, optimal_hashes(15.5)), 3)}, not 0.1%): RocksDB keeps each key's "
        "probes inside one CPU cache line, trading a little accuracy for one cache miss per lookup. "
        f"In the workload ({STYLE_LABELS[s.compaction].lower()}), the filters at {number_text(bits)} bits/key "
        f"spared {num(r[s.compaction].bloom_skips)} of {num(r[s.compaction].tables_considered)} table reads.",
        "",
        "**Compaction is the price of sorted immutable files.** RocksDB's wiki (Compaction): tiered "
        '"minimizes write amplification at the cost of read and space amplification"; classic leveled '
        '"minimizes space amplification at the cost of read and write amplification". Its per-level write '
        'amplification "is equal to the fanout in the worst case, but it tends to be less than the fanout in '
        'practice", against 1 per level for tiered.',
        f"- *Size-tiered* ({_levels_text(st)}): each entry is rewritten about once per tier. With "
        f"{num(flushes)} flushes merged {s.min_threshold} at a time that is about 1 + log{s.min_threshold}"
        f"({num(flushes)}) ≈ {tiers:.1f} writes per entry; measured {st.write_amplification:.2f} "
        "(overwrites and deletes shrink the merges). On disk it kept "
        f"{st.space_amplification:.2f}× the live data, {st.peak_space_amplification:.2f}× at the worst "
        "moment of a merge. RocksDB's wiki (Universal Compaction): during a full compaction \"the DB will be "
        "temporarily double the disk space usage\"; ScyllaDB's docs name STCS's \"2x temporary space "
        'amplification", and overwrites add the dead versions each tier still holds.',
        f"- *Leveled* ({_levels_text(lv)}): measured write amplification {lv.write_amplification:.2f}, under "
        f"the worst case of 1 + fanout × levels below L0 = 1 + {s.fanout} × {lv_levels} = {ceiling}. ScyllaDB's "
        'docs: a level-1 table is merged with "about 12" level-2 tables, and LCS has "two times more I/O on '
        f'writes". In return {lv.space_amplification:.2f}× on disk: ScyllaDB promises "at most 10% of space '
        f'will be wasted by obsolete rows" once the last level dominates; here it holds {pct(share_last, 0)} '
        "of the entries.",
        f"- *Reads*: {st.read_amplification:.2f} vs {lv.read_amplification:.2f} disk reads per get. With good "
        "filters most tables are skipped either way, so the read cost shows in the filters' memory and in "
        "range scans (which filters cannot help).",
        "",
        "**Tombstones.** A delete cannot remove anything in an immutable table, so it writes a tombstone. A "
        "compaction may drop it only if no table outside the merge could still hold an older value of the key "
        "(checked by key range and bloom filter); otherwise the deleted value would come back. In the workload "
        f"size-tiered dropped {num(st.stats.tombstones_dropped)} tombstones and leveled "
        f"{num(lv.stats.tombstones_dropped)}.",
    ]
    return "\n".join(lines)


TRY_THIS: tuple[str, ...] = (
    "**Predict, then check.** Pick *Crash before the flush*. How many of the three puts survive the crash? "
    "Step to the `recover` line and look at the log. Then move `crash` after `put cart:4 jam`: what is left "
    "for recovery to replay, and why?",
    "Set bloom bits per key to 0 and pick *No bloom filter*: how many disk reads does `get zzz` cost, and "
    "`get user:00025`? Now 10 bits per key. Which of the two reads still touches the disk, and why can a "
    "filter not help the other?",
    "**Interview question:** why does a tombstone have to outlive the value it deletes? Pick *Deletes leave "
    "tombstones*, remove the `compact` line and add `load 12 x:` after the delete: is the tombstone dropped "
    "when the tables holding it merge, and what would a get return if it were?",
    "Pick *Heavy overwrites*. Predict which style keeps less on disk, and which writes more. Then set the "
    "fanout to 4 and to 20: how does leveled's write amplification move against the fanout × levels ceiling?",
)

REFERENCES: tuple[Reference, ...] = (
    Reference(
        "O'Neil et al. 1996, The log-structured merge-tree", "https://www.cs.umb.edu/~poneil/lsmtree.pdf"
    ),
    Reference(
        "Chang et al. 2006, Bigtable (memtable, SSTables, compactions)",
        "https://research.google/pubs/bigtable-a-distributed-storage-system-for-structured-data/",
    ),
    Reference("LevelDB docs: filters", "https://github.com/google/leveldb/blob/main/doc/index.md#filters"),
    Reference("RocksDB wiki: Bloom filter", "https://github.com/facebook/rocksdb/wiki/RocksDB-Bloom-Filter"),
    Reference("RocksDB wiki: Compaction", "https://github.com/facebook/rocksdb/wiki/Compaction"),
    Reference(
        "RocksDB wiki: Universal compaction", "https://github.com/facebook/rocksdb/wiki/Universal-Compaction"
    ),
    Reference(
        "ScyllaDB docs: choose a compaction strategy",
        "https://docs.scylladb.com/manual/stable/architecture/compaction/compaction-strategies.html",
    ),
    Reference(
        "Kirsch & Mitzenmacher 2006, Less hashing, same performance",
        "https://www.eecs.harvard.edu/~michaelm/postscripts/rsa2008.pdf",
    ),
)

PUBLISHED = PUBLISHED_RATES


# -- exports -----------------------------------------------------------------------------------------------


def step_rows(run: ScriptRun) -> list[dict[str, Any]]:
    return [
        {
            "step": s.index + 1,
            "line": s.op.line,
            "command": s.op.command,
            "key": s.op.key,
            "value": s.op.value,
            "outcome": s.outcome,
            "events": "; ".join(_event_text(e) or e.kind for e in s.events),
            "log records": len(s.snapshot.log),
            "memtable entries": len(s.snapshot.memtable),
            "tables": len(s.snapshot.tables),
            "entries on disk": s.snapshot.disk_entries,
            "disk reads": s.trace.disk_reads if s.trace else None,
            "bloom skips": s.trace.bloom_skips if s.trace else None,
        }
        for s in run.steps
    ]


def workload_rows(results: Sequence[WorkloadResult]) -> list[dict[str, Any]]:
    return [
        {
            "compaction": r.compaction,
            "writes": r.settings.writes,
            "live keys": r.live_keys,
            "entries on disk": r.disk_entries,
            "write amplification": round(r.write_amplification, 4),
            "read amplification": round(r.read_amplification, 4),
            "space amplification": round(r.space_amplification, 4),
            "peak space amplification": round(r.peak_space_amplification, 4),
            "flushes": r.stats.flushes,
            "compactions": r.stats.compactions,
            "tombstones dropped": r.stats.tombstones_dropped,
            "bloom skips": r.bloom_skips,
            "false positives": r.false_positives,
            "read mismatches": r.read_mismatches,
        }
        for r in results
    ]


def bloom_rows(points: Sequence[BloomPoint]) -> list[dict[str, Any]]:
    return [
        {
            "bits per key": p.bits_per_key,
            "k": p.k_hashes,
            "m bits": p.m_bits,
            "keys": p.keys,
            "queries": p.queries,
            "false positives": p.false_positives,
            "measured": p.measured,
            "formula": p.expected,
        }
        for p in points
    ]
