"""The figures draw what the runs hold."""

from __future__ import annotations

import numpy as np

from sdcore.charts.resilience import ROWS, state_machine_figure, timeline_figure
from sdcore.resilience import VARIANTS, ConsecutiveFailures, SimulationConfig, compare, script

CMP = compare(SimulationConfig(duration=60.0, request_rate=50.0, timeline=script("outage", start=10, length=30),
                               breaker=ConsecutiveFailures(fail_max=3, reset_timeout=4.0)))  # fmt: skip


def test_timeline_has_one_column_per_run_and_the_cursor_in_every_panel():
    fig = timeline_figure(CMP, cursor=20.0)
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [VARIANTS[v].label for v in VARIANTS]
    cursor_lines = [s for s in fig.layout.shapes if s.type == "line" and s.x0 == 20.0 and s.x1 == 20.0]
    assert len(cursor_lines) == len(VARIANTS) * len(ROWS)
    calls = [t for t in fig.data if t.name == "dependency calls"]
    for trace, r in zip(calls, CMP.runs.values(), strict=True):
        assert np.array_equal(np.asarray(trace.y), r.dependency_calls / r.config.bin_width)
    success = [t for t in fig.data if t.name == "success"]
    assert sum(float(np.sum(t.y)) for t in success) == sum(r.totals()["success"] for r in CMP.runs.values())


def test_breaker_bands_follow_the_transitions():
    fig = timeline_figure(CMP)
    r = CMP["breaker"]
    open_bars = [t for t in fig.data if t.name == "breaker: open"]
    total = sum(float(np.sum(t.x)) for t in open_bars)
    assert total == sum(b - a for a, b, s in r.state_bands() if s == "open") * 2  # two runs with a breaker


def test_state_machine_counts_the_transitions_taken_up_to_the_cursor():
    r = CMP["fallback"]
    t = r.transitions[4].time
    fig = state_machine_figure(r, cursor=t)
    labels = {
        a.text.split(" ×")[0]: int(a.text.split("×")[1])
        for a in fig.layout.annotations
        if "×" in (a.text or "")
    }
    taken = r.transitions[:5]
    assert labels["trip"] == sum(x.from_state == "closed" and x.to_state == "open" for x in taken)
    assert labels["wait passed"] == sum(x.to_state == "half_open" for x in taken)
    assert labels["trial failed"] == sum(x.from_state == "half_open" and x.to_state == "open" for x in taken)
    filled = [tr.marker.color for tr in fig.data if tr.text[0] == r.transitions[4].to_state.replace("_", "-")]
    assert filled and filled[0] != "white"
