"""A page's headline numbers: ``st.metric`` in rows whose columns are wide enough that no label, value or
delta is cut off ("Token bucket: admitted" became "Token bucket: admi…" six to a row).

A row holds as many metrics as fit the width a classroom laptop gives it (1440 px with the sidebar open: a
980 px main column, measured), judged from the longest text of each kind at Streamlit's font sizes, and the
metrics are spread evenly over as few rows as that allows (six that fit four to a row go three and three).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Literal

import streamlit as st

from lessons.base import Headline

MAIN_PX = 980  # the main column at 1440 px with the sidebar open (wide layout), measured in Chromium
GAP_PX = 16  # st.columns' "small" gap
LABEL_PX, DELTA_PX, VALUE_PX = 6.5, 6.5, 19.0  # per character: 14 px labels and deltas, 36 px values
HELP_PX, ARROW_PX = 24, 28  # the label's (?) icon, the delta's arrow and padding


_NO_CHANGE = re.compile(r"[+\-−]?0(?:\.0+)?(?![\d.,])")  # "+0", "+0.0 pts", "-0.00 ms": a change of nothing


def delta_style(h: Headline, arrow: str | None = None) -> tuple[str, str]:
    """The delta's colour and arrow. A change of zero has no direction: grey and no arrow (Streamlit drew
    "+0" as a rise, in red where higher is worse).

    >>> delta_style(Headline("Failed", "0", "+0", delta_color="inverse")), delta_style(Headline("A", "1", "+2"))
    (('off', 'off'), ('normal', 'auto'))
    """
    if h.delta and _NO_CHANGE.match(h.delta):
        return "off", "off"
    return h.delta_color, arrow or ("off" if h.delta_color == "off" else "auto")


def needed_px(h: Headline) -> float:
    """How wide a column must be to show ``h`` whole."""
    label = LABEL_PX * len(h.label) + (HELP_PX if h.help else 0)
    delta = DELTA_PX * len(h.delta) + ARROW_PX if h.delta else 0.0
    return max(label, delta, VALUE_PX * len(h.value))


def column_px(k: int, width_px: float = MAIN_PX) -> float:
    """The width of each of ``k`` equal columns in ``width_px``."""
    return (width_px - GAP_PX * (k - 1)) / k


def per_row(heads: Sequence[Headline | None], width_px: float = MAIN_PX) -> int:
    """Metrics in each row: as many as fit, spread evenly over the fewest rows.

    >>> short, long = Headline("Stale gets", "0"), Headline("Leaking bucket: admitted", "56.3%", help="?")
    >>> per_row([short] * 6), per_row([long] * 6), per_row([long] * 5)
    (6, 3, 5)
    """
    shown = [h for h in heads if h is not None]
    n = len(heads)
    if not shown:
        return max(n, 1)
    need = max(needed_px(h) for h in shown)
    fit = next((k for k in range(n, 1, -1) if column_px(k, width_px) >= need), 1)
    rows = math.ceil(n / fit)
    return math.ceil(n / rows)


def row(
    heads: Sequence[Headline | None],
    *,
    width_px: float = MAIN_PX,
    slots: int | None = None,
    arrow: Literal["auto", "off"] | None = None,
) -> None:
    """Draw ``heads`` as metrics (a ``None`` keeps its place empty). ``slots``: at least this many columns
    when they fit (so two headlines stay as wide as a row of four); ``width_px``: the width of the container
    the row is drawn in; ``arrow``: the delta's arrow, by default off where the delta is not coloured."""
    k = per_row(heads, width_px)
    if slots and slots > k and per_row([*heads, *([None] * (slots - len(heads)))], width_px) >= slots:
        k = slots
    for start in range(0, len(heads), k):
        for col, h in zip(st.columns(k), heads[start : start + k], strict=False):
            if h is None:
                continue
            color, drawn_arrow = delta_style(h, arrow)
            col.metric(h.label, h.value, h.delta, help=h.help, delta_color=color, delta_arrow=drawn_arrow)
