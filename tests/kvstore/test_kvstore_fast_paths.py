"""The fast paths of the storage and repair engines give the numbers of the plain ones they stand in for."""

import math

import mmh3
import numpy as np
import pytest

from sdcore.kvstore import lsm, merkle
from sdcore.kvstore.bloom import BloomFilter, leveldb_hashes


class ReferenceStore(lsm.LSMStore):
    """The store with its merge as first written: per key, the version with the highest sequence number."""

    def _merge(self, inputs, older, level, kind, level_from):
        newest = {}
        entries_in = 0
        for table in inputs:
            entries_in += len(table)
            for key, value, seq in zip(table.keys, table.values, table.seqs, strict=True):
                have = newest.get(key)
                if have is None or seq > have[0]:
                    newest[key] = (seq, value)
        keys, values, seqs = [], [], []
        dropped = kept = 0
        for key in sorted(newest):
            seq, value = newest[key]
            if value is None:
                if not older(key):
                    dropped += 1
                    continue
                kept += 1
            keys.append(key)
            values.append(value)
            seqs.append(seq)
        size = self._table_entries if (isinstance(self.policy, lsm.Leveled) and level > 0) else len(keys)
        outputs = [
            self._new_table(level, keys[i : i + size], values[i : i + size], seqs[i : i + size])
            for i in range(0, len(keys), max(size, 1))
        ]
        out = len(keys)
        peak = self.disk_entries + out
        for name, n in (
            ("compactions", 1),
            ("entries_compacted_in", entries_in),
            ("entries_compacted_out", out),
            ("overwritten_dropped", entries_in - len(newest)),
            ("tombstones_dropped", dropped),
        ):
            self._n[name] += n
        self.events.append(
            lsm.StoreEvent(
                self._seq,
                kind,
                inputs=tuple(t.table_id for t in inputs),
                outputs=tuple(t.table_id for t in outputs),
                level_from=level_from,
                level_to=level,
                entries_in=entries_in,
                entries_out=out,
                overwritten_dropped=entries_in - len(newest),
                tombstones_dropped=dropped,
                tombstones_kept=kept,
                disk_entries_peak=peak,
            )
        )
        return outputs


def _stores(seed: int):
    rng = np.random.default_rng(seed)
    style = ("size_tiered", "leveled")[seed % 2]
    kw = {"min_threshold": int(rng.integers(2, 6))} if style == "size_tiered" else {
        "fanout": int(rng.integers(2, 8)), "l0_trigger": int(rng.integers(1, 5))}  # fmt: skip
    limit, bits = int(rng.integers(1, 12)), float(rng.choice([0.0, 0.5, 3.0, 10.0]))
    return rng, lsm.LSMStore(limit, bits, style, **kw), ReferenceStore(limit, bits, style, **kw)


@pytest.mark.parametrize("seed", range(12))
def test_store_matches_the_reference_merge_and_the_traced_reads(seed):
    rng, fast, ref = _stores(seed)
    keys = [f"k{i:03d}" for i in range(int(rng.integers(5, 200)))]
    for i in range(int(rng.integers(50, 1500))):
        key = keys[int(rng.integers(len(keys)))]
        if rng.random() < 0.15:
            fast.delete(key), ref.delete(key)
        else:
            fast.put(key, f"v{i}"), ref.put(key, f"v{i}")
        if rng.random() < 0.01:
            assert fast.compact() == ref.compact()
    assert fast.events == ref.events
    assert fast.stats() == ref.stats()
    assert fast.snapshot() == ref.snapshot()
    for key in [*keys, "a", "zzz", "k050-"]:  # a counted get takes the traced get's steps and counts
        value, reads, considered = fast._get_counted(key)
        trace = ref.get_traced(key)
        assert (value, reads, considered) == (trace.value, trace.disk_reads, trace.tables_considered)
        assert fast.stats() == lsm.dataclasses.replace(ref.stats())


def test_for_style_and_compare_styles_with_a_runner_give_the_same_results():
    s = lsm.WorkloadSettings(
        lsm.StoreSettings(6, 5.0, "leveled", 3, 2, 4), writes=2500, key_space=400, seed=5
    )
    assert lsm.compare_styles(s, lsm.run_workload) == lsm.compare_styles(s)
    t = s.for_style("size_tiered")
    assert (t.store.compaction, t.store.min_threshold, t.store.fanout, t.store.l0_trigger) == (
        "size_tiered",
        3,
        10,
        4,
    )
    assert s.for_style("leveled").store == lsm.StoreSettings(6, 5.0, "leveled", 4, 2, 4)


@pytest.mark.parametrize("n", [1, 4, 40, 400, 3000])
def test_bloom_from_pairs_sets_the_bits_add_sets(n):
    keys = [f"key:{i}" for i in range(n)]
    for bits in (0.5, 3.0, 10.0):
        plain = BloomFilter.for_bits_per_key(n, bits)
        plain.add_many(keys)
        fast = BloomFilter.from_pairs(
            max(64, math.ceil(n * bits)),
            leveldb_hashes(bits),
            [mmh3.hash64(k, 0, signed=False) for k in keys],
        )
        assert bytes(fast._bits) == bytes(plain._bits) and fast.count == plain.count
        probe = [f"absent:{i}" for i in range(500)] + keys[:50]
        expected = [all(plain._bits[p] for p in plain._probes(k)) for k in probe]
        assert plain.contains_many(probe).tolist() == expected
        assert [fast.contains_pair(*mmh3.hash64(k, 0, signed=False)) for k in probe] == expected


@pytest.mark.parametrize("seed", range(4))
def test_repair_shortcuts_keep_every_answer(seed):
    c = merkle.RepairConfig(
        keys=500 + 300 * seed, changed=3 * seed, missing=seed, depth=2 + 3 * seed, seed=seed
    )
    run = merkle.run_repair(c)
    a, b = merkle.divergent_replicas(c.keys, c.changed, c.missing, c.seed)
    assert run.tree_a.root == merkle.MerkleTree(a, c.depth).root
    assert run.tree_b.root == merkle.MerkleTree(b, c.depth).root
    for ae in run.sweep:
        built = (
            merkle.MerkleTree(ae.repaired_a, ae.depth).root == merkle.MerkleTree(ae.repaired_b, ae.depth).root
        )
        assert ae.roots_equal_after == (ae.diff.equal or built)
    # a repair that leaves a difference (a resolver that keeps each side's own value) builds the trees
    ae = merkle.anti_entropy(a, b, c.depth, resolve=lambda x, y: x)
    assert ae.roots_equal_after == (ae.diff.equal or dict(ae.repaired_a) == dict(ae.repaired_b))
