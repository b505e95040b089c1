"""The feed figures built in one layout pass draw exactly what make_subplots and add_vline drew."""

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from sdcore.charts import feed as charts
from sdcore.charts.feed import STRATEGY_COLOURS, _time_unit
from sdcore.charts.style import NEUTRAL, PALETTE, apply_style
from sdcore.feed import FeedConfig, simulate_all
from sdcore.feed.strategies import STRATEGIES


def _old_amplification_figure(runs):
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Cache writes per post", "Lists read per feed load"),
                        horizontal_spacing=0.12)  # fmt: skip
    names = list(runs)
    labels = [STRATEGIES[n].label.split(" (")[0] for n in names]
    costs = [runs[n].costs() for n in names]
    colours = [STRATEGY_COLOURS[n] for n in names]
    writes = [c.writes_per_post for c in costs]
    reads = [c.reads_per_load for c in costs]
    for col, values in ((1, writes), (2, reads)):
        fig.add_trace(go.Bar(x=labels, y=values, marker_color=colours, text=[f"{v:,.1f}" for v in values],
                             textposition="outside", showlegend=False, cliponaxis=False), row=1, col=col)  # fmt: skip
    top = max([*writes, *reads, 1.0])
    for col in (1, 2):
        fig.update_yaxes(type="log", range=[-1, np.log10(top) + 0.6], dtick=1, row=1, col=col)
    fig.update_annotations(font={"size": 16})
    return apply_style(fig, height=400)


def _old_queue_figure(run, cursor=None):
    t, waiting, pending = run.queue_curve(300)
    scale, unit = _time_unit(float(t[-1]))
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=t * scale, y=pending, name="writes not yet done", mode="lines",
                             line={"color": PALETTE[1], "width": 3}), secondary_y=False)  # fmt: skip
    fig.add_trace(go.Scatter(x=t * scale, y=waiting, name="batches waiting", mode="lines",
                             line={"color": PALETTE[0], "width": 2, "dash": "dot"}), secondary_y=True)  # fmt: skip
    if cursor is not None:
        fig.add_vline(x=cursor * scale, line={"color": NEUTRAL, "width": 2})
    fig.update_xaxes(title=f"virtual time ({unit})")
    fig.update_yaxes(title="writes", rangemode="tozero", secondary_y=False)
    top = max(int(waiting.max()), 1)
    fig.update_yaxes(title="batches", range=[0, top * 1.1], dtick=max(1, -(-top // 5)), tickformat=",d",
                     secondary_y=True, showgrid=False)  # fmt: skip
    return apply_style(fig, height=380)


def spec(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


@pytest.mark.parametrize(
    "cfg",
    (
        FeedConfig(users=2_000, seed=1, posts=300),
        FeedConfig(users=500, seed=4, posts=60, celebrity_followers=20_000, celebrity_posts=5, workers=1,
                   worker_throughput=200.0),
    ),
)  # fmt: skip
def test_one_pass_figures_match_the_subplot_builds(cfg):
    runs = simulate_all(cfg)
    assert spec(charts.amplification_figure(runs)) == spec(_old_amplification_figure(runs))
    for run in runs.values():
        for cursor in (None, 0.0, 1.0, run.drained_at / 2, 1e9):
            assert spec(charts.queue_figure(run, cursor)) == spec(_old_queue_figure(run, cursor))
