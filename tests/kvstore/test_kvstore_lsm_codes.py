"""run_workload's fast path (the store on integer key codes) gives every number of the store it stands in for."""

import dataclasses

import numpy as np
import pytest

from sdcore.kvstore import lsm


def _settings(seed: int) -> lsm.WorkloadSettings:
    rng = np.random.default_rng(seed)
    store = lsm.StoreSettings(
        memtable_limit=int(rng.choice([1, 2, 3, 4, 7, 16, 40])),
        bloom_bits_per_key=float(rng.choice([0.0, 0.5, 1.0, 3.5, 10.0, 20.0, 32.0])),
        compaction="size_tiered",
        min_threshold=int(rng.integers(2, 9)),
        l0_trigger=int(rng.integers(1, 9)),
        fanout=int(rng.integers(2, 21)),
    )
    return lsm.WorkloadSettings(
        store,
        writes=int(rng.integers(1, 5000)),
        key_space=int(rng.choice([1, 2, 10, 100, 700, 3000])),
        delete_fraction=float(rng.choice([0.0, 0.05, 0.3, 0.9])),
        reads=int(rng.choice([0, 1, 3, 200, 900])),
        seed=int(rng.integers(0, 2**31 - 1)),
    )


def _same(a: lsm.WorkloadResult, b: lsm.WorkloadResult) -> None:
    for field in dataclasses.fields(a):
        assert getattr(a, field.name) == getattr(b, field.name), field.name
        assert type(getattr(a, field.name)) is type(getattr(b, field.name)), field.name
    assert a == b


@pytest.mark.parametrize("style", ["size_tiered", "leveled"])
@pytest.mark.parametrize("seed", range(30))
def test_the_fast_path_matches_the_store_on_random_workloads(seed, style):
    s = _settings(seed)
    _same(lsm.run_workload(s, style), lsm._run_workload_on_store(s, style))


@pytest.mark.parametrize("style", ["size_tiered", "leveled"])
@pytest.mark.parametrize(
    "settings",
    [
        lsm.WorkloadSettings(lsm.StoreSettings(4, 10.0), writes=6000, key_space=1500, seed=7),  # the page's
        lsm.WorkloadSettings(lsm.StoreSettings(32, 10.0), writes=20_000, key_space=500, seed=7),
        lsm.WorkloadSettings(
            lsm.StoreSettings(64, 20.0), writes=8000, key_space=20_000, seed=3
        ),  # big filters
        lsm.WorkloadSettings(lsm.StoreSettings(2, 0.0, "leveled", 8, 1, 2), writes=3000, key_space=300),
        lsm.WorkloadSettings(lsm.StoreSettings(1, 10.0), writes=300, key_space=5, delete_fraction=0.9),
        lsm.WorkloadSettings(writes=1, key_space=1, reads=5),
    ],
)
def test_the_fast_path_matches_the_store_on_the_presets_and_edges(settings, style):
    _same(lsm.run_workload(settings, style), lsm._run_workload_on_store(settings, style))


def test_the_style_argument_and_samples_work_as_before():
    s = lsm.WorkloadSettings(lsm.StoreSettings(5, 4.0, "leveled"), writes=1500, key_space=200, seed=2)
    _same(lsm.run_workload(s), lsm._run_workload_on_store(s))
    _same(lsm.run_workload(s, "size_tiered", samples=7), lsm._run_workload_on_store(s, "size_tiered", 7))
    with pytest.raises(ValueError, match="compaction"):
        lsm.run_workload(s, "tiered")


def test_tier_picking_on_sizes_matches_picking_on_runs():
    rng = np.random.default_rng(0)
    for _ in range(300):
        sizes = [int(x) for x in rng.integers(1, 40, int(rng.integers(0, 12)))]
        p = lsm.SizeTiered(min_threshold=int(rng.integers(2, 5)))
        runs = [lsm.SSTable(i + 1, 0, [f"k{j:03d}" for j in range(n)], [None] * n, list(range(n)), 0.0)
                for i, n in enumerate(sizes)]  # fmt: skip
        assert lsm._pick_tier(runs, p) == lsm._pick_tier_sizes(sizes, p)
