"""zipf_hit_ratio against the sum written out as a plain float loop."""

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
