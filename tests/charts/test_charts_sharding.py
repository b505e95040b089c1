"""The sharding figures built in one layout pass draw exactly what make_subplots and add_hline/add_vline drew."""

import json

import numpy as np
import plotly.graph_objects as go
import pytest
from plotly.subplots import make_subplots

from sdcore.charts import sharding as charts
from sdcore.charts.sharding import READS, WRITES
from sdcore.charts.style import BAD, GOOD, HIGHLIGHT, NEUTRAL, PALETTE, apply_style, colour
from sdcore.sharding import (
    MITIGATIONS,
    SHARD_KEYS,
    SLOTS,
    STRATEGIES,
    ShardingConfig,
    run_sharding,
    skew_table,
)


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


# The builds with go.Figure, go.Bar and update_layout that the one-pass dicts replaced.
def _old_skew_heatmap(rows, quantity="reads"):
    keys, strategies = list(SHARD_KEYS), list(STRATEGIES)
    z = np.full((len(keys), len(strategies)), np.nan)
    for r in rows:
        z[keys.index(r.key), strategies.index(r.strategy)] = getattr(r, quantity).max_over_mean
    text = [[f"{v:.2f}" for v in line] for line in z]
    fig = go.Figure(go.Heatmap(
        z=z, x=strategies, y=[SHARD_KEYS[k].label for k in keys], text=text, texttemplate="%{text}",
        textfont={"size": 15}, zmin=1, zmax=max(3.0, float(np.nanmax(z))), showscale=False,
        colorscale=[[0, "#FFFFFF"], [0.35, "#F0E442"], [1, BAD]], xgap=2, ygap=2,
        hovertemplate="%{y} · %{x}: busiest shard %{text}× the mean<extra></extra>"))  # fmt: skip
    apply_style(fig, height=360)
    fig.update_layout(margin={"l": 170, "r": 10, "t": 30, "b": 50})
    fig.update_xaxes(side="top", tickangle=0)
    fig.update_yaxes(autorange="reversed")
    return fig


def _old_movement_figure(movements, highlight=None):
    labels = [STRATEGIES[m.strategy].label for m in movements]
    colours = [HIGHLIGHT if m.strategy == highlight else PALETTE[0] for m in movements]
    fig = go.Figure(go.Bar(
        x=[m.fraction for m in movements], y=labels, orientation="h", marker_color=colours, name="measured",
        text=[f"{m.fraction:.1%}" for m in movements], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.1%} of rows moved<extra></extra>"))  # fmt: skip
    theory = [(m.expected, lb) for m, lb in zip(movements, labels, strict=True) if m.expected is not None]
    if theory:
        fig.add_trace(go.Scatter(x=[t for t, _ in theory], y=[lb for _, lb in theory], mode="markers",
                                 name="theory", marker={"symbol": "line-ns", "size": 26, "color": "#000000",
                                                        "line": {"width": 3}},
                                 hovertemplate="theory %{x:.1%}<extra></extra>"))  # fmt: skip
    apply_style(fig, height=340)
    fig.update_layout(margin={"l": 240, "r": 60, "t": 40, "b": 50})
    fig.update_xaxes(tickformat=".0%", range=[0, 1.12], title="rows moved")
    fig.update_yaxes(autorange="reversed")
    return fig


def _old_migration_figure(mig):
    steps = [s for s in mig.steps if np.isfinite(s.duration_s)]
    fig = go.Figure(go.Bar(
        y=[s.name for s in steps], x=[max(s.duration_s, mig.total_s * 0.004 if np.isfinite(mig.total_s) else 0)
                                     for s in steps],
        base=[s.start_s for s in steps], orientation="h", marker_color=[colour(i) for i in range(len(steps))],
        customdata=[[s.what, s.duration_s] for s in steps],
        hovertemplate="%{y}: %{customdata[1]:,.1f} s<br>%{customdata[0]}<extra></extra>", showlegend=False))  # fmt: skip
    apply_style(fig, height=330)
    fig.update_layout(margin={"l": 130, "r": 30, "t": 30, "b": 50})
    fig.update_xaxes(title="seconds from the start of the migration", rangemode="tozero")
    fig.update_yaxes(autorange="reversed")
    return fig


def _old_slot_map_figure(before, after):
    fig = go.Figure()
    for row, owner in (("before", before), ("after", after)):
        cut = np.flatnonzero(np.diff(owner)) + 1
        starts, ends = np.concatenate(([0], cut)), np.concatenate((cut, [SLOTS]))
        shards = owner[starts]
        fig.add_trace(go.Bar(
            y=[row] * len(starts), x=ends - starts, base=starts, orientation="h", showlegend=False,
            marker={"color": [colour(int(s)) for s in shards], "line": {"color": "#FFFFFF", "width": 1}},
            customdata=np.stack([starts, ends - 1, shards], axis=1),
            hovertemplate="slots %{customdata[0]:,}–%{customdata[1]:,}: shard S%{customdata[2]}<extra></extra>"))  # fmt: skip
    apply_style(fig, height=220)
    fig.update_layout(barmode="overlay", margin={"l": 80, "r": 20, "t": 20, "b": 50})
    fig.update_xaxes(range=[0, SLOTS], title="slot")
    fig.update_yaxes(autorange="reversed")
    return fig


MORE = (
    *CONFIGS,
    ShardingConfig(users=600, strategy="slots", shards=5, new_shards=3),
    ShardingConfig(users=300, strategy="modulo", shard_key="post_id", new_shards=16, network_mb_per_s=1.0,
                   scale=10_000),
)  # fmt: skip


def _builds(r):
    cfg = r.config
    rows = skew_table(r.dataset, cfg.shards, cfg.workload(), cfg.vnodes)
    out = [
        (lambda: charts.shard_figure(r.loads, cfg.read_capacity, cfg.write_capacity),
         lambda: _old_shard_figure(r.loads, cfg.read_capacity, cfg.write_capacity)),
        (lambda: charts.skew_heatmap(rows), lambda: _old_skew_heatmap(rows)),
        (lambda: charts.skew_heatmap(rows, "rows"), lambda: _old_skew_heatmap(rows, "rows")),
        (lambda: charts.result_movement_figure(r), lambda: _old_movement_figure(r.movements, cfg.strategy)),
        (lambda: charts.movement_figure(r.movements), lambda: _old_movement_figure(r.movements)),
        (lambda: charts.migration_figure(r.migration), lambda: _old_migration_figure(r.migration)),
        (lambda: charts.hot_shard_figure(r.hot), lambda: _old_hot_shard_figure(r.hot)),
        (lambda: charts.join_figure(r.feed), lambda: _old_join_figure(r.feed)),
    ]  # fmt: skip
    if cfg.strategy == "slots":
        out.append((lambda: charts.result_slot_map_figure(r),
                    lambda: _old_slot_map_figure(r.placement.state, r.resharded.state)))  # fmt: skip
    return out


@pytest.mark.parametrize("cfg", MORE)
def test_every_figure_is_the_validated_build(cfg, monkeypatch):
    """Every builder's dicts, unvalidated, give the JSON of the go.Figure build it replaced; and validating
    the same dicts changes nothing (a misspelt property would fail here)."""
    r = run_sharding(cfg)
    builds = _builds(r)
    fast = [spec(new()) for new, _ in builds]
    assert fast == [spec(old()) for _, old in builds]
    plain = charts.figure_from
    monkeypatch.setattr(charts, "figure_from", lambda traces, layout: plain(traces, layout, validate=True))
    assert [spec(new()) for new, _ in builds] == fast
