"""The "idea", "why it behaves this way" and "try this" boxes every page has."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st


def idea(text: str) -> None:
    st.markdown(f"**The idea.** {text}")


def why(markdown: str, expanded: bool = True) -> None:
    with st.expander("Why it behaves this way", expanded=expanded):
        st.markdown(markdown)


def try_this(items: Sequence[str]) -> None:
    with st.expander("Try this", expanded=True):
        st.markdown("\n".join(f"{i}. {t}" for i, t in enumerate(items, start=1)))


def references(links: Sequence[tuple[str, str]]) -> None:
    st.markdown("**Read more:** " + " · ".join(f"[{t}]({u})" for t, u in links))
