"""zipf_hit_ratio against the sum written out as a plain float loop."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdcore.scale.caching import zipf_hit_ratio


def loop_ratio(items: int, s: float, cached: int) -> float:
    top = sum(i**-s for i in range(1, cached + 1))
    total = sum(i**-s for i in range(1, items + 1))
    return top / total


@given(st.integers(1, 400), st.floats(0.0, 2.0), st.data())
def test_equals_the_loop(items, s, data):
    """H(C, s) / H(N, s), term by term."""
    cached = data.draw(st.integers(0, items))
    assert zipf_hit_ratio(items, s, cached) == pytest.approx(
        loop_ratio(items, s, cached), rel=1e-12, abs=1e-15
    )


def test_known_values():
    assert zipf_hit_ratio(10, 0.0, 3) == pytest.approx(0.3)
    assert zipf_hit_ratio(2, 1.0, 1) == pytest.approx(2 / 3)  # 1 / (1 + 1/2)
    assert zipf_hit_ratio(5, 0.99, 0) == 0.0 and zipf_hit_ratio(5, 0.99, 5) == 1.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="cached must be between 0 and items"):
        zipf_hit_ratio(10, 1.0, 11)


def test_the_harmonic_sums_are_kept_and_equal_a_fresh_sum():
    """Each (n, s) is summed once per process; the kept value is the sum itself, whatever type n and s came in."""
    from sdcore.scale.caching import _harmonic, generalized_harmonic

    for n, s in ((1_000_000, 0.99), (10_000, 0.99), (0, 1.0), (5, 0.0), (123_457, 1.7)):
        fresh = _harmonic.__wrapped__(n, s)
        assert generalized_harmonic(n, s) == fresh
        assert generalized_harmonic(float(n), np.float64(s)) == fresh
    assert generalized_harmonic(1_000_000, 0.99) is generalized_harmonic(1_000_000, 0.99)
