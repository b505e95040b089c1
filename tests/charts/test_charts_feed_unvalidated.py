"""The feed figures are built without plotly's validation (``figure_from``); with ``validate=True``, plotly
checks every property, and both ways must give the same figure JSON, so a misspelt property fails here."""

import json

import pytest

from sdcore.charts import feed as charts
from sdcore.feed import FeedConfig, neighbourhood, simulate_all

CONFIGS = [
    FeedConfig(2_000, 1, posts=200),
    FeedConfig(2_000, 2, posts=200, celebrity_followers=5_000, celebrity_posts=2, celebrity_threshold=1_000),
    FeedConfig(1_000, 3, posts=100, active_share=0.05, unfollow_share=0.2),
]


def _builds(config):
    runs = simulate_all(config)
    for name, run in runs.items():
        hood = neighbourhood(run.graph, 0, 30, config.seed)
        yield f"{name} hood", lambda run=run, hood=hood: charts.neighbourhood_figure(hood, run)
        yield f"{name} delay", lambda run=run: charts.delay_figure(run)
        for cursor in (None, 0.0, 1.0):
            yield f"{name} queue {cursor}", lambda run=run, c=cursor: charts.queue_figure(run, c)
        post = run.celebrity_post
        if post is not None and run.writes_per_post[post] > 0:
            yield f"{name} reached", lambda run=run, p=post: charts.reached_figure(run, p, 0.5)
    yield "amplification", lambda: charts.amplification_figure(runs)
    yield "message", lambda: charts._message("nothing here", 300)


@pytest.mark.parametrize("config", CONFIGS)
def test_unvalidated_figures_are_the_validated_ones(config, monkeypatch):
    plain = charts.figure_from
    for label, build in _builds(config):
        monkeypatch.setattr(charts, "figure_from", lambda *a, **kw: plain(*a, validate=True, **kw))
        checked = json.loads(build().to_json())
        monkeypatch.setattr(charts, "figure_from", plain)
        fast = json.loads(build().to_json())
        assert fast == checked, label
