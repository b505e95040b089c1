"""One step/play control for processes in time (a trace's time cursor, a cluster's events, gossip rounds).

The play toggle animates through ``st.fragment(run_every=...)``, which reruns only the fragment, and only
while the toggle is on: an animation reruns in every open tab, so it never runs by default.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

TICK_S = 0.8


def play_toggle(key: str, *, disabled: bool = False, help: str | None = None, container=st) -> bool:
    """The Play toggle; returns whether it is on."""
    if st.session_state.pop(f"{key}._stop", False):  # the animation reached its end on the last run
        st.session_state[key] = False
    return container.toggle(
        "Play",
        key=key,
        disabled=disabled,
        help=help
        or "Advance by itself. It runs only while this is on (an animation reruns in every open tab).",
    )


def animate(
    play_key: str, body: Callable[[], None], advance: Callable[[], bool], tick: float = TICK_S
) -> None:
    """Run ``body`` in a fragment; while the toggle ``play_key`` is on, call ``advance`` (which moves the
    cursor in session state and returns False at the end, which switches Play off) every ``tick`` s."""
    playing = bool(st.session_state.get(play_key))

    @st.fragment(run_every=tick if playing else None)
    def _fragment() -> None:
        if st.session_state.get(play_key) and not advance():
            # The toggle is already drawn in this run: switch it off before it is drawn on the next one.
            st.session_state[f"{play_key}._stop"] = True
            st.rerun()
        body()

    _fragment()


def _step(key: str, delta: int, count: int) -> None:
    st.session_state[key] = max(1, min(count, st.session_state.get(key, 1) + delta))


def step_buttons(key: str, count: int, *, what: str = "event") -> int:
    """◀ ▶ and a slider over steps 1..``count`` kept in ``st.session_state[key]``; returns the 0-based
    index of the current step. Call it inside :func:`animate`'s body."""
    if st.session_state.get(key, 1) > max(count, 1):
        st.session_state[key] = max(count, 1)
    page = key.rsplit(".", 1)[0]  # "kvc.cursor" -> buttons "kvc.back" and "kvc.next"
    b = st.columns([0.6, 0.6, 8])
    b[0].button("◀", key=f"{page}.back", on_click=_step, args=(key, -1, count), help=f"One {what} back")
    b[1].button("▶", key=f"{page}.next", on_click=_step, args=(key, 1, count), help=f"One {what} on")
    cursor = b[2].slider(
        what.capitalize(), 1, max(count, 2), key=key, disabled=count < 2, label_visibility="collapsed"
    )
    return min(cursor, max(count, 1)) - 1


def advance_steps(key: str, count: int) -> Callable[[], bool]:
    """An ``advance`` for :func:`animate` over steps 1..``count``: one step on, False at the end."""

    def advance() -> bool:
        if st.session_state.get(key, 1) >= count:
            return False
        st.session_state[key] = st.session_state.get(key, 1) + 1
        return True

    return advance
