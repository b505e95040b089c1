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

Every plotly figure that either of them returns (alone, or in a returned tuple or list) becomes a
:class:`SharedFigure`: its specification is written once, not on every rerun (``st.plotly_chart`` calls
``figure.to_dict()``, a deep copy of the whole figure: 1-2 ms a figure, most of a cached rerun's chart cost).
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import orjson
import plotly.graph_objects as go
import plotly.io as pio
import streamlit as st
from plotly.basedatatypes import BaseFigure

T = TypeVar("T")

TTL_S = 3600  # a cached result lives at most an hour (the Safe-to-put-on-a-network rule for every cache)
FIGURES_PER_SOURCE = (
    12  # views of one result kept (a cursor's positions, toggles): the least recently used go first
)


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY  # what plotly.io.to_json gives orjson


class SharedFigure(go.Figure):
    """A ``go.Figure`` whose ``to_dict()`` is written once and then read back from its JSON.

    ``st.plotly_chart(fig)`` calls ``fig.to_dict()`` (plotly's deep copy of the whole figure, then a walk turning
    arrays into base64) and serialises that dict with orjson. Here the first ``to_dict()`` keeps the dict as orjson
    bytes; every later call returns ``orjson.loads`` of them: a fresh dict as before (callers may change it),
    about 30 times cheaper, that serialises to the same JSON bytes (numbers, base64 arrays, strings, nulls and
    key order survive the round trip; a figure orjson cannot serialise as it is, say one holding pandas objects,
    is never kept and costs what it did). Everything else is plain ``go.Figure``.

    A shared figure must not be changed (the rule for everything these caches return). A change through plotly's
    validating setters (``update_layout``, a trace property, new traces or frames) drops the kept bytes, but a
    figure built unvalidated (``figure_from``, ``_validate=False``) is changed without plotly noticing, and would
    be drawn as it was first written.
    """

    _spec_json: bytes | None = None  # the first to_dict(), as orjson bytes; None: write it on the next call
    _spec_unkept = False  # orjson could not serialise it as it is: always the plain to_dict()

    def to_dict(self) -> dict:
        kept = self._spec_json
        if kept is not None:
            return orjson.loads(kept)
        spec = super().to_dict()
        if not self._spec_unkept and pio.json.config.default_engine in ("auto", "orjson"):
            try:
                self._spec_json = orjson.dumps(spec, option=_JSON_OPTIONS)
            except TypeError:  # orjson.JSONEncodeError; plotly.io.to_json cleans such a dict first
                self._spec_unkept = True
        return spec

    def _spec_changed(self, *_args: Any, **_kwargs: Any) -> None:
        self._spec_json = None

    # plotly calls these after every change to a figure (they keep a FigureWidget in step with its browser copy).
    _send_addTraces_msg = _send_moveTraces_msg = _send_deleteTraces_msg = _spec_changed
    _send_restyle_msg = _send_relayout_msg = _send_update_msg = _send_animate_msg = _spec_changed

    @BaseFigure.frames.setter
    def frames(self, new_frames: Any) -> None:  # the one change plotly sends no message for
        BaseFigure.frames.fset(self, new_frames)
        self._spec_json = None


def share_figures(value: T) -> T:
    """``value`` with each plain ``go.Figure`` in it (itself, or an item of a returned tuple or list) made a
    :class:`SharedFigure` in place (same object, same content); anything else is returned untouched."""
    if type(value) is go.Figure:
        value.__class__ = SharedFigure
    elif isinstance(value, tuple | list):
        for item in value:
            if type(item) is go.Figure:
                item.__class__ = SharedFigure
    return value


def shared(
    *, max_entries: int, spinner: str | bool = False
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator: cache a pure function for every session (``st.cache_resource`` with the house's ttl).

    ``spinner`` is the sentence shown while it computes (False: none). Figures it returns are shared figures
    (:func:`share_figures`)."""
    cache = st.cache_resource(max_entries=max_entries, ttl=TTL_S, show_spinner=spinner)

    def decorate(func: Callable[..., T]) -> Callable[..., T]:
        # functools.wraps keeps what st.cache_resource keys on: the name, the source and the parameter names
        # (inspect follows __wrapped__), so "_"-named arguments are still left out of the key.
        @functools.wraps(func)
        def computed(*args: Any, **kwargs: Any) -> T:
            return share_figures(func(*args, **kwargs))

        return cache(computed)

    return decorate


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
    drawn = share_figures(build(source, *args, **kwargs))
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
