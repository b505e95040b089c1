"""The error boundary: a ValueError from the core becomes a readable message, never a traceback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st


@contextmanager
def boundary(stop: bool = True) -> Iterator[None]:
    """``with boundary(): ...``: show a core ValueError with ``st.error`` and stop this run of the page.

    The sentence comes from the core, which names the parameter, its value and the allowed range. With
    ``stop=False`` the rest of the page still draws (for an error confined to one section).
    """
    try:
        yield
    except ValueError as e:
        st.error(str(e), icon=":material/error:")
        if stop:
            st.stop()
