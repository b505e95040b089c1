"""What the page shows of the synchronization model: the headlines, the cost table, the measured-vs-expected
sentence and the side-by-side figure, each checked against the model's own result.

Invariants: the figures are the model's numbers (nothing recomputed differently for display); shared and
sticky show the limit; local counters show M x the limit as the worst case and the closed form's mean;
the figure's per-client lines are each client's admitted per window over the window.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from lessons.distributed_rate_limiting import (
    live_demo_config,
    per_window,
    sync_check,
    sync_client_rows,
    sync_cost_rows,
    sync_headlines,
)
from sdcore.charts.distributed import sync_figure
from sdcore.ratelimit.sync import SYNC_OPTIONS, SyncConfig, compare_sync, expected_admitted

CFG = SyncConfig(instances=4, clients=5, rate=50.0, limit=10, window=1.0, duration=20.0, sync_every=0.5)


@pytest.fixture(scope="module")
def results():
    return compare_sync(CFG)


def test_headlines_are_the_models_numbers(results):
    h = {x.label: x for x in sync_headlines(results)}
    local = per_window(results["local"])
    assert h["Local: worst client"].value == f"{local.mean(axis=1).max():.1f}"
    assert f"expects {expected_admitted(CFG).mean:.1f}" in h["Local: worst client"].help
    assert h["Worst case M × limit"].value == "40"
    assert h["Shared Redis"].value == "10.0"
    assert h["Sticky sessions"].value == "10.0"
    share = results["sticky"].load_share.max()
    assert f"serves {share:.0%}" in h["Sticky sessions"].help
    assert "Synced 0.5 s: worst client" in h


def test_cost_table(results):
    rows = {r["option"]: r for r in sync_cost_rows(results)}
    assert list(rows) == ["Local counters", "Shared Redis", "Sticky sessions", "Synced every 0.5 s"]
    assert rows["Shared Redis"]["round trips / decision"] == 1.0
    assert rows["Local counters"]["round trips / decision"] == 0.0
    assert rows["Local counters"]["staleness"] == "never shared"
    assert rows["Sticky sessions"]["staleness"] == "0 s"
    assert rows["Synced every 0.5 s"]["staleness"] == "up to 0.5 s"
    # every instance syncs every S: M / S round trips a second
    assert rows["Synced every 0.5 s"]["sync round trips / s"] == pytest.approx(4 / 0.5, abs=0.3)
    assert rows["Local counters"]["worst case"] == 40
    assert rows["Local counters"]["most in a window"] <= 40
    assert rows["Shared Redis"]["admitted / client / window"] == 10.0
    assert rows["Local counters"]["admitted / client / window"] == round(
        float(per_window(results["local"]).mean()), 2
    )


def test_the_check_sentence_says_measured_and_expected(results):
    text = sync_check(results)
    mean, e = per_window(results["local"]).mean(), expected_admitted(CFG)
    assert text.startswith(f"Local counters admitted {mean:.1f} per client per window on average")
    assert f"the closed form says {e.mean:.1f}" in text and "M × limit = 40" in text
    assert "Shared Redis 10.0, Sticky sessions 10.0" in text
    assert sync_check({o: results[o] for o in ("shared",)}).startswith("Include local counters")


def test_client_rows_for_the_csv(results):
    rows = sync_client_rows(results)
    assert len(rows) == len(SYNC_OPTIONS) * CFG.clients
    assert {r["option"] for r in rows} == {
        "Local counters",
        "Shared Redis",
        "Sticky sessions",
        "Synced every 0.5 s",
    }


def test_a_partial_last_window_is_left_out():
    r = compare_sync(CFG, duration=5.5, options=("shared",))["shared"]
    assert r.admitted.shape[1] == 6 and per_window(r).shape[1] == 5


def test_figure_one_panel_per_option_with_the_limit_lines(results):
    fig = sync_figure(results)
    assert isinstance(fig, go.Figure)
    assert [a.text for a in fig.layout.annotations] == [
        "Local counters",
        "Shared Redis",
        "Sticky sessions",
        "Synced every 0.5 s",
    ]
    local = [t for t in fig.data if t.xaxis == "x" and t.name.startswith("client-")]
    assert len(local) == CFG.clients
    r = results["local"]
    assert np.array_equal(np.asarray(local[0].y[:-1]), r.admitted[0] / CFG.window)
    limits = [t for t in fig.data if t.name == "limit"]
    worst = [t for t in fig.data if t.name == "M × limit"]
    assert len(limits) == 4 and all(list(t.y) == [10, 10] for t in limits)
    assert len(worst) == 2 and all(list(t.y) == [40, 40] for t in worst)  # local and synced only
    assert sum(t.showlegend is not False for t in fig.data) == CFG.clients + 2  # one legend entry each


def test_figure_needs_results():
    with pytest.raises(ValueError, match="at least one"):
        sync_figure({})


def test_live_demo_config_is_small_and_bounded():
    demo = live_demo_config(16, "random", 10)
    assert demo.instances == 8 and demo.policy == "random" and demo.mode == "threads"
    assert demo.duration * demo.runs * len(SYNC_OPTIONS) <= 10
    with pytest.raises(ValueError, match="policy"):
        live_demo_config(4, "weighted", 10)
