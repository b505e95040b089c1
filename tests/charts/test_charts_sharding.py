"""The sharding figures built in one layout pass draw exactly what make_subplots and add_hline/add_vline drew."""

import json

import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from sdcore.charts import sharding as charts
from sdcore.charts.sharding import READS, WRITES
from sdcore.charts.style import BAD, GOOD, NEUTRAL, PALETTE, apply_style
from sdcore.sharding import MITIGATIONS, ShardingConfig, run_sharding


def _old_shard_figure(loads, read_capacity, write_capacity, height=560):
    names = [f"S{i}" for i in range(loads.shards)]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                        subplot_titles=("Rows stored", "Requests per second"))  # fmt: skip
    fig.add_trace(go.Bar(x=names, y=loads.rows, name="rows", marker_color=NEUTRAL,
                         hovertemplate="%{x}: %{y:,} rows<extra></extra>"), row=1, col=1)  # fmt: skip
    mean = loads.rows.mean() if loads.shards else 0
    fig.add_hline(y=mean, line={"color": "#000000", "dash": "dot", "width": 1}, row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=loads.reads, name="reads/s", marker_color=READS,
                         hovertemplate="%{x}: %{y:,.0f} reads/s<extra></extra>"), row=2, col=1)  # fmt: skip
    fig.add_trace(go.Bar(x=names, y=loads.writes, name="writes/s", marker_color=WRITES,
                         hovertemplate="%{x}: %{y:,.0f} writes/s<extra></extra>"), row=2, col=1)  # fmt: skip
    for cap, c, text in ((read_capacity, READS, "read cap"), (write_capacity, WRITES, "write cap")):
        fig.add_hline(y=cap, line={"color": c, "dash": "dash", "width": 2}, row=2, col=1,
                      annotation_text=f"{text} {cap:,.0f}/s", annotation_position="top left",
                      annotation_font={"color": c, "size": 13},
                      annotation_bgcolor="rgba(255,255,255,0.85)")  # fmt: skip
    apply_style(fig, height=height)
    fig.update_layout(barmode="group", bargap=0.25, margin={"l": 60, "r": 20, "t": 40, "b": 90},
                      legend={"orientation": "h", "y": -0.08, "yanchor": "top", "x": 0})  # fmt: skip
    fig.update_yaxes(rangemode="tozero")
    return fig


def _old_hot_shard_figure(report):
    s = report.settings
    labels = [MITIGATIONS[o.name].label for o in report.options]
    reads = [o.hot_reads / s.read_capacity for o in report.options]
    writes = [o.hot_writes / s.write_capacity for o in report.options]
    fig = go.Figure()
    for name, values, c in (("reads / read cap", reads, READS), ("writes / write cap", writes, WRITES)):
        fig.add_trace(go.Bar(y=labels, x=values, name=name, orientation="h", marker_color=c,
                             text=[f"{v:.0%}" for v in values], textposition="outside", cliponaxis=False,
                             hovertemplate="%{y}: %{x:.0%} of capacity<extra></extra>"))  # fmt: skip
    fig.add_vline(x=1.0, line={"color": BAD, "dash": "dash", "width": 2})
    apply_style(fig, height=400)
    top = max([*reads, *writes, 1.0])
    fig.update_layout(barmode="group", margin={"l": 220, "r": 60, "t": 50, "b": 50})
    fig.update_xaxes(tickformat=".0%", range=[0, top * 1.18], title="busiest shard, share of its capacity")
    fig.update_yaxes(autorange="reversed")
    return fig


def _old_join_figure(feed):
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.1, subplot_titles=(
        "Shards asked<br>per feed", "Rows shipped<br>per feed", "Rows written<br>per rename"))  # fmt: skip
    designs = ("join", "copy")
    fig.add_trace(go.Bar(x=designs, y=[feed.normalized_shards, feed.denormalized_shards], showlegend=False,
                         marker_color=[PALETTE[0], GOOD], hovertemplate="%{x}: %{y:.1f} shards<extra></extra>"),
                  row=1, col=1)  # fmt: skip
    fig.add_trace(go.Bar(x=designs, y=[feed.normalized_rows, feed.denormalized_rows], showlegend=False,
                         marker_color=[PALETTE[0], GOOD], hovertemplate="%{x}: %{y:.0f} rows<extra></extra>"),
                  row=1, col=2)  # fmt: skip
    rename = float(feed.rename_rows.mean()) if len(feed.rename_rows) else 0.0
    worst = float(feed.rename_rows.max()) if len(feed.rename_rows) else 0.0
    fig.add_trace(go.Bar(x=["join", "copy", "copy max"], y=[1, rename, worst],
                         showlegend=False, marker_color=[PALETTE[0], GOOD, BAD],
                         hovertemplate="%{x}: %{y:,.0f} rows<extra></extra>"), row=1, col=3)  # fmt: skip
    apply_style(fig, height=380)
    fig.update_layout(margin={"l": 60, "r": 20, "t": 80, "b": 50})
    fig.update_annotations(font={"size": 15})
    return fig


CONFIGS = (
    ShardingConfig(users=1_000),
    ShardingConfig(users=500, shards=1, new_shards=2, strategy="directory", shard_key="country",
                   celebrity_share=0.3),
    ShardingConfig(users=800, shards=16, new_shards=20, strategy="range", shard_key="created",
                   read_capacity=50_000.0, write_capacity=1.0),
)  # fmt: skip


def spec(fig: go.Figure) -> dict:
    return json.loads(fig.to_json())


@pytest.mark.parametrize("cfg", CONFIGS)
def test_one_pass_figures_match_the_subplot_builds(cfg):
    r = run_sharding(cfg)
    for loads, height in ((r.loads, 560), (r.loads_after, 400)):
        new = charts.shard_figure(loads, cfg.read_capacity, cfg.write_capacity, height=height)
        assert spec(new) == spec(_old_shard_figure(loads, cfg.read_capacity, cfg.write_capacity, height))
    assert spec(charts.hot_shard_figure(r.hot)) == spec(_old_hot_shard_figure(r.hot))
    assert spec(charts.join_figure(r.feed)) == spec(_old_join_figure(r.feed))
