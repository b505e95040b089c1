"""The drills' tight per-second loop gives exactly the numbers of the model as first written
(tests/scale/reference_drills.py, kept verbatim): every field of every run, for many seeded configs."""

import numpy as np
import pytest

from sdcore.scale.architecture import PRACTICE_ORDER, ScaleConfig, analyze
from sdcore.scale.drills import DRILLS, DrillConfig, healthy_run, run_drill
from tests.scale import reference_drills as R

USERS = (1_000, 10_000, 200_000, 1_000_000, 5_000_000, 20_000_000, 100_000_000)


def _same_run(new, old) -> None:
    for name in ("times", "offered", "goodput", "errors", "latency", "queued_jobs"):
        a, b = getattr(new, name), getattr(old, name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        assert np.array_equal(a, b, equal_nan=True), name
        assert not a.flags.writeable, name
    assert list(new.utilization) == list(old.utilization)
    for tier, u in new.utilization.items():
        assert u.dtype == old.utilization[tier].dtype
        assert np.array_equal(u, old.utilization[tier], equal_nan=True), tier
        assert not u.flags.writeable, tier
    assert [vars(e) for e in new.events] == [vars(e) for e in old.events]
    assert new.sessions_lost == old.sessions_lost
    assert new.writes_lost == old.writes_lost


def _random_case(rng: np.random.Generator):
    practices = frozenset(p for p in PRACTICE_ORDER if rng.random() < 0.6)
    config = ScaleConfig(
        users=int(rng.choice(USERS)),
        requests_per_user=float(rng.choice([5.0, 50.0, 200.0])),
        read_write_ratio=float(rng.choice([1.0, 10.0, 50.0])),
        static_share=float(rng.choice([0.0, 0.5, 0.8])),
        peak_factor=float(rng.choice([1.0, 3.0, 8.0])),
        practices=practices,
        target_utilization=float(rng.choice([0.3, 0.6, 0.9])),
        items=int(rng.choice([10_000, 100_000])),
        cache_share=float(rng.choice([0.001, 0.01, 0.2])),
        data_centers=int(rng.integers(2, 5)),
        autoscale_delay=float(rng.choice([30.0, 180.0, 600.0])),
        replication_lag=float(rng.choice([0.0, 1.0, 5.0])),
        seed=int(rng.integers(0, 1000)),
    )
    duration = int(rng.choice([60, 300, 600, 900]))
    drill = DrillConfig(
        drill=str(rng.choice(list(DRILLS))),
        duration=duration,
        start=int(rng.integers(0, duration)),
        seed=int(rng.integers(0, 10_000)),
    )
    return analyze(config), drill


@pytest.mark.parametrize("seed", range(60))
def test_the_tight_loop_gives_the_reference_numbers(seed):
    arch, drill = _random_case(np.random.default_rng(seed))
    new, old = run_drill(arch, drill), R.run_drill(arch, R.DrillConfig(**vars(drill)))
    _same_run(new.after, old.after)
    _same_run(new.before, old.before)
    _same_run(healthy_run(arch, drill), old.before)


@pytest.mark.parametrize("name", list(DRILLS))
@pytest.mark.parametrize(
    "users, practices",
    [
        (1_000, frozenset()),
        (1_000_000, frozenset({"redundancy", "caching", "cdn", "stateless", "automation"})),
        (100_000_000, frozenset(PRACTICE_ORDER)),
        (100_000_000, frozenset(PRACTICE_ORDER) - {"services"}),
        (50_000_000, frozenset({"redundancy", "caching"})),  # overloaded: errors, full queues
    ],
)
def test_every_drill_of_the_presets_and_of_an_overload_matches_the_reference(name, users, practices):
    arch = analyze(ScaleConfig(users=users, practices=practices))
    drill = DrillConfig(drill=name, duration=600, start=120)
    new, old = run_drill(arch, drill), R.run_drill(arch, R.DrillConfig(**vars(drill)))
    _same_run(new.after, old.after)
    _same_run(new.before, old.before)
