"""Vector clocks: which version of a key descends from which (Lamport 1978; Dynamo, DeCandia et al. 2007).

A vector clock maps each node that coordinated a write to a counter. Version ``a`` happened before ``b``
when every counter of ``a`` is at most the one in ``b`` and the clocks differ; when each has a counter the
other has not reached, neither saw the other: they are *concurrent*, and a store keeps both as siblings.

>>> a = VectorClock().increment("A")
>>> b = a.increment("B")
>>> c = a.increment("C")
>>> a.compare(b), b.compare(c), b.merge(c)
(<Order.BEFORE: 'before'>, <Order.CONCURRENT: 'concurrent'>, VectorClock({'A': 1, 'B': 1, 'C': 1}))
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Order(StrEnum):
    """How one clock relates to another: ``a.compare(b) == "before"`` means ``a`` happened before ``b``."""

    BEFORE = "before"
    AFTER = "after"
    EQUAL = "equal"
    CONCURRENT = "concurrent"


@dataclass(frozen=True, init=False)
class VectorClock:
    """An immutable vector clock: ``VectorClock({"A": 2, "B": 1})``; a missing node counts as 0.

    Counters are stored as a tuple of ``(node, counter)`` pairs sorted by node, without zeros, so equal
    clocks compare and hash equal however they were built.
    """

    counters: tuple[tuple[str, int], ...]

    def __init__(self, counters: Mapping[str, int] | Iterable[tuple[str, int]] = ()):
        pairs = counters.items() if isinstance(counters, Mapping) else counters
        clean: dict[str, int] = {}
        for node, count in pairs:
            if not isinstance(node, str) or not node:
                raise ValueError(f"a vector clock's node must be a non-empty name (got {node!r})")
            if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 0:
                raise ValueError(f"the counter of node {node!r} must be a whole number >= 0 (got {count!r})")
            if node in clean:
                raise ValueError(f"node {node!r} appears twice in the vector clock")
            if count:
                clean[node] = int(count)
        object.__setattr__(self, "counters", tuple(sorted(clean.items())))

    def __getitem__(self, node: str) -> int:
        for name, count in self.counters:
            if name == node:
                return count
        return 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.counters)

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.counters)

    def increment(self, node: str) -> VectorClock:
        """This clock with ``node``'s counter one higher: the clock of a new write coordinated by ``node``."""
        return self.with_counter(node, self[node] + 1)

    def with_counter(self, node: str, count: int) -> VectorClock:
        """This clock with ``node``'s counter set to ``count``."""
        d = self.as_dict()
        d[node] = count
        return VectorClock(d)

    def merge(self, other: VectorClock) -> VectorClock:
        """The least clock that descends from both: the counter-wise maximum."""
        d = self.as_dict()
        for node, count in other.counters:
            d[node] = max(d.get(node, 0), count)
        return VectorClock(d)

    def descends(self, other: VectorClock) -> bool:
        """True when this clock has seen everything ``other`` has (equal clocks included)."""
        return all(self[node] >= count for node, count in other.counters)

    def compare(self, other: VectorClock) -> Order:
        """``"before"``, ``"after"``, ``"equal"`` or ``"concurrent"`` (this clock relative to ``other``)."""
        mine, theirs = self.descends(other), other.descends(self)
        if mine and theirs:
            return Order.EQUAL
        if mine:
            return Order.AFTER
        if theirs:
            return Order.BEFORE
        return Order.CONCURRENT

    def __str__(self) -> str:
        return "[" + ", ".join(f"{node}:{count}" for node, count in self.counters) + "]"

    def __repr__(self) -> str:
        return f"VectorClock({self.as_dict()!r})"
