"""The workload's fast path keeps each leveled level as one sorted run: every number still equals the store's.

The page's sliders reach memtables of 2 entries and 40,000 writes: those extremes (tens of thousands of small
merges, tables moved down without a rewrite, tombstones dropped at the deepest level) are compared with the
string-keyed LSMStore here, beside random workloads from hypothesis."""

import bisect
import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdcore.kvstore import lsm


def _same(a: lsm.WorkloadResult, b: lsm.WorkloadResult) -> None:
    for field in dataclasses.fields(a):
        assert getattr(a, field.name) == getattr(b, field.name), field.name
        assert type(getattr(a, field.name)) is type(getattr(b, field.name)), field.name
    assert a == b


def _work(memtable, writes, key_space, deletes=0.05, bits=10.0, min_threshold=4, l0=4, fanout=10, seed=7):
    store = lsm.StoreSettings(memtable, bits, "size_tiered", min_threshold, l0, fanout)
    return lsm.WorkloadSettings(store, writes=writes, key_space=key_space, delete_fraction=deletes, seed=seed)


@pytest.mark.parametrize("style", ["size_tiered", "leveled"])
@pytest.mark.parametrize(
    "work",
    [
        _work(2, 40_000, 1_500),  # the memtable's minimum and the writes' maximum, the page's other defaults
        _work(64, 40_000, 20_000, deletes=0.5, bits=20.0, min_threshold=2, l0=1, fanout=2),
        _work(2, 40_000, 100, deletes=0.5, bits=0.0, min_threshold=8, l0=8, fanout=20),
    ],
    ids=["memtable-2", "big-tables-many-deletes", "few-keys-no-filter"],
)
def test_the_fast_path_matches_the_store_at_the_sliders_extremes(work, style):
    _same(lsm.run_workload(work, style), lsm._run_workload_on_store(work, style))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    memtable=st.sampled_from([1, 2, 3, 4, 9, 64]),
    writes=st.integers(1, 4_000),
    key_space=st.sampled_from([1, 3, 50, 400, 3_000, 20_000]),
    deletes=st.sampled_from([0.0, 0.05, 0.5, 0.9]),
    bits=st.sampled_from([0.0, 1.0, 10.0, 20.0]),
    l0=st.integers(1, 8),
    fanout=st.integers(2, 20),
    min_threshold=st.integers(2, 8),
    seed=st.integers(0, 2**31 - 1),
    style=st.sampled_from(["size_tiered", "leveled"]),
)
def test_the_fast_path_matches_the_store_on_hypothesis_workloads(
    memtable, writes, key_space, deletes, bits, l0, fanout, min_threshold, seed, style
):
    work = _work(memtable, writes, key_space, deletes, bits, min_threshold, l0, fanout, seed)
    _same(lsm.run_workload(work, style), lsm._run_workload_on_store(work, style))


def test_a_level_stays_one_sorted_run_of_its_tables():
    work = _work(3, 6_000, 700, deletes=0.2, l0=2, fanout=3)
    s = work.store.with_style("leveled")
    store = lsm._CodeStore(s, [], np.zeros(1, np.uint64), np.zeros(1, np.uint64))
    store.k = 0  # no filters: the run and its tables are what is checked
    rng = np.random.default_rng(1)
    for seq, code in enumerate((2 * rng.integers(0, work.key_space, work.writes)).tolist(), start=1):
        store.memtable[code] = -seq if rng.random() < work.delete_fraction else seq
        if len(store.memtable) >= store.limit:
            store.flush()
            for n, lv in enumerate(store.sorted_levels[1:], start=1):
                assert lv.keys == sorted(set(lv.keys)) and len(lv.seqs) == len(lv.keys) == store.sizes[n]
                assert sum(lv.lens) == len(lv.keys) and all(0 < x <= store.table_entries for x in lv.lens)
                assert len(lv.lows) == len(lv.highs) == len(lv.lens) == len(lv.bits)
                at = 0
                for lo, hi, size in zip(lv.lows, lv.highs, lv.lens, strict=True):
                    assert lv.keys[at] == lo and lv.keys[at + size - 1] == hi
                    at += size
    assert store.compactions > 100 and sum(store.sizes) == sum(map(sum, store.table_sizes()))


@settings(max_examples=200, deadline=None)
@given(
    base=st.lists(st.integers(0, 60), unique=True).map(sorted),
    new=st.lists(st.integers(0, 60), unique=True).map(sorted),
)
def test_overlay_equals_a_dict_merge(base, new):
    keys, seqs = list(base), [-(k + 1) for k in base]
    new_seqs = [1000 + k for k in new]
    lsm._overlay(keys, seqs, new, new_seqs)
    newest = dict(zip(base, [-(k + 1) for k in base], strict=True)) | dict(zip(new, new_seqs, strict=True))
    assert keys == sorted(newest) and seqs == [newest[k] for k in keys]
    assert all(bisect.bisect_left(keys, k) == keys.index(k) for k in new)
