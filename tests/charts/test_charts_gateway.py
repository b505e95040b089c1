"""The API gateway's figures (sdcore/charts/gateway.py) hold the run's numbers, counted here straight from
the run's decisions.

Invariants: the outcome bars of each client (and endpoint) add up, status by status, to that client's
decisions; the timeline's bars, rate times bin width, add up to the same counts per client and status, on
one shared time axis that covers the run; the state-cost lines are the measured bytes and numbers; the
Retry-After histogram counts each 429 once, at its header's whole seconds.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import numpy as np
import plotly.graph_objects as go
import pytest

from lessons.api_gateway import SCENARIOS
from sdcore.charts.gateway import (
    STATUS_COLOURS,
    STATUS_NAMES,
    outcome_figure,
    retry_histogram,
    state_cost_figure,
    timeline_figure,
)
from sdcore.ratelimit.gateway import status_timeline
from sdcore.ratelimit.statecost import state_cost_table

STATUSES = (200, 429, 403)


@pytest.fixture(scope="module")
def run():
    """Every profile for 30 s under the per-endpoint rules: all three statuses occur."""
    return replace(SCENARIOS["API gateway with per-endpoint rules"], duration=30, seed=2).run()


def counted(run, group) -> Counter:
    """(group of the request, status) -> requests, from the decisions."""
    return Counter((group(r), d.status) for r, d in zip(run.requests, run.decisions, strict=True))


@pytest.mark.parametrize(
    ("rows", "group"),
    [
        (lambda run: run.by_client(), lambda r: r.client),
        (lambda run: run.by_endpoint(), lambda r: r.attributes["endpoint"]),
    ],
    ids=["per client", "per endpoint"],
)
def test_outcome_bars_are_the_runs_counts(run, rows, group):
    fig = outcome_figure(rows(run), "Per something")
    want = counted(run, group)
    assert isinstance(fig, go.Figure) and fig.layout.barmode == "stack"
    assert [t.name for t in fig.data] == [STATUS_NAMES[s] for s in STATUSES]
    assert [t.marker.color for t in fig.data] == [STATUS_COLOURS[s] for s in STATUSES]
    for status, trace in zip(STATUSES, fig.data, strict=True):
        assert {w: y for w, y in zip(trace.x, trace.y, strict=True)} == {
            w: want[(w, status)] for w in trace.x
        }
    assert sorted(fig.data[0].x) == sorted({w for w, _ in want})
    assert sum(sum(t.y) for t in fig.data) == len(run.requests)
    assert fig.layout.title.text == "Per something"


def test_every_status_occurs_in_the_run(run):
    assert set(counted(run, lambda r: r.client).values()) and {d.status for d in run.decisions} == set(
        STATUSES
    )


def test_timeline_bars_add_up_to_the_runs_counts(run):
    timeline = status_timeline(run)
    fig = timeline_figure(timeline)
    want = counted(run, lambda r: r.client)
    clients = list(timeline)
    assert [a.text for a in fig.layout.annotations] == clients  # one row per client, titled
    axes = {c: "x" if i == 0 else f"x{i + 1}" for i, c in enumerate(clients)}
    got: Counter = Counter()
    for t in fig.data:
        client = next(c for c, ax in axes.items() if (t.xaxis or "x") == ax)
        status = next(s for s, name in STATUS_NAMES.items() if name == t.name)
        got[(client, status)] += round(float(np.sum(np.asarray(t.y) * t.width)))
        assert t.marker.color == STATUS_COLOURS[status]
        assert min(t.x) > 0 and max(t.x) < max(r.time for r in run.requests)
    assert got == want
    assert sorted(t.name for t in fig.data if t.showlegend) == sorted(STATUS_NAMES[s] for s in STATUSES)
    assert fig.layout.height == 140 + 150 * len(clients)


def test_state_cost_lines_are_the_measured_costs():
    costs = state_cost_table((10, 1_000))
    labels = {"sliding_log": "Sliding window log", "gcra": "GCRA"}
    fig = state_cost_figure(costs, labels)
    algorithms = list(dict.fromkeys(c.algorithm for c in costs))
    assert [t.name for t in fig.data] == [labels.get(a, a) for a in algorithms]
    for a, t in zip(algorithms, fig.data, strict=True):
        mine = sorted((c.limit, c.python_bytes, c.numbers) for c in costs if c.algorithm == a)
        assert list(t.x) == [m[0] for m in mine] and list(t.y) == [m[1] for m in mine]
        assert list(t.customdata) == [m[2] for m in mine]
    log = next(t for t in fig.data if t.name == "Sliding window log")
    assert log.customdata[-1] > 1_000 > fig.data[0].customdata[-1]  # a timestamp per request vs a few numbers
    assert fig.layout.xaxis.type == fig.layout.yaxis.type == "log"


def test_retry_histogram_counts_each_429_at_its_header(run):
    retry = np.array([d.retry_after for d in run.decisions if d.retry_after is not None])
    assert len(retry) == sum(d.status == 429 for d in run.decisions) > 0
    fig = retry_histogram(retry)
    x = np.asarray(fig.data[0].x)
    assert len(x) == len(retry)
    headers = Counter(int(d.headers()["Retry-After"]) for d in run.decisions if d.status == 429)
    assert Counter(int(v) for v in x) == headers
    assert all(v == math.ceil(r) for v, r in zip(x, retry, strict=True))
