"""Tables a caption points at: every column visible at a classroom laptop's width.

``st.dataframe`` draws a grid that keeps each column as wide as its longest header or value and scrolls the rest
out of sight (its scroll bar shows only under the mouse): at 1440 px the rate limiter's comparison showed five of
its nine columns, and the caption's "state per client" was among the hidden. :func:`fit` draws a small table with
``st.table`` instead, which wraps long headers and fits its column, under the shown labels and with raw values
behind the formats (a CSV export builds its own frame). Long tables stay a scrolling, sortable ``st.dataframe``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

MAX_ROWS = 40  # more rows than this stay an interactive st.dataframe (a wrapped table that long helps nobody)


def frame(
    data: pd.DataFrame | Iterable[Mapping[str, Any]], columns: Iterable[str] | None = None
) -> pd.DataFrame:
    """``data`` as a DataFrame (rows of dicts are welcome)."""
    if isinstance(data, pd.DataFrame):
        return data
    return pd.DataFrame(list(data), columns=list(columns) if columns is not None else None)


def styled(df: pd.DataFrame, columns: Mapping[str, tuple[str, str | None]] | None = None):
    """A Styler showing ``df`` without its index, each column in ``columns`` under its label and in its printf
    format (as ``st.column_config.NumberColumn(label, format=...)`` would); the values stay raw numbers.
    Streamlit draws a Styler's cell formats but not ``relabel_index``, so the labels go into the data.

    >>> df = pd.DataFrame({"a": [0.5], "b": [3]})
    >>> s = styled(df, {"a": ("share", "%.1f %%"), "b": ("count", None)})
    >>> list(s.data.columns), "0.5 %" in s.to_html(), s.data["share"].tolist()
    (['share', 'count'], True, [0.5])
    """
    columns = columns or {}
    shown = df.rename(columns={c: label for c, (label, _) in columns.items()})
    formats = {
        label: (lambda x, f=f: f % x if pd.notna(x) else "")
        for c, (label, f) in columns.items()
        if f and c in df
    }
    for c in shown.columns:  # the rest as the grid showed them: 15.8, not the Styler's 15.800000
        if (
            c not in formats
            and pd.api.types.is_numeric_dtype(shown[c])
            and not pd.api.types.is_bool_dtype(shown[c])
        ):
            formats[c] = plain_number
    return shown.style.format(formats).hide(axis="index")


def plain_number(x: Any) -> str:
    """A table cell's number with thousands separators and at most four decimals, trailing zeros dropped.

    >>> [plain_number(v) for v in (15.8, 12345, 0.123456, 2.0, float("nan"), 1e-05)]
    ['15.8', '12,345', '0.1235', '2', '', '0.00001']
    """
    if x is None or pd.isna(x):
        return ""
    if isinstance(x, int | np.integer) or float(x).is_integer():
        return f"{int(x):,}"
    places = 4 if abs(x) >= 1e-4 else min(12, 1 - math.floor(math.log10(abs(x))))  # two digits of a tiny one
    return f"{x:,.{places}f}".rstrip("0").rstrip(".")


def fit(
    data: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    columns: Mapping[str, tuple[str, str | None]] | None = None,
    order: Iterable[str] | None = None,
) -> None:
    """Show a table whose every column fits the page (see the module's note); ``columns`` relabels and formats,
    ``order`` names the columns of row dicts (and their order)."""
    df = frame(data, order)
    if len(df) > MAX_ROWS:
        config = {
            c: st.column_config.NumberColumn(lab, format=f) if f else lab
            for c, (lab, f) in (columns or {}).items()
        }
        st.dataframe(df, hide_index=True, column_config=config or None)
        return
    st.table(styled(df, columns))
