"""Availability in series and in parallel, k-of-n against enumeration, and downtime with its year length."""

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.scale.availability import (
    YEAR_DAYS,
    availability_k_of_n,
    availability_parallel,
    availability_series,
    downtime_per_year,
    instance_availability,
    nines,
)


def test_series_and_parallel_by_hand():
    assert availability_series(0.99, 0.99) == pytest.approx(0.9801)
    assert availability_parallel(0.99, 0.99) == pytest.approx(0.9999)
    assert availability_series(0.999, availability_parallel(0.99, 0.99)) == pytest.approx(0.999 * 0.9999)
    assert availability_parallel(0.0, 0.5) == pytest.approx(0.5)


@given(st.lists(st.floats(0, 1), min_size=1, max_size=6))
@settings(max_examples=40)
def test_series_never_beats_its_weakest_and_parallel_never_loses_to_its_best(parts):
    """A chain is at most its weakest link; redundant copies are at least their best copy."""
    assert availability_series(*parts) <= min(parts) + 1e-12
    assert availability_parallel(*parts) >= max(parts) - 1e-12


@given(st.integers(1, 7), st.floats(0, 1), st.data())
@settings(max_examples=40)
def test_k_of_n_equals_enumeration(n, a, data):
    """P(at least k of n up) equals the sum over every up/down pattern with k or more up."""
    k = data.draw(st.integers(0, n))
    brute = sum(
        math.prod(a if up else 1 - a for up in pattern)
        for pattern in itertools.product((True, False), repeat=n)
        if sum(pattern) >= k
    )
    assert availability_k_of_n(k, n, a) == pytest.approx(brute, abs=1e-12)
    if k == 1:
        assert availability_k_of_n(1, n, a) == pytest.approx(availability_parallel(*[a] * n), abs=1e-12)


def test_downtime_uses_a_year_of_365_25_days():
    """99.9% is 8 h 45 min 57.6 s in a 365.25-day year and 8 h 45 min 36 s in a 365-day one."""
    assert YEAR_DAYS == 365.25
    assert downtime_per_year(0.999) == pytest.approx(0.001 * 365.25 * 86_400)
    assert downtime_per_year(0.999) == pytest.approx(8 * 3600 + 45 * 60 + 57.6)
    assert downtime_per_year(0.999, days=365) == pytest.approx(8 * 3600 + 45 * 60 + 36)
    assert nines(0.999) == pytest.approx(3.0) and nines(1.0) == math.inf


def test_instance_availability_is_mtbf_over_mtbf_plus_mttr():
    """Two failures a year, four hours each: MTBF = 4,383 h, A = 4383 / (4383 + 4)."""
    assert instance_availability(2, 4 * 3600) == pytest.approx(4383 / 4387)
    assert instance_availability(0, 1e6) == 1.0


@pytest.mark.parametrize(
    "call,fragment",
    [
        (lambda: availability_series(), "at least one part"),
        (lambda: availability_parallel(1.2), "part must be between 0 and 1"),
        (lambda: availability_k_of_n(3, 2, 0.9), "needed must be between 0 and instances"),
        (lambda: downtime_per_year(0.9, days=0), "days must be between 1 and 366"),
    ],
)
def test_bad_parameters_name_themselves(call, fragment):
    with pytest.raises(ValueError, match=fragment):
        call()


@pytest.mark.parametrize(("n", "a"), [(200, 0.9), (700, 0.999), (1000, 0.5), (1000, 0.01)])
def test_the_log_space_sum_equals_the_exact_sum_where_both_work(n, a):
    from sdcore.scale.availability import _binomial_tail

    for k in (0, 1, n // 3, n // 2, n - 5, n):
        exact = sum(math.comb(n, j) * a**j * (1 - a) ** (n - j) for j in range(k, n + 1))
        assert _binomial_tail(k, n, a) == pytest.approx(min(1.0, exact), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("n", "a"), [(1100, 0.999), (5000, 0.9995), (20_000, 0.3)])
def test_k_of_n_for_thousands_of_instances(n, a):
    """Above about 1,030 instances C(n, j) overflows a float (this raised OverflowError). At least k up and at
    most k - 1 up (= at least n - k + 1 down) add to one."""
    for k in (1, n // 2, n - 3):
        up = availability_k_of_n(k, n, a)
        down = availability_k_of_n(n - k + 1, n, 1 - a)
        assert 0.0 <= up <= 1.0 and up + down == pytest.approx(1.0, abs=1e-9)
    assert availability_k_of_n(0, n, a) == pytest.approx(1.0)
