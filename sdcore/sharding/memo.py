"""A small bounded memo of values derived from one immutable object, kept on that object.

A dataset's key columns, a column's hashes and placements are pure functions of objects that never change;
pages share those objects between sessions (one cached dataset for a class), so each derived value is
computed once and lives exactly as long as its source. The memo is bounded (least recently used first out)
and safe to share between the threads that serve sessions: two threads asking at once may both compute,
and both get an equal value.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class Memo:
    """``get(key, make)``: ``make()`` the first time, the kept value afterwards (at most ``size`` kept)."""

    def __init__(self, size: int):
        self._size = size
        self._lock = threading.Lock()
        self._values: OrderedDict[Hashable, Any] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self._size:
                self._values.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._values)


def memo_of(obj: object, size: int, slot: str = "_memo") -> Memo:
    """The memo kept on ``obj`` (a frozen dataclass with ``eq=False``), created on first use."""
    memo = obj.__dict__.get(slot)
    if memo is None:
        memo = obj.__dict__.setdefault(slot, Memo(size))  # setdefault: one memo even if two threads race
    return memo
