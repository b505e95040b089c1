"""The feed figures: what they draw comes from the run, and never one mark per follower."""

from __future__ import annotations

import numpy as np
import pytest

from sdcore.charts import feed as charts
from sdcore.feed import FeedConfig, neighbourhood, simulate_all


@pytest.fixture(scope="module")
def runs():
    return simulate_all(
        FeedConfig(
            users=2_000,
            seed=4,
            posts=300,
            celebrity_followers=100_000,
            celebrity_posts=1,
            active_share=0.6,
            batch_size=1_000,
        )
    )


def test_neighbourhood_colours_follow_the_strategy(runs):
    hood = neighbourhood(runs["push"].graph, 0, 50, seed=4)
    push = charts.neighbourhood_figure(hood, runs["push"])
    pull = charts.neighbourhood_figure(hood, runs["pull"])
    marks = {t.name: len(t.x) for t in push.data if t.name}
    active = int(runs["push"].world.active[list(hood.nodes[1:])].sum())
    assert marks["pushed: in its cache"] == active and marks["inactive: not fanned out"] == 50 - active
    assert {t.name for t in pull.data if t.name} >= {"active, merged at read time"}
    assert "100,000 followers" in push.layout.title.text


def test_amplification_bars_equal_the_costs(runs):
    fig = charts.amplification_figure(runs)
    writes, reads = fig.data
    assert list(writes.y) == pytest.approx([r.costs().writes_per_post for r in runs.values()])
    assert list(reads.y) == pytest.approx([r.costs().reads_per_load for r in runs.values()])


def test_delay_and_reached_are_binned_and_sampled(runs):
    push = runs["push"]
    hist = charts.delay_figure(push)
    bars = hist.data[0]
    assert len(bars.x) == 40 and sum(bars.y) == int((push.writes_per_post[push.world.accepted] > 0).sum())
    reached = charts.reached_figure(push, 0, cursor=1.0)
    curve = reached.data[0]
    assert len(curve.x) <= 301 and curve.y[-1] == pytest.approx(1.0)
    assert "last follower" in reached.data[1].name
    assert charts.delay_figure(runs["pull"]).layout.annotations[0].text.startswith("No post was fanned out")
    assert charts.reached_figure(runs["hybrid"], 0).layout.annotations[0].text.startswith("Post 0 was not")


def test_queue_figure_has_the_curves_and_the_cursor(runs):
    fig = charts.queue_figure(runs["push"], cursor=2.0)
    assert [t.name for t in fig.data] == ["writes not yet done", "batches waiting"]
    assert np.max(fig.data[0].y) > 0 and fig.layout.shapes[0].x0 == pytest.approx(2.0)
