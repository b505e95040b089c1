"""A CDN's request hit ratio against its byte hit ratio, checked against the exact Zipf sums."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.scale.caching import cdn_hit_ratios, static_asset_sizes, zipf_hit_ratio


@pytest.mark.parametrize("policy", ["hottest", "density"])
def test_equal_sizes_make_both_ratios_the_zipf_hit_ratio(policy):
    """With every object the same size both policies keep the hottest k, and requests = bytes = H(k)/H(n)."""
    sizes = np.full(5000, 10_000.0)
    r = cdn_hit_ratios(sizes, 0.9, 250 * 10_000, policy)
    assert r.cached_objects == 250
    assert r.request_hit_ratio == pytest.approx(zipf_hit_ratio(5000, 0.9, 250), rel=1e-12)
    assert r.byte_hit_ratio == pytest.approx(r.request_hit_ratio, rel=1e-12)


def test_size_aware_cache_wins_requests_and_loses_bytes():
    """Log-normal sizes: keeping the most requests per byte gives a higher request hit ratio than keeping the
    hottest, and a byte hit ratio below its own request hit ratio."""
    sizes = static_asset_sizes(20_000, 40_000, 1.2, seed=0)
    density = cdn_hit_ratios(sizes, 0.9, 3e8, "density")
    hottest = cdn_hit_ratios(sizes, 0.9, 3e8, "hottest")
    assert density.request_hit_ratio > hottest.request_hit_ratio
    assert density.byte_hit_ratio < density.request_hit_ratio - 0.1
    weights = np.arange(1, 20_001, dtype=float) ** -0.9
    assert density.mean_request_bytes == pytest.approx(float(np.dot(weights, sizes) / weights.sum()))


@given(
    st.integers(0, 2**32 - 1),
    st.floats(0, 2),
    st.lists(st.floats(0, 2e9), min_size=2, max_size=4).map(sorted),
)
@settings(max_examples=40)
def test_more_cache_never_hits_less(seed, exponent, capacities):
    """The cached set is a prefix of one fixed order, so both ratios grow with the cache and stay in [0, 1]."""
    sizes = static_asset_sizes(500, 40_000, 1.0, seed=seed)
    for policy in ("hottest", "density"):
        rs = [cdn_hit_ratios(sizes, exponent, c, policy) for c in capacities]
        for a, b in zip(rs, rs[1:], strict=False):
            assert a.request_hit_ratio <= b.request_hit_ratio + 1e-12
            assert a.byte_hit_ratio <= b.byte_hit_ratio + 1e-12
        assert all(0 <= r.request_hit_ratio <= 1 and 0 <= r.byte_hit_ratio <= 1 for r in rs)


def test_bad_parameters_name_themselves():
    with pytest.raises(ValueError, match="sizes_bytes must be"):
        cdn_hit_ratios(np.array([1.0, -2.0]), 1.0, 10)
    with pytest.raises(ValueError, match="policy must be one of"):
        cdn_hit_ratios(np.ones(3), 1.0, 10, "lru")
    with pytest.raises(ValueError, match="cache_bytes must be"):
        cdn_hit_ratios(np.ones(3), 1.0, -1)
