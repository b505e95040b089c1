"""Resurrection: a delete survives exactly when repair meets the replica that missed it before the tombstones
are purged — the simulation (with Merkle repair) against that closed form, over a grid of schedules."""

from __future__ import annotations

import pytest

from sdcore.kvstore.tombstones import (
    DELETED,
    DOWN,
    LIVE,
    TombstoneScenario,
    safe_gc_grace,
    simulate_tombstones,
)


@pytest.mark.parametrize("repair_every", [1, 3, 7, 10])
@pytest.mark.parametrize("down_days", [1, 4, 9, 15])
def test_resurrection_happens_exactly_below_the_safe_gc_grace(repair_every, down_days):
    for gc_grace in range(0, 25, 3):
        s = TombstoneScenario(gc_grace=gc_grace, repair_every=repair_every, down_days=down_days, horizon=60)
        r = simulate_tombstones(s)
        assert r.safe_gc_grace == safe_gc_grace(s)
        assert r.resurrected == (gc_grace < r.safe_gc_grace), (gc_grace, r.events)


def test_the_default_keeps_the_delete_and_a_long_outage_undoes_it():
    kept = simulate_tombstones(TombstoneScenario())
    assert not kept.resurrected and (kept.holds[-1] != LIVE).all()
    back = simulate_tombstones(TombstoneScenario(down_days=12))
    assert back.resurrected and back.resurrected_on == 14
    assert (back.holds[-1] == LIVE).all()  # every replica serves the deleted key again
    assert back.holds[5, 2] == DOWN and back.holds[5, 0] == DELETED


def test_bad_parameters_say_what_is_allowed():
    with pytest.raises(ValueError, match=r"repair_every must be between 1 and 365 \(got repair_every=0\)"):
        TombstoneScenario(repair_every=0)
    with pytest.raises(ValueError, match=r"gc_grace must be between 0 and 365"):
        TombstoneScenario(gc_grace=-1)
