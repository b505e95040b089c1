"""The shared caches: one result object for every session, figures drawn once per result and view."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from ui import cache


class Run:
    def __init__(self, n: int) -> None:
        self.values = np.arange(n)


def draw(run: Run, cursor: int = 0, *, log: bool = False) -> dict:
    draw.calls += 1
    return {"n": len(run.values), "cursor": cursor, "log": log}


draw.calls = 0


def test_a_figure_is_drawn_once_per_source_and_view():
    draw.calls = 0
    run = Run(5)
    a = cache.figure(draw, run, 3)
    assert cache.figure(draw, run, 3) is a
    assert draw.calls == 1
    b = cache.figure(draw, run, 3, log=True)
    c = cache.figure(draw, Run(5), 3)
    assert b is not a and c is not a and b["log"] is True
    assert draw.calls == 3


def test_figures_go_when_their_source_goes():
    import weakref

    class Fig:
        pass

    run = Run(4)
    figs = [weakref.ref(cache.figure(lambda r, k: Fig(), run, k)) for k in range(3)]
    assert all(f() is not None for f in figs)  # kept while the source lives
    del run
    gc.collect()
    assert all(f() is None for f in figs)


def test_at_most_the_cap_of_views_per_source_least_recent_first():
    draw.calls = 0
    run = Run(2)
    for k in range(cache.FIGURES_PER_SOURCE):
        cache.figure(draw, run, k)
    cache.figure(draw, run, 0)  # touched: now the most recent
    cache.figure(draw, run, 999)  # one over the cap: view 1 goes
    assert draw.calls == cache.FIGURES_PER_SOURCE + 1
    cache.figure(draw, run, 0)
    assert draw.calls == cache.FIGURES_PER_SOURCE + 1
    cache.figure(draw, run, 1)
    assert draw.calls == cache.FIGURES_PER_SOURCE + 2


def test_a_source_without_weak_references_is_refused_with_a_sentence():
    with pytest.raises(TypeError, match="cannot be weakly referenced"):
        cache.figure(draw, (1, 2), 0)


def test_unhashable_view_arguments_fail_before_drawing():
    draw.calls = 0
    with pytest.raises(TypeError):
        cache.figure(draw, Run(1), [1, 2])
    assert draw.calls == 0


def test_shared_returns_the_same_object_for_the_same_question():
    calls = []

    @cache.shared(max_entries=4)
    def compute(n: int) -> np.ndarray:
        calls.append(n)
        return np.arange(n)

    assert compute(3) is compute(3)
    assert compute(4) is not compute(3)
    assert calls == [3, 4]
    compute.clear()


def test_a_figure_that_holds_another_source_can_be_freed_without_a_deadlock():
    """Freeing a source frees its figures; one may hold the last reference to another source, whose finalizer
    then runs inside the first one's (this deadlocked on a plain lock when a cache was cleared)."""
    import threading

    def free_nested() -> None:
        b = Run(1)
        cache.figure(draw, b, 0)
        box = [b]
        a = Run(1)
        cache.figure(
            lambda run: {"holds": box.pop()}, a
        )  # a's figure now holds the only other reference to b
        del b
        del a  # a's finalizer frees its figure, which frees b, whose finalizer runs in the middle
        done.set()

    done = threading.Event()
    threading.Thread(target=free_nested, daemon=True).start()
    assert done.wait(10), "freeing nested figures deadlocked"
