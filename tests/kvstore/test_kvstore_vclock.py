"""Vector clocks: the laws of a partial order and of a join (least upper bound), checked with hypothesis."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdcore.kvstore import VectorClock
from sdcore.kvstore.vclock import Order

NODES = ("A", "B", "C", "D")
clocks = st.dictionaries(st.sampled_from(NODES), st.integers(0, 4)).map(VectorClock)
MIRROR = {
    Order.BEFORE: Order.AFTER,
    Order.AFTER: Order.BEFORE,
    Order.EQUAL: Order.EQUAL,
    Order.CONCURRENT: Order.CONCURRENT,
}


def counterwise_le(a: VectorClock, b: VectorClock) -> bool:
    return all(a[x] <= b[x] for x in NODES)


@given(clocks)
def test_reflexive(a):
    """Every clock is equal to itself."""
    assert a.compare(a) == Order.EQUAL == "equal"
    assert a.descends(a)


@given(clocks, clocks)
def test_compare_matches_the_counterwise_order_and_is_antisymmetric(a, b):
    """a before b exactly when every counter of a is <= b's and the clocks differ; b.compare(a) mirrors
    a.compare(b); equal clocks are the same value (and hash alike)."""
    le, ge = counterwise_le(a, b), counterwise_le(b, a)
    expected = Order.EQUAL if le and ge else Order.BEFORE if le else Order.AFTER if ge else Order.CONCURRENT
    assert a.compare(b) == expected
    assert b.compare(a) == MIRROR[expected]
    assert (a == b) == (expected == Order.EQUAL)
    if a == b:
        assert hash(a) == hash(b)


@given(clocks, clocks, clocks)
def test_transitive(a, b, c):
    """If c descends from b and b from a, then c descends from a."""
    if b.descends(a) and c.descends(b):
        assert c.descends(a)


@given(clocks, clocks, clocks)
def test_merge_is_the_least_upper_bound(a, b, c):
    """merge is commutative, associative and idempotent; it descends from both; any clock that descends
    from both descends from the merge."""
    m = a.merge(b)
    assert m == b.merge(a)
    assert a.merge(b).merge(c) == a.merge(b.merge(c))
    assert a.merge(a) == a
    assert m.descends(a) and m.descends(b)
    if c.descends(a) and c.descends(b):
        assert c.descends(m)


@given(clocks, st.sampled_from(NODES), st.sampled_from(NODES))
def test_increment(a, x, y):
    """An increment happens after the clock it starts from; increments on two different nodes of the same
    clock are concurrent (two coordinators wrote without seeing each other)."""
    assert a.compare(a.increment(x)) == Order.BEFORE
    assert a.increment(x)[x] == a[x] + 1
    if x != y:
        assert a.increment(x).compare(a.increment(y)) == Order.CONCURRENT


def test_normal_form_and_text():
    """Zeros are dropped and nodes sorted, so equal clocks built differently are equal."""
    assert VectorClock({"B": 1, "A": 2, "C": 0}) == VectorClock([("A", 2), ("B", 1)])
    assert str(VectorClock({"B": 1, "A": 2})) == "[A:2, B:1]"
    assert VectorClock()["Z"] == 0 and str(VectorClock()) == "[]"
    assert VectorClock({"A": 1}).increment("A").as_dict() == {"A": 2}


@pytest.mark.parametrize(
    "bad, match",
    [
        ({"A": -1}, "whole number >= 0"),
        ({"A": 1.5}, "whole number"),
        ({"": 1}, "non-empty name"),
        ([("A", 1), ("A", 2)], "twice"),
    ],
)
def test_bad_clocks(bad, match):
    with pytest.raises(ValueError, match=match):
        VectorClock(bad)


def test_immutable():
    a = VectorClock({"A": 1})
    with pytest.raises(AttributeError):
        a.counters = ()
    a.increment("A")
    assert a == VectorClock({"A": 1})
