"""The error boundary: a ValueError from the core becomes its sentence, anything else a plain apology; a
visitor never sees a traceback or a server path (``client.showErrorDetails = "none"`` is the backstop)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from lessons.base import echo

LOG = logging.getLogger("sds")
UNEXPECTED = (
    "Something went wrong in this part of the page, and it was logged on the server. The rest of the page is "
    "unaffected; try other settings, or the preset's."
)


def _strict() -> bool:
    """Under the test suite (``SDS_STRICT_ERRORS=1``) an unexpected exception is raised, so a test sees it."""
    return os.environ.get("SDS_STRICT_ERRORS") == "1"


@contextmanager
def boundary(stop: bool = True) -> Iterator[None]:
    """``with boundary(): ...``: show a core ValueError with ``st.error`` and stop this run of the page.

    The sentence comes from the core, which names the parameter, its value and the allowed range; it is
    shown as text (it may quote what a visitor typed). Any other exception is logged with its traceback on
    the server and the visitor reads :data:`UNEXPECTED`. With ``stop=False`` the rest of the page still
    draws (for an error confined to one section).
    """
    try:
        yield
    except ValueError as e:
        st.error(echo(e, 2000), icon=":material/error:")
        if stop:
            st.stop()
    except Exception:  # noqa: BLE001 - the visitor gets a sentence; the server keeps the traceback
        # (st.stop and st.rerun raise BaseException subclasses, which pass through untouched)
        if _strict():
            raise
        LOG.exception("unexpected error in a page section")
        st.error(UNEXPECTED, icon=":material/error:")
        if stop:
            st.stop()
