"""One colour-blind-safe palette and one layout for every chart (readable on a classroom projector)."""

from __future__ import annotations

import functools
import json
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

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


# -- one-pass figures ------------------------------------------------------------------------------------
# A chart-heavy page draws its figures as one layout dict and a list of trace dicts, validated once by
# ``go.Figure``: adding subplot traces, lines and axis updates one by one cost most of a rerun. These give the
# dicts plotly's helpers would have made, each built once per shape (kept as JSON, copied on every call).


@functools.lru_cache(maxsize=32)
def _grid_json(grid: str) -> str:
    layout = make_subplots(**json.loads(grid)).layout.to_plotly_json()
    layout.pop("template", None)
    return json.dumps(layout)


def grid_layout(**grid: Any) -> dict:
    """The layout ``make_subplots(**grid)`` makes (axes, domains, subplot and column titles), without the
    template, as a fresh dict to fill in (``grid``: JSON-able arguments; tuples are read as lists)."""
    return json.loads(_grid_json(json.dumps(grid, sort_keys=True)))


@functools.lru_cache(maxsize=16)
def _style_json(height: int) -> str:
    layout = apply_style(go.Figure(), height=height).layout.to_plotly_json()
    layout.pop("template", None)
    return json.dumps(layout)


def style_layout(height: int = 420) -> dict:
    """What :func:`apply_style` sets on an untitled figure of ``height``, as a fresh layout dict."""
    return json.loads(_style_json(height))


def merge_layout(base: dict, over: dict) -> dict:
    """``base`` updated by ``over`` the way ``update_layout`` does it (nested settings merged, not replaced);
    ``base`` is changed and returned."""
    for k, v in over.items():
        base[k] = merge_layout(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return base


def figure_from(
    traces: list[dict], layout: dict, *, validate: bool = False, empty_title: bool = True
) -> go.Figure:
    """The figure from its trace and layout dicts, written as plotly's validators would write them.

    Not validated by default: checking the dicts again cost most of a figure on a cache miss. Each chart module
    that uses this has a test building every figure both ways (``validate=True``: checked by plotly) and
    requiring the same JSON, so a misspelt property still fails there. ``empty_title``: the empty title
    ``apply_style`` leaves on an untitled figure."""
    if pio.templates.default != TEMPLATE:  # a later import (Streamlit's) changed the process default
        pio.templates.default = TEMPLATE
    if validate:
        fig = go.Figure({"data": traces, "layout": layout})
        return fig.update_layout(title=None) if empty_title else fig
    layout = {k: v for k, v in layout.items() if not (isinstance(v, list) and not v)}  # as plotly drops them
    if empty_title:
        layout["title"] = {}
    return go.Figure({"data": traces, "layout": layout}, _validate=False)
