"""The quorum page's model: presets, the latency choice, clamping, verdicts, level names and sentences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lessons import kv_quorum as kv
from sdcore.kvstore import (
    LATENCY_PRESETS,
    Exponential,
    consistency_level_count,
    quorum_overlap,
    quorum_table,
    simulate_staleness,
    staleness_probability,
    t_for_probability,
)
from sdcore.kvstore.placement import demo_placement


@pytest.fixture(scope="module")
def eventual():
    return simulate_staleness(3, 1, 1, "linkedin-disk", [0.0], 20_000, 0)


@pytest.fixture(scope="module")
def strong():
    return simulate_staleness(3, 2, 2, "linkedin-ssd", [0.0], 5_000, 0)


def test_presets_are_valid_settings():
    """Every preset names a valid (N, R, W) and a latency the page offers; the five scenarios exist."""
    assert list(kv.PRESETS) == [
        "Dynamo default (3,2,2)",
        "Fast reads (R=1, W=N)",
        "Fast writes (W=1)",
        "Eventual (3,1,1) on LinkedIn disks",
        "Five replicas",
    ]
    for preset in kv.PRESETS.values():
        p = preset.params
        assert 1 <= p["r"] <= p["n"] and 1 <= p["w"] <= p["n"]
        assert p.get("latency", "linkedin-ssd") in kv.LATENCY_CHOICES
    fast_reads = kv.PRESETS["Fast reads (R=1, W=N)"].params
    assert fast_reads["r"] == 1 and fast_reads["w"] == fast_reads["n"]
    assert kv.PRESETS["Fast writes (W=1)"].params["w"] == 1


def test_url_options_round_trip():
    """The cursor and trials stops encode to the same text they parse from (str() and "{:g}" agree)."""
    for t in kv.T_CURSOR_MS:
        assert str(t) == (f"{t:g}" if isinstance(t, float) else str(t))
    assert 100_000 in kv.TRIALS_CHOICES and 20_000 in kv.TRIALS_CHOICES


def test_latency_model():
    """A preset key gives that preset's legs; "exponential" gives one Exponential per leg in W, A, R, S order."""
    assert kv.latency_model("yammer") is LATENCY_PRESETS["yammer"].latency
    legs = kv.latency_model("exponential", (0.1, 1.0, 2.0, 4.0))
    assert legs.legs == (Exponential(0.1), Exponential(1.0), Exponential(2.0), Exponential(4.0))
    with pytest.raises(ValueError, match="latency must be one of"):
        kv.latency_model("hdd")
    with pytest.raises(ValueError, match="rate must be a finite number greater than 0"):
        kv.latency_model("exponential", (1.0, 0.0, 1.0, 1.0))
    assert (
        kv.latency_label("exponential").startswith("Exponential")
        and kv.latency_label("yammer") == "Yammer Riak"
    )


@given(st.integers(1, 10), st.integers(1, 12), st.integers(1, 12))
def test_clamp_quorums(n, r, w):
    """R and W end in 1..N; a value already in range is kept; one notice per value that changed."""
    r2, w2, notices = kv.clamp_quorums(n, r, w)
    assert 1 <= r2 <= n and 1 <= w2 <= n
    assert r2 == min(r, n) and w2 == min(w, n)
    assert len(notices) == (r > n) + (w > n)
    if r > n:
        assert f"R = {r} is more than N = {n}" in notices[0]


@given(st.integers(1, 10).flatmap(lambda n: st.tuples(st.just(n), st.integers(1, n), st.integers(1, n))))
def test_verdict(nrw):
    """Strong exactly when R + W > N; the reason names the sum and, when strong, the guaranteed overlap."""
    n, r, w = nrw
    v = kv.verdict(n, r, w)
    assert v.strong == (r + w > n)
    assert f"= {r + w} {'>' if v.strong else '≤'} N = {n}" in v.reason
    if v.strong:
        assert v.headline == "Strong consistency guaranteed" and f"at least {r + w - n} must" in v.reason
    else:
        assert v.headline == "Stale reads possible"


def test_level_names_agree_with_the_engine():
    """Every level named for a count waits for that many replicas; ONE first for 1, else QUORUM and ALL."""
    assert kv.level_names(2, 3) == ("QUORUM", "TWO")
    assert kv.level_names(3, 3) == ("ALL", "THREE")
    assert kv.level_names(1, 1) == ("ONE", "QUORUM", "ALL")
    assert kv.level_names(4, 10) == ()
    for n in range(1, 11):
        for count in range(1, n + 1):
            assert all(consistency_level_count(level, n) == count for level in kv.level_names(count, n))
    assert kv.describe_levels(3, 1, 3) == "R = 1 is **ONE**; W = 3 is **ALL** (or THREE)"
    assert "R = 4 has no level name" in kv.describe_levels(10, 4, 6)


def test_levels_frame():
    """N = 2: ONE, TWO, QUORUM, ALL exist (THREE does not); the rows matching R and W are marked."""
    frame = kv.levels_frame(2, 1, 2)
    assert list(frame["level"]) == ["ONE", "TWO", "QUORUM", "ALL"]
    assert list(frame["replicas"]) == [1, 2, 2, 2]
    assert list(frame["your setting"]) == ["R", "W", "W", "W"]


@given(st.floats(1e-3, 1e6))
def test_nice_ceiling(x):
    """The result is 1, 2 or 5 times a power of ten, at least x and less than 2.5 x."""
    y = kv.nice_ceiling(x)
    assert x * (1 - 1e-9) <= y < 2.5 * x
    mantissa = y / 10 ** math.floor(math.log10(y) + 1e-9)
    assert min(abs(mantissa - m) for m in (1, 2, 5)) < 1e-6


def test_curve_span_and_grid(eventual):
    """The axis reaches twice the cursor and the 99.9% time; the grid's values are the result's own P(t)."""
    span = kv.curve_span(eventual, 10)
    assert span >= 20 and span >= t_for_probability(eventual, 0.999)
    grid = kv.on_grid(eventual, span)
    assert len(grid.t_ms) == kv.CURVE_POINTS and grid.t_ms[0] == 0 and grid.t_ms[-1] == span
    np.testing.assert_array_equal(grid.consistent, eventual.probability_at(grid.t_ms))
    assert np.all(np.diff(grid.consistent) >= 0)
    assert list(eventual.t_ms) == [0.0]  # the cached result is not changed


def test_lower_bound_is_wilson_and_covers():
    """The bound solves the Wilson equation below p, and covers the true value in about 99% of samples."""
    q = kv.lower_bound(300, 1000)
    z = kv.CONFIDENCE_Z
    assert q < 0.3
    assert (0.3 - q) ** 2 == pytest.approx(z * z * q * (1 - q) / 1000)
    assert kv.lower_bound(0, 10) == 0 and kv.lower_bound(10, 10) < 1
    draws = np.random.default_rng(1).binomial(2000, 0.9, 4000)
    covered = np.mean([kv.lower_bound(int(k), 2000) <= 0.9 for k in draws])
    assert 0.98 <= covered <= 0.998


def test_sentences(eventual, strong):
    """Strong: guaranteed. Otherwise "at least X%" with X the floored lower bound, below the measured value."""
    assert kv.consistency_sentence(strong, 10).startswith("**Guaranteed**")
    text = kv.consistency_sentence(eventual, 10)
    p = eventual.probability_at(10)
    bound = math.floor(1000 * kv.lower_bound(round(p * eventual.trials), eventual.trials)) / 10
    assert text.startswith(f"**At least {bound:.1f}%** chance") and "**10 ms** after it commits" in text
    assert bound < 100 * p and f"measured {p:.2%}" in text


def test_stale_at_commit_and_explanation(eventual, strong):
    """Closed form C(N-W,R)/C(N,R) beside the WARS value at t = 0, which is no larger (here by a wide margin)."""
    closed, measured = kv.stale_at_commit(3, 1, 1, eventual)
    assert closed == pytest.approx(math.comb(2, 1) / math.comb(3, 1)) == staleness_probability(3, 1, 1)
    assert measured == pytest.approx(1 - eventual.probability_at(0.0))
    assert measured < closed
    text = kv.explanation(eventual)
    assert "C(2, 1) / C(3, 1) = 2/3 = **66.7%**" in text and f"**{measured:.2%}** stale" in text
    assert "can all be different" in text
    assert "Both are zero" in kv.explanation(strong) and "must share one" in kv.explanation(strong)


# -- the page's parameters and the words computed from the run --------------------------------------------


def test_params_cover_the_presets_and_label_every_widget():
    """Every preset value is within its parameter's range or choices; every widget has a label and help;
    the four rate inputs are the four WARS legs, in latency_model()'s order."""
    params = {p.name: p for p in kv.PARAMS}
    assert kv.DEFAULT_PRESET in kv.PRESETS
    for preset in kv.PRESETS.values():
        for name, value in preset.params.items():
            p = params[name]
            assert type(value) is type(p.default)
            assert value in p.options if p.options else p.lo <= value <= p.hi
    assert all(p.label and p.help for p in kv.PARAMS)
    assert list(kv.RATES) == ["rate_w", "rate_a", "rate_r", "rate_s"]
    assert [params[n].label for n in kv.RATES][0] == "W: write request rate (/ms)"
    assert params["t"].format(0.5) == "0.5 ms" and params["trials"].format(100_000) == "100,000"


def test_headlines_are_the_results_numbers(eventual):
    heads = {h.label: h for h in kv.headlines(eventual, 20)}
    assert heads["Stale reads at commit, random quorums (closed form)"].value == "66.7%"
    assert heads["Consistent reads at t = 20 ms"].value == f"{eventual.probability_at(20):.2%}"
    t999 = t_for_probability(eventual, 0.999)
    assert heads["99.9% of reads consistent after"].value == f"{t999:.3g} ms"
    q = eventual.write_latency
    assert heads["Write latency, median · p99.9"].value == f"{q.p50:.2f} · {q.p999:.2f} ms"
    guess, closed, measured = kv.reveal_headlines(50, eventual)
    assert guess.value == "50%" and closed.value == "66.67%"
    stale = 1 - eventual.probability_at(0.0)
    assert measured.value == f"{stale:.2%}" and measured.delta == f"{100 * stale - 50:+.1f} pts vs your guess"


def test_captions_follow_the_run(eventual, strong):
    """The overlap caption names the shared replicas only when R + W > N; the curve is called flat only for
    a strong quorum, else its value at commit and its 99.9% time are the result's."""
    assert "green replica 2 in both quorums: R + W = 4 > N = 3" in kv.overlap_caption(quorum_overlap(3, 2, 2))
    assert "replicas 2, 3 in both" in kv.overlap_caption(quorum_overlap(4, 3, 3))
    text = kv.overlap_caption(quorum_overlap(5, 2, 2))
    assert "no replica is in both quorums: R + W = 4 ≤ N = 5" in text and "green" not in text
    assert "flat line at 100%" in kv.curve_caption(strong)
    text = kv.curve_caption(eventual)
    t999 = t_for_probability(eventual, 0.999)
    assert f"from {eventual.probability_at(0.0):.1%} at the commit to 99.9% after {t999:.3g} ms" in text
    assert "flat" not in text
    assert kv.trials_caption(20_000) == "From 20,000 simulated writes and reads shared by every row."
    assert "the table's limit" in kv.trials_caption(1_000_000)


def test_tradeoff_caption_compares_the_strong_and_partial_tails():
    table = quorum_table(3, "linkedin-disk", 5_000, 0)
    tail = table.read_p999_ms + table.write_p999_ms
    s, p = tail[table.strong].median(), tail[~table.strong].median()
    text = kv.tradeoff_caption(table)
    assert f"{s:.3g} ms strong vs {p:.3g} ms partial" in text
    assert ("consistency costs tail latency" in text) == (s > p)
    assert "every quorum is strong" in kv.tradeoff_caption(quorum_table(1, "linkedin-ssd", 1_000, 0))


def test_ring_caption_and_preference_rows():
    ring, placements = demo_placement(3)
    text = kv.ring_caption(ring, placements)
    assert text.startswith(f"{len(ring.nodes)} nodes, {ring.vnodes} points each")
    assert ("grey crosses" in text) == any(p.skipped_points for p in placements)
    rows = kv.preference_rows(placements)
    assert [r["coordinator"] for r in rows] == [p.replicas[0] for p in placements]
    assert all(len(r["preference list"].split(", ")) == 3 for r in rows)
