"""Caches every page shares: results computed once per question, figures drawn once per result.

A class running one preset should pay for it once. Two rules make that so:

- :func:`shared` caches a pure function's result with ``st.cache_resource``: one object for every session that
  asks the same question (the same frozen config), never a pickled copy per rerun as ``st.cache_data`` makes
  (unpickling a large result was most of a rerun on the gateway page). The result must never be mutated: the
  engines return frozen dataclasses and read-only arrays.
- :func:`figure` draws ``build(source, *args)`` once per source object and view arguments, and keeps the figure
  exactly as long as the source lives (a result leaves its cache, its figures go with it), at most
  :data:`FIGURES_PER_SOURCE` views each. ``st.plotly_chart`` serialises a figure without changing it, so one figure
  object serves every session; a page must not change a figure it got from here.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import streamlit as st

T = TypeVar("T")

TTL_S = 3600  # a cached result lives at most an hour (the Safe-to-put-on-a-network rule for every cache)
FIGURES_PER_SOURCE = (
    12  # views of one result kept (a cursor's positions, toggles): the least recently used go first
)


def shared(
    *, max_entries: int, spinner: str | bool = False
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator: cache a pure function for every session (``st.cache_resource`` with the house's ttl).

    ``spinner`` is the sentence shown while it computes (False: none)."""
    return st.cache_resource(max_entries=max_entries, ttl=TTL_S, show_spinner=spinner)


# Re-entrant, and nothing is freed while it is held: freeing a figure can end the life of another source, whose
# finalizer calls _forget in the same thread (a plain Lock deadlocked there when a cache was cleared).
_lock = threading.RLock()
_figures: dict[int, tuple[weakref.ref, OrderedDict]] = {}


def _forget(key: int) -> None:
    with _lock:
        gone = _figures.pop(key, None)
    del gone  # its figures are freed here, outside the lock


def figure(build: Callable[..., T], source: Any, *args: Hashable, **kwargs: Hashable) -> T:
    """``build(source, *args, **kwargs)``, drawn once per (source object, build, arguments).

    ``source`` is the result the figure shows (it must support weak references: a dataclass, an array, an
    object); the other arguments are the view (small hashable values such as a cursor or a flag).

    >>> class Run: pass
    >>> calls = []
    >>> def draw(run, k): calls.append(k); return f"figure {k}"
    >>> run = Run()
    >>> figure(draw, run, 1), figure(draw, run, 1), figure(draw, run, 2), calls
    ('figure 1', 'figure 1', 'figure 2', [1, 2])
    """
    try:
        ref = weakref.ref(source)
    except TypeError:
        raise TypeError(
            f"figure() keeps figures as long as their source lives; a {type(source).__name__} cannot be "
            "weakly referenced (pass the result object, not a tuple or a dict)"
        ) from None
    view = (getattr(build, "__module__", ""), getattr(build, "__qualname__", repr(build)), args,
            tuple(sorted(kwargs.items())))  # fmt: skip
    hash(view)  # unhashable view arguments fail here, before anything is drawn
    key = id(source)
    with _lock:
        entry = _figures.get(key)
        if entry is not None and entry[0]() is source:
            views = entry[1]
            if view in views:
                views.move_to_end(view)
                return views[view]
    drawn = build(source, *args, **kwargs)
    evicted = []
    with _lock:
        entry = _figures.get(key)
        if entry is None or entry[0]() is not source:
            evicted.append(entry)  # a dead source's entry whose finalizer has not run yet
            entry = (ref, OrderedDict())
            _figures[key] = entry
            weakref.finalize(source, _forget, key)
        views = entry[1]
        views[view] = drawn
        while len(views) > FIGURES_PER_SOURCE:
            evicted.append(views.popitem(last=False))
    del evicted  # freed outside the lock
    return drawn


def figures_held() -> int:
    """How many figures are kept now (for tests and the load test's memory notes)."""
    with _lock:
        return sum(len(views) for _, views in _figures.values())
