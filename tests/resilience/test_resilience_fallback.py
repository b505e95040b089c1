"""Each fallback returns what it promises."""

from __future__ import annotations

import pytest

from sdcore.resilience import FALLBACKS, DefaultValue, Degraded, FailFast, LastGood, LastGoodCache


def test_fail_fast_is_an_error_at_once():
    r = FailFast().serve(3.0, LastGoodCache())
    assert (r.ok, r.source, r.latency, r.age) == (False, "error", 0.0, None)


def test_default_value_is_always_there():
    r = DefaultValue(["best-sellers"]).serve(1.0, LastGoodCache())
    assert (r.ok, r.value, r.source) == (True, ["best-sellers"], "default")


def test_last_good_serves_the_cached_response_with_its_age():
    cache = LastGoodCache()
    assert not LastGood().serve(1.0, cache).ok  # nothing cached yet
    cache.store(2.0, "v1")
    cache.store(5.0, "v2")
    r = LastGood().serve(12.5, cache)
    assert (r.ok, r.value, r.age, r.source) == (True, "v2", 7.5, "last_good")
    too_old = LastGood(max_age=5.0).serve(12.5, cache)
    assert not too_old.ok and "too old" in too_old.value


def test_degraded_answers_after_its_latency():
    r = Degraded(latency=0.2, value="simple list").serve(0.0, LastGoodCache())
    assert (r.ok, r.value, r.latency, r.source) == (True, "simple list", 0.2, "degraded")


def test_the_registry_lists_the_four_kinds():
    assert [k.cls for k in FALLBACKS.values()] == [FailFast, DefaultValue, LastGood, Degraded]


def test_bad_parameters():
    with pytest.raises(ValueError, match=r"latency must be between 0 and 60 seconds \(got latency=-1\)"):
        Degraded(latency=-1)
    with pytest.raises(ValueError, match="max_age must be between 0 and"):
        LastGood(max_age=-2)
