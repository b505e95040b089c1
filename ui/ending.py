"""The one page ending every page calls: why it behaves this way, try this, the export, the share link and
the references; and the recap hook that remembers what this session did on the page."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from lessons.base import Headline, Reference
from ui import explain, export

RECAP_KEY = "_recap"  # st.session_state[RECAP_KEY][page_id] -> PageRecord (this session only)


@dataclass(frozen=True)
class Export:
    """One CSV download: its button label, the frame (built only when clicked) and the file name."""

    label: str
    frame: Callable[[], pd.DataFrame]
    file_name: str


@dataclass(frozen=True)
class PageRecord:
    """What the recap shows of one page: the experiment as the person left it."""

    page_id: str
    title: str
    preset: str
    custom: bool
    query: dict[str, str]
    link: str
    headlines: tuple[tuple[str, str], ...]


def record(
    P: Any, title: str, headlines: Sequence[Headline | tuple[str, str]] = (), link: str | None = None
) -> PageRecord:
    """Remember this page's preset, parameters, share link and headline numbers in this session (the
    "Interview recap" page lists them). Session state is per browser session: another visitor's never
    shows up."""
    rows = tuple((h.label, h.value) if isinstance(h, Headline) else (str(h[0]), str(h[1])) for h in headlines)
    rec = PageRecord(
        P.page_id,
        title,
        P.base_preset,
        P.selected not in P.presets,
        dict(P.query),
        link if link is not None else export.link_for(P.query),
        rows,
    )
    st.session_state.setdefault(RECAP_KEY, {})[P.page_id] = rec
    return rec


def page_end(
    P: Any,
    *,
    title: str,
    why: str,
    try_this: Sequence[str],
    exports: Sequence[Export] = (),
    references: Sequence[Reference | tuple[str, str]] = (),
    headlines: Sequence[Headline | tuple[str, str]] = (),
    link_note: str | None = None,
) -> PageRecord:
    """Why, try this, export (CSV buttons), the share link (with ``link_note`` under it) and the
    references, in that order; then the recap record. ``P`` is the page's PageParams, already synced."""
    explain.why(why)
    explain.try_this(try_this)
    st.subheader("Export")
    if exports:
        for col, e in zip(st.columns(len(exports)), exports, strict=True):
            with col:
                export.csv_download(e.label, e.frame, e.file_name, key=f"{P.page_id}.csv.{e.file_name}")
    link = export.share_link(P.query)
    if link_note:
        st.caption(link_note)
    if references:
        explain.references([(r.title, r.url) if isinstance(r, Reference) else r for r in references])
    return record(P, title, headlines, link)
