"""What every page does first."""

from __future__ import annotations

import streamlit as st

from ui import explain


def start(title: str, idea: str) -> None:
    """Route through ``app.py`` if needed, then draw the title and the idea paragraph."""
    _through_app()
    st.title(title)
    explain.idea(idea)


def _through_app() -> None:
    """The first request after a server start runs a ``pages/`` script on its own.

    Streamlit decides between its legacy pages-folder mode and ``st.navigation`` only once ``app.py`` has
    called ``st.navigation``; until then a deep link to a page runs that script alone, with the legacy
    navigation and without the wide layout. Switch the legacy mode off and rerun, so this and every later
    run goes through ``app.py`` and shows the grouped navigation. Once per session at most: AppTest resets
    the legacy flag before every run, and a rerun on every run would swallow button clicks.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a future Streamlit without the legacy mode has nothing to switch off
        return
    if getattr(PagesManager, "uses_pages_directory", False) and not st.session_state.get(
        "_routed_through_app"
    ):
        st.session_state["_routed_through_app"] = True
        PagesManager.uses_pages_directory = False
        st.rerun()
