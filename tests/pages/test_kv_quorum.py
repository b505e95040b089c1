"""AppTest for the quorum page: the numbers it shows, recomputed here from the engine and closed forms."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pytest

from lessons import kv_quorum as kv
from sdcore.checks import number_text
from sdcore.kvstore import LegLatencies, simulate_staleness, t_for_probability
from tests.pages.conftest import frame_with, metric, open_page

PAGE = "pages/kv_quorum.py"
TRIALS = 20_000


def run(query: dict[str, str]):
    return open_page(PAGE, {"trials": str(TRIALS), **query})


def engine(n, r, w, latency="linkedin-ssd", trials=TRIALS, seed=0):
    return simulate_staleness(n, r, w, latency, [0.0], trials, seed)


def verdict_text(at) -> str:
    return " ".join(x.value for x in [*at.success, *at.warning])


def quorum_table(at):
    return next(d.value for d in at.dataframe if "closed_form_staleness" in d.value.columns)


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def values(v) -> np.ndarray:
    """A plotly array: a list, or a typed array {"dtype", "bdata"} encoded in base64."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v)


def closed_form(n, r, w) -> float:
    return math.comb(n - w, r) / math.comb(n, r)


def assert_shows(at, n, r, w, latency="linkedin-ssd", t=10):
    """Verdict, closed form, WARS at the cursor, latency quantiles and the table, all recomputed."""
    strong = r + w > n
    assert ("Strong consistency guaranteed" if strong else "Stale reads possible") in verdict_text(at)
    assert metric(at, "Stale reads at commit") == f"{closed_form(n, r, w):.1%}"
    result = engine(n, r, w, latency)
    assert metric(at, f"Consistent reads at t = {number_text(t)} ms") == f"{result.probability_at(t):.2%}"
    assert metric(at, "99.9% of reads consistent after") == f"{t_for_probability(result, 0.999):.3g} ms"
    q = result.read_latency
    assert metric(at, "Read latency") == f"{q.p50:.2f} · {q.p999:.2f} ms"
    q = result.write_latency
    assert metric(at, "Write latency") == f"{q.p50:.2f} · {q.p999:.2f} ms"
    table = quorum_table(at)
    assert len(table) == n * n
    for row in table.itertuples():
        assert row.closed_form_staleness == pytest.approx(closed_form(n, row.r, row.w))
        assert row.strong == (row.r + row.w > n)
    mine = table[(table.r == r) & (table.w == w)].iloc[0]
    assert mine.yours and table.yours.sum() == 1
    assert mine.p_consistent == pytest.approx(result.probability_at(0.0))
    sentence = " ".join(m.value for m in at.markdown)
    assert ("**Guaranteed**" if strong else "**At least ") in sentence
    return result


def test_default_dynamo_is_strong():
    at = run({})
    assert at.selectbox[0].value == "Custom"  # trials differ from the preset
    assert_shows(at, 3, 2, 2)
    assert metric(at, "Consistent reads at t = 10 ms") == "100.00%"
    assert at.query_params["trials"] in (str(TRIALS), [str(TRIALS)])
    quorum = charts(at)[1]
    both = next(t for t in quorum["data"] if t.get("name") == "in both quorums")
    assert both["customdata"] == [2]  # write on replicas 1-2, read on 2-3
    levels = next(d.value for d in at.dataframe if "level" in d.value.columns)
    assert dict(zip(levels.level, levels.replicas, strict=True)) == {
        "ONE": 1,
        "TWO": 2,
        "THREE": 3,
        "QUORUM": 2,
        "ALL": 3,
    }
    ring = frame_with(at, "preference list")
    assert all(len(set(p.split(", "))) == 3 for p in ring["preference list"])


@pytest.mark.parametrize("preset", list(kv.PRESETS))
def test_every_preset(preset):
    p = kv.PRESETS[preset].params
    at = run({"preset": preset})
    result = assert_shows(at, p["n"], p["r"], p["w"], p.get("latency", "linkedin-ssd"))
    curve = next(c for c in charts(at) if any(t.get("name") == result.label for t in c["data"]))
    line = next(t for t in curve["data"] if t.get("name") == result.label)
    x = values(line["x"])
    np.testing.assert_allclose(values(line["y"]), 100 * np.asarray(result.probability_at(x)))
    assert x[-1] >= 20  # the axis reaches twice the 10 ms cursor


def test_eventual_on_disks_sentence_and_why():
    at = run({"preset": "Eventual (3,1,1) on LinkedIn disks", "t": "20"})
    result = engine(3, 1, 1, "linkedin-disk")
    p = result.probability_at(20)
    bound = math.floor(1000 * kv.lower_bound(round(p * TRIALS), TRIALS)) / 10
    text = " ".join(m.value for m in at.markdown)
    assert f"**At least {bound:.1f}%** chance of reading the last write **20 ms** after it commits" in text
    stale = 1 - result.probability_at(0.0)
    assert "= 2/3 = **66.7%**" in text and f"**{stale:.2%}** stale at t = 0" in text
    assert stale < 2 / 3


def test_extreme_one_replica():
    at = run({"n": "1", "r": "1", "w": "1"})
    assert_shows(at, 1, 1, 1)
    assert at.slider(key="kv.r").disabled and at.slider(key="kv.w").disabled


def test_extreme_ten_replicas_one_and_one():
    at = run({"n": "10", "r": "1", "w": "1"})
    assert metric(at, "Stale reads at commit") == "90.0%"
    assert_shows(at, 10, 1, 1)


@pytest.mark.parametrize("trials", [10_000, 1_000_000])
def test_trials_extremes(trials):
    """The fewest and the most trials; the table stops at its own limit and says so."""
    at = open_page(PAGE, {"preset": "Five replicas", "trials": str(trials)}, timeout=120)
    result = engine(5, 2, 2, trials=trials)
    assert metric(at, "Consistent reads at t = 10 ms") == f"{result.probability_at(10):.2%}"
    captions = " ".join(c.value for c in at.caption)
    assert ("the table's limit" in captions) == (trials > 500_000)


def test_bad_url_values_fall_back_with_notices():
    at = run({"r": "9", "latency": "hdd", "rate_w": "0"})
    notices = " ".join(w.value for w in at.warning)
    assert "R = 9 is more than N = 3 replicas, so R is now 3" in notices
    assert "latency" in notices and "rate_w" in notices
    assert at.slider(key="kv.r").value == 3
    assert_shows(at, 3, 3, 2)


def test_lowering_n_clamps_r_with_a_notice():
    at = run({"preset": "Fast writes (W=1)"})  # N = 3, R = 3, W = 1
    at.slider(key="kv.n").set_value(2).run()
    assert "R = 3 is more than N = 2 replicas" in " ".join(w.value for w in at.warning)
    assert at.slider(key="kv.r").value == 2
    assert_shows(at, 2, 2, 1)


def test_level_buttons_set_r_and_w():
    at = run({"preset": "Five replicas"})
    next(b for b in at.button if b.label == "ONE / ALL").click()
    at.run()
    assert (at.slider(key="kv.r").value, at.slider(key="kv.w").value) == (1, 5)
    assert at.selectbox[0].value == "Custom"
    assert at.query_params["r"] in ("1", ["1"]) and at.query_params["w"] in ("5", ["5"])
    assert_shows(at, 5, 1, 5)


def test_exponential_legs_and_the_cursor():
    at = run({"latency": "exponential", "rate_w": "0.1", "r": "1", "w": "1", "t": "0"})
    legs = kv.latency_model("exponential", (0.1, 1.0, 1.0, 1.0))
    assert isinstance(legs, LegLatencies)
    result = simulate_staleness(3, 1, 1, legs, [0.0], TRIALS, 0)
    assert metric(at, "Consistent reads at t = 0 ms") == f"{result.probability_at(0.0):.2%}"
    assert not at.number_input(key="kv.rate_w").disabled


def test_predict_then_reveal():
    at = run({"preset": "Five replicas"})
    assert not [m for m in at.metric if m.label == "Your guess"]
    at.slider(key="kv.guess").set_value(50).run()
    next(b for b in at.button if b.label == "Reveal").click()
    at.run()
    assert metric(at, "Your guess") == "50%"
    assert metric(at, "Random quorums (closed form)") == f"{closed_form(5, 2, 2):.2%}" == "30.00%"
    stale = 1 - engine(5, 2, 2).probability_at(0.0)
    assert metric(at, "WARS simulation at t = 0") == f"{stale:.2%}"
    at.slider(key="kv.r").set_value(3).run()  # a new experiment hides the answer again
    assert not [m for m in at.metric if m.label == "Your guess"]


def test_figures_are_drawn_once_per_result_and_cursor(monkeypatch):
    """A rerun with nothing changed draws no figure again; moving the cursor t draws only the curve."""
    import functools

    from sdcore.charts import kvstore as chart_module

    calls: list[str] = []

    def counting(build):
        @functools.wraps(build)
        def wrapper(*args, **kwargs):
            calls.append(build.__name__)
            return build(*args, **kwargs)

        return wrapper

    names = (
        "consistency_curve_figure",
        "quorum_figure",
        "leg_latency_figure",
        "latency_consistency_figure",
        "quorum_heatmap_figure",
        "preference_ring_figure",
    )
    for name in names:
        monkeypatch.setattr(chart_module, name, counting(getattr(chart_module, name)))
    import streamlit as st

    st.cache_resource.clear()  # results and figures cached by earlier tests in this process
    at = run({"seed": "4242", "n": "4", "r": "2", "w": "2"})  # asked by no other test: drawn here first
    assert sorted(calls) == sorted(names)
    at.run()
    assert len(calls) == len(names)
    at.select_slider(key="kv.t").set_value(100).run()
    assert calls[len(names) :] == ["consistency_curve_figure"]
