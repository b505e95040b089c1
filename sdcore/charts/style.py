"""One colour-blind-safe palette and one layout for every chart (readable on a classroom projector)."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision deficiencies.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#000000",  # black
)
# Past eight series (nodes of a ten-node cluster): Paul Tol's "muted" scheme, also colour-blind safe.
PALETTE_EXTRA: tuple[str, ...] = (
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#999933",
    "#CC6677",
    "#882255",
    "#AA4499",
    "#DDCC77",
)
GOOD = "#009E73"  # allowed / consistent / healthy
BAD = "#D55E00"  # rejected / stale / failed
NEUTRAL = "#7F7F7F"  # reference lines, theory, ideal
HIGHLIGHT = "#E69F00"
FONT_SIZE = 16

# Every figure starts from plotly_white. As the process-wide default it is attached when a figure is made, without
# validation (about 0.1 ms). Passing template="plotly_white" to update_layout validates and deep-copies it every
# time (about 11 ms a figure, most of a cached rerun on a chart-heavy page). Only this package draws figures.
# Importing Streamlit makes its own "streamlit" template the default: the app imports Streamlit before any page
# imports this module, so this line wins; apply_style puts it back if an import came in between.
TEMPLATE = "plotly_white"
pio.templates.default = TEMPLATE


def colour(i: int) -> str:
    """The i-th colour: the Okabe-Ito eight, then Tol's muted eight, then cycling (16 distinct)."""
    both = PALETTE + PALETTE_EXTRA
    return both[i % len(both)]


def apply_style(fig: go.Figure, *, title: str | None = None, height: int = 420) -> go.Figure:
    """Shared layout: large fonts, white background, legend above the plot."""
    if pio.templates.default != TEMPLATE:  # a later import (Streamlit's) changed the process default
        pio.templates.default = TEMPLATE
        fig.update_layout(template=TEMPLATE)
    fig.update_layout(
        # A title sits above the legend row, so it never overlaps it.
        title={"text": title, "y": 0.98, "yanchor": "top"} if title else None,
        font={"size": FONT_SIZE},
        height=height,
        margin={"l": 60, "r": 20, "t": 110 if title else 40, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
        colorway=list(PALETTE),
    )
    return fig
