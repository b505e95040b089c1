"""Re-sharding theory and the migration timeline."""

import math

import numpy as np
import pytest

from sdcore.sharding import expected_fraction, migration, moved_slot_ranges


def test_expected_fractions():
    for s in range(1, 20):
        assert expected_fraction("modulo", s, s + 1) == pytest.approx(s / (s + 1))
        assert expected_fraction("ring", s, s + 1) == pytest.approx(1 / (s + 1))
        assert expected_fraction("slots", s + 1, s) == pytest.approx(1 / (s + 1))
    assert expected_fraction("modulo", 8, 16) == 0.5
    assert expected_fraction("modulo", 6, 9) == pytest.approx(1 - 6 / math.lcm(6, 9))
    assert expected_fraction("range", 4, 6) == 0.25 and expected_fraction("range", 4, 9) is None
    assert expected_fraction("directory", 5, 5) == 0.0


def test_migration_timeline_adds_up():
    m = migration(10e9, 0.1, 100.0, 4000.0, write_bytes=100)
    names = [s.name for s in m.steps]
    assert names == ["Copy", "Catch up", "Verify", "Switch reads", "Switch writes", "Clean up"]
    assert m.copy_s == pytest.approx(100.0)
    rho = 4000 * 0.1 * 100 / 1e6 / 100.0
    assert m.steps[1].duration_s == pytest.approx(100.0 * rho / (1 - rho))
    for a, b in zip(m.steps, m.steps[1:], strict=False):
        assert b.start_s == pytest.approx(a.end_s)
    assert m.total_s == pytest.approx(sum(s.duration_s for s in m.steps)) and m.converges


def test_writes_faster_than_the_network_never_catch_up():
    m = migration(1e9, 1.0, 1.0, 20_000.0, write_bytes=100)  # 2 MB/s of writes into a 1 MB/s pipe
    assert not m.converges and math.isinf(m.total_s)


def test_nothing_to_move_no_steps():
    assert migration(0, 0.0, 100.0, 1000.0).steps == ()


def test_moved_slot_ranges():
    before = np.array([0, 0, 0, 1, 1, 1])
    after = np.array([0, 2, 2, 1, 2, 1])
    assert moved_slot_ranges(before, after) == [(1, 2, 0, 2), (4, 4, 1, 2)]


def test_bad_migration_parameters():
    with pytest.raises(ValueError, match="network_mb_per_s must be a finite number greater than 0 MB/s"):
        migration(1e9, 0.5, 0.0, 10.0)
