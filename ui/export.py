"""Exports: results as CSV, and the link that reproduces the experiment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

import pandas as pd
import streamlit as st


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")


def csv_download(label: str, make_frame: Callable[[], pd.DataFrame], file_name: str, key: str) -> None:
    """A download button that builds the CSV only when clicked (large tables cost nothing until then)."""
    st.download_button(
        label,
        data=lambda: csv_bytes(make_frame()),
        file_name=file_name,
        mime="text/csv",
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )


def link_for(query: Mapping[str, str]) -> str:
    """The page's address with ``query`` (only "?..." outside a browser session, as in AppTest)."""
    try:
        base = st.context.url or ""
    except Exception:  # noqa: BLE001 - outside a browser session (AppTest) there is no URL
        base = ""
    parts = urlsplit(base)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), "")) or "?" + urlencode(
        query
    )


def share_link(query: Mapping[str, str]) -> str:
    """The page's address with the current parameters, for a teacher to send to a class."""
    link = link_for(query)
    st.caption("Share this experiment: the link reproduces these exact settings.")
    st.code(link, language=None)
    return link
