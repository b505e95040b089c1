"""AppTest for the rate-limiter page: the numbers it shows, computed again here from the engine."""

import json

import numpy as np
import pytest

from lessons.rate_limiter import PRESETS, next_cursor, state_number
from sdcore.ratelimit import (
    FixedWindowCounter,
    LeakingBucket,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
    boundary_burst,
    bursty,
    max_admitted_in_window,
    parse_trace_csv,
    poisson,
    simulate,
    state_at,
)
from tests.pages.conftest import metric, open_page

PAGE = "pages/rate_limiter.py"
SHORT = {
    "token_bucket": "Token bucket",
    "leaking_bucket": "Leaking bucket",
    "fixed_window": "Fixed window",
    "sliding_log": "Sliding log",
    "sliding_window_counter": "Sliding counter",
}


def limiters(limit, window, capacity, refill, queue, outflow):
    return {
        "token_bucket": TokenBucket(capacity, refill),
        "leaking_bucket": LeakingBucket(queue, outflow),
        "fixed_window": FixedWindowCounter(limit, window),
        "sliding_log": SlidingWindowLog(limit, window),
        "sliding_window_counter": SlidingWindowCounter(limit, window),
    }


def table(at):
    return at.dataframe[0].value.set_index("algorithm")


def ok(at):
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_default_flash_sale_shows_the_engines_numbers():
    """Flash sale: 500/s for 1 s every 5 s over 50/s, 100 per second. Every admitted share, the table and the
    sliding log's busiest window are what simulate() gives on the same trace, built here independently."""
    at = open_page(PAGE)
    trace = bursty(500.0, 50.0, 1.0, 4.0, 120.0, rng=0)
    assert metric(at, "Requests in the trace") == f"{len(trace):,}"
    rows = table(at)
    for name, lim in limiters(100, 1.0, 100, 100.0, 100, 100.0).items():
        r = simulate(lim, trace.timestamps)
        assert metric(at, SHORT[name]) == f"{r.accepted / len(trace):.1%}"
        row = rows.loc[lim.label.split(" (")[0]] if name != "sliding_log" else rows.loc["Sliding window log"]
        assert (row["accepted"], row["rejected"]) == (r.accepted, r.rejected)
        assert row["max_in_window"] == max_admitted_in_window(r.time_us[r.allowed] / 1e6, 1.0)
    assert rows.loc["Sliding window log", "max_in_window"] <= 100
    assert rows.loc["Sliding window log (admitted only)", "max_in_window"] <= 100
    assert not at.error and at.query_params["preset"] == "Flash sale burst"
    # Six charts: arrivals, four states, the busiest windows (plus A/B): each has data.
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == 7 and all(s["data"] for s in specs)


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset(preset):
    at = open_page(PAGE, {"preset": preset})
    assert not at.error
    rows = table(at)
    fixed, log = rows.loc["Fixed window counter"], rows.loc["Sliding window log"]
    assert log["max_in_window"] <= log["limit"]
    if preset == "Burst across the window edge":
        assert fixed["max_in_window"] == 2 * fixed["limit"] == 20  # the 2x problem
        assert metric(at, "Fixed window") == "100.0%" and metric(at, "Sliding log") == "50.0%"
    elif preset == "Steady under the limit":
        assert all(metric(at, s) == "100.0%" for s in SHORT.values())
    elif preset == "Abusive client":
        text = " ".join(m.value for m in at.markdown)
        assert "busiest client (abuser" in text
        assert at.selectbox(key="rl.client").value == "abuser"
    elif preset == "Bucket too small for normal traffic":
        r = simulate(TokenBucket(3, 100.0), poisson(90.0, 120.0, rng=0).timestamps)
        assert metric(at, "Token bucket") == f"{r.accepted / len(r):.1%}" and r.rejected > 0.1 * len(r)


def test_one_algorithm_and_extremes():
    at = open_page(
        PAGE,
        {
            "preset": "Steady under the limit",
            "algorithm": "token_bucket",
            "limit": "1",
            "window": "0.01",
            "capacity": "1",
            "refill": "0.01",
            "duration": "5",
        },
    )
    assert [m.label for m in at.metric][:3] == [
        "Requests in the trace",
        "Token bucket",
        "Most in any 0.01 s window",
    ]
    assert metric(at, "Token bucket") == f"{1 / 400:.1%}"  # one token, refilled once per 100 s
    assert len(at.table[0].value) == 1
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == 4  # arrivals + token level, busiest windows, A/B
    at = ok(open_page(PAGE, {"limit": "100000", "window": "3600", "capacity": "100000", "queue": "100000"}))
    assert all(metric(at, s) == "100.0%" for s in SHORT.values())


def test_too_much_traffic_is_refused_with_the_cap():
    at = open_page(PAGE, {"preset": "Steady under the limit", "rate": "100000", "duration": "3600"})
    assert any("at most 1,000,000" in e.value for e in at.error)
    assert not at.get("plotly_chart")


def test_bad_url_values_fall_back_with_a_notice():
    at = open_page(PAGE, {"preset": "Burst across the window edge", "limit": "abc", "shape": "square"})
    notices = " ".join(w.value for w in at.warning)
    assert "limit" in notices and "shape" in notices
    assert metric(at, "Fixed window") == "100.0%"


def test_upload_bad_then_good_then_bad_keeps_the_last_good_trace():
    at = open_page(PAGE, {"preset": "Burst across the window edge"})
    up = at.file_uploader(key="rl.upload")
    up.set_value(("bad.csv", b"time,client\n0.1,a\nsoon,a\n-1,b\n", "text/csv")).run()
    ok(at)
    assert any("row 3: 'soon' is not a number" in e.value and "row 4" in e.value for e in at.error)
    assert any("the generated traffic" in e.value for e in at.error)
    assert metric(at, "Requests in the trace") == "20"  # nothing lost
    good = b"t\n" + b"\n".join(f"{i / 20:.2f}".encode() for i in range(30)) + b"\n"
    at.file_uploader(key="rl.upload").set_value(("good.csv", good, "text/csv")).run()
    ok(at)
    r = simulate(FixedWindowCounter(10, 1.0), parse_trace_csv(good).timestamps)
    assert metric(at, "Requests in the trace") == "30" and not at.error
    assert metric(at, "Fixed window") == f"{r.accepted / 30:.1%}"
    at.file_uploader(key="rl.upload").set_value(("worse.csv", b"1\n2\nx\n", "text/csv")).run()
    ok(at)
    assert any("row 3" in e.value and "the previous upload (good.csv)" in e.value for e in at.error)
    assert metric(at, "Requests in the trace") == "30"


def test_moving_the_time_cursor_changes_the_state_and_play_advances_it():
    at = open_page(PAGE, {"preset": "Burst across the window edge"})
    trace = boundary_burst(10, 1.0)
    lim = limiters(10, 1.0, 10, 10.0, 10, 10.0)
    for t in (0.95, 1.05):
        at.slider(key="rl.cursor").set_value(t).run()
        ok(at)
        states = at.table[0].value.set_index("algorithm")
        for name, label in (("token_bucket", "Token bucket"), ("fixed_window", "Fixed window counter")):
            s = state_at(simulate(lim[name], trace.timestamps), t)
            assert states.loc[label, "state"] == f"{state_number(s.value)} {s.label}"
            assert states.loc[label, "admitted so far"] == s.accepted
    assert any(m.value.startswith("**At t = 1.050 s**") for m in at.markdown)
    lo, hi = float(trace.timestamps[0]), float(trace.timestamps[-1])
    at.toggle(key="rl.play").set_value(True).run()
    ok(at)
    assert at.slider(key="rl.cursor").value == pytest.approx(next_cursor(1.05, lo, hi))
    at.toggle(key="rl.play").set_value(False).run()


def test_ab_columns_previous_run_and_reveal():
    at = open_page(PAGE)
    trace = bursty(500.0, 50.0, 1.0, 4.0, 120.0, rng=0).timestamps
    a, b = simulate(TokenBucket(100, 100.0), trace), simulate(TokenBucket(500, 100.0), trace)
    admitted = [m for m in at.metric if m.label == "Admitted"]
    assert [m.value for m in admitted] == [f"{a.accepted / len(a):.1%}", f"{b.accepted / len(b):.1%}"]
    assert admitted[1].delta == f"{100 * (b.accepted - a.accepted) / len(a):+.1f} pts vs A"
    # Change the limit: every headline shows its change against the previous run.
    at.number_input(key="ratelimit.limit").set_value(150).run()
    ok(at)
    before = simulate(FixedWindowCounter(100, 1.0), trace)
    after = simulate(FixedWindowCounter(150, 1.0), trace)
    fw = next(m for m in at.metric if m.label == "Fixed window")
    assert fw.delta == f"{100 * (after.accepted - before.accepted) / len(trace):+.1f} pts"
    assert any("against the previous run" in c.value for c in at.caption)
    assert at.selectbox[0].value == "Custom"
    # Predict, then reveal: the fixed window's busiest window.
    next(b for b in at.button if b.label == "Reveal").click().run()
    most = max_admitted_in_window(after.time_us[after.allowed] / 1e6, 1.0)
    assert metric(at, "Fixed window, busiest window") == f"{most:,}"
    assert np.isfinite(most)


def test_a_one_request_upload_and_clearing_it():
    """The smallest trace still draws (the cursor range is widened to a millisecond); clearing the file
    returns to the generated traffic."""
    at = open_page(PAGE, {"preset": "Burst across the window edge"})
    at.file_uploader(key="rl.upload").set_value(("one.csv", b"5.0\n", "text/csv")).run()
    ok(at)
    assert metric(at, "Requests in the trace") == "1" and not at.error
    assert all(metric(at, s) == "100.0%" for s in SHORT.values())
    assert at.slider(key="rl.cursor").value == 5.0  # nothing rejected: the middle of the one request
    at.file_uploader(key="rl.upload").set_value(None).run()
    ok(at)
    assert metric(at, "Requests in the trace") == "20"


def test_settings_hidden_by_an_error_come_back_unchanged():
    """Too much traffic hides the lower page; going back to a valid rate shows B, the zoom and the rest as
    they were (not their widget minimums), and the link carries only the rate that changed."""
    at = open_page(PAGE, {"preset": "Flash sale burst"})
    keep = {k: at.session_state[k] for k in ("ratelimit.b_limit", "ratelimit.b_window", "ratelimit.zoom")}
    at.number_input(key="ratelimit.rate").set_value(100000.0).run()
    assert any("at most 1,000,000" in e.value for e in at.error)
    at.number_input(key="ratelimit.rate").set_value(80.0).run()
    assert {k: at.session_state[k] for k in keep} == keep
    assert dict(at.query_params) == {"preset": "Flash sale burst", "rate": "80"}
