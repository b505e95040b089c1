"""AppTest for the rate-limiter page: the numbers it shows, computed again here from the engine."""

import json

import numpy as np
import pytest

from lessons.rate_limiter import PRESETS, next_cursor, state_number, table_columns
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
from tests.pages.conftest import frame_with, metric, open_page

PAGE = "pages/rate_limiter.py"
SHORT = {
    "token_bucket": "Token bucket: admitted",
    "leaking_bucket": "Leaking bucket: admitted",
    "fixed_window": "Fixed window: admitted",
    "sliding_log": "Sliding log: admitted",
    "sliding_window_counter": "Sliding counter: admitted",
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
    """The comparison table, under the engine's column names (the page shows rl.table_columns' labels)."""
    df = frame_with(at, "state per client (bytes)")
    window = next(float(c.split()[3]) for c in df.columns if c.startswith("most in any "))
    labels = {label: c for c, (label, _) in table_columns(window).items()}
    return df.rename(columns=labels).set_index("algorithm")


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
        assert (
            metric(at, "Fixed window: admitted") == "100.0%"
            and metric(at, "Sliding log: admitted") == "50.0%"
        )
    elif preset == "Steady under the limit":
        assert all(metric(at, s) == "100.0%" for s in SHORT.values())
    elif preset == "Abusive client":
        text = " ".join(m.value for m in at.markdown)
        assert "busiest client (abuser" in text
        assert at.selectbox(key="rl.client").value == "abuser"
    elif preset == "Bucket too small for normal traffic":
        r = simulate(TokenBucket(3, 100.0), poisson(90.0, 120.0, rng=0).timestamps)
        assert metric(
            at, "Token bucket: admitted"
        ) == f"{r.accepted / len(r):.1%}" and r.rejected > 0.1 * len(r)


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
        "Token bucket: admitted",
        "Most in any 0.01 s window",
    ]
    assert metric(at, "Token bucket: admitted") == f"{1 / 400:.1%}"  # one token, refilled once per 100 s
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
    assert metric(at, "Fixed window: admitted") == "100.0%"


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
    assert metric(at, "Fixed window: admitted") == f"{r.accepted / 30:.1%}"
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
    fw = next(m for m in at.metric if m.label == "Fixed window: admitted")
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


# --- your own traffic: an uploaded access log over days, the cursor at any span, junk uploads ----------

DAY = 86_400


def combined_log(n: int = 3_000, days: float = 4.0, seed: int = 3) -> bytes:
    """A Combined Log Format log over ``days`` days: five ordinary clients and one bot that sends bursts of
    30 requests within a second; paths under /api and /static, two user agents; zone +0200."""
    from datetime import UTC, datetime, timedelta, timezone

    rng = np.random.default_rng(seed)
    start = datetime(2024, 3, 1, tzinfo=UTC)
    hosts = [f"198.51.100.{i}" for i in range(1, 6)]
    lines = []
    times = np.sort(rng.uniform(0, days * DAY, n - 300))
    for i, t in enumerate(times):
        lines.append((t, hosts[i % 5], f"/api/items/{i % 7}", "Mozilla/5.0 (X11; Linux)"))
    for _ in range(10):  # the bot: ten bursts of 30 in one second
        t0 = float(rng.uniform(0, days * DAY - 2))
        lines += [(t0 + k / 40, "2001:db8::bad", "/static/app.js", "bot/1.0") for k in range(30)]
    zone = timezone(timedelta(hours=2))
    out = []
    for t, host, path, agent in sorted(lines):
        stamp = (start + timedelta(seconds=int(t))).astimezone(zone).strftime("%d/%b/%Y:%H:%M:%S %z")
        out.append(f'{host} - - [{stamp}] "GET {path} HTTP/1.1" 200 512 "-" "{agent}"')
    return ("\n".join(out) + "\n").encode()


def upload(at, name, data, kind="text/plain"):
    at.file_uploader(key="rl.upload").set_value((name, data, kind)).run()
    return ok(at)


def shown_frame(at, first_column):
    return next(d.value for d in at.dataframe if d.value.columns[0] == first_column)


def cursor_step_of(at):
    return at.slider(key="rl.cursor").proto.step


@pytest.mark.parametrize("gz", [False, True])
def test_an_uploaded_access_log_over_days_draws_every_section_with_the_engines_numbers(gz):
    """A four-day combined log (a few thousand lines, six clients, one bursty bot), plain and gzipped: the
    format, requests, clients, span and skipped lines are the parser's; the comparison, the suggested
    limit per algorithm and the clients limited are the engine's on the same trace."""
    import gzip

    from lessons.rate_limiter import TUNING_TITLE, cursor_step, time_range
    from sdcore.ratelimit import compare_limiters, limited_clients, parse_trace, suggest_limits
    from sdcore.ratelimit.limiters import LIMIT_ALGORITHMS
    from sdcore.ratelimit.tuning import ALGORITHM_LABELS

    raw = combined_log()
    data = gzip.compress(raw) if gz else raw
    trace = parse_trace(data, "access.log.gz" if gz else "access.log")
    at = open_page(PAGE, {"preset": "Abusive client"})  # limit 10 per 1 s
    upload(at, "access.log.gz" if gz else "access.log", data)
    assert not at.error
    assert metric(at, "Format") == "Combined" + (", gzip" if gz else "")
    assert metric(at, "Requests in the trace") == metric(at, "Requests") == f"{len(trace):,}" == "3,000"
    assert metric(at, "Clients") == "6" and metric(at, "Malformed lines") == "0"
    assert metric(at, "Span").endswith("days")
    assert any("Your upload, access.log" in i.value for i in at.info)  # the log's description
    assert all(at.number_input(key=f"ratelimit.{k}").disabled for k in ("rate", "duration", "clients"))
    heads = {s.value for s in at.subheader}
    assert {"Predict first", "Step through time", "Two settings side by side", TUNING_TITLE} <= heads
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(specs) == 8 and all(s["data"] for s in specs)  # 7 as before, and the peak distribution
    c = compare_limiters(trace.timestamps, trace.keys, rl_settings())
    rows = table(at)
    assert rows.loc["Fixed window counter", "accepted"] == c.row("fixed_window").accepted
    assert rows.loc["Sliding window log", "rejected"] == c.row("sliding_log").rejected > 0
    # The cursor over four days steps in round seconds (a float, built on the engine's time_step).
    lo, hi = time_range(trace)
    step = cursor_step_of(at)
    assert isinstance(step, float) and step == cursor_step(lo, hi) == 2000.0 and 80 <= (hi - lo) / step <= 200
    # Tuning: the suggested limit per algorithm (1% of clients), and whom the limit above hurts.
    sugg = next(d.value for d in at.dataframe if "suggested limit" in d.value.columns).set_index("algorithm")
    for s in suggest_limits(trace.timestamps, trace.keys, 1.0, share=0.01):
        assert sugg.loc[ALGORITHM_LABELS[s.algorithm], "suggested limit"] == f"{s.limit:,}"
        assert sugg.loc[ALGORITHM_LABELS[s.algorithm], "clients limited"] == s.clients_limited
    assert len(sugg) == len(LIMIT_ALGORITHMS)
    hurt = shown_frame(at, "client")
    expect = limited_clients(trace.timestamps, trace.keys, c.settings.limiters()["token_bucket"]).to_frame()
    assert hurt["client"].tolist() == expect["client"].tolist() == ["2001:db8::bad"]
    assert hurt["rejected"].tolist() == expect["rejected"].tolist()
    # Limit by endpoint: two keys (/api, /static), the comparison runs on them.
    at.selectbox(key="ratelimit.limit_by").set_value("endpoint").run()
    ok(at)
    assert at.selectbox(key="rl.client").options == ["/api", "/static"]


def rl_settings(**kw):
    from lessons.rate_limiter import PARAMS as ALL
    from lessons.rate_limiter import PRESETS, settings_from

    v = {p.name: p.default for p in ALL} | dict(PRESETS["Abusive client"].values) | kw
    return settings_from(v)


@pytest.mark.parametrize(
    ("csv", "stops"),
    [(b"0\n0.001\n", (199, 201)), (f"0\n{30 * DAY}\n".encode(), (80, 200))],
    ids=["a millisecond", "thirty days"],
)
def test_the_cursor_steps_sensibly_at_any_span(csv, stops):
    """A trace of a millisecond and one of thirty days: the cursor's step is a float, a round value near
    a 200th of the span (a span over about 200 s used to end the page with an int step)."""
    from lessons.rate_limiter import cursor_step

    at = open_page(PAGE, {"preset": "Burst across the window edge"})
    upload(at, "t.csv", csv, "text/csv")
    step = cursor_step_of(at)
    span = float(csv.split()[-1])
    assert isinstance(step, float) and step == cursor_step(0.0, span)
    assert stops[0] <= span / step <= stops[1]


def test_generated_traffic_longer_than_200_seconds_has_a_cursor():
    at = ok(open_page(PAGE, {"preset": "Steady under the limit", "rate": "1", "duration": "3600"}))
    assert cursor_step_of(at) == 20.0 and metric(at, "Requests in the trace") == "3,600"


def test_a_junk_upload_gives_one_sentence_and_keeps_the_previous_log():
    at = open_page(PAGE, {"preset": "Abusive client"})
    upload(at, "access.log", combined_log(600, days=2))
    assert metric(at, "Requests in the trace") == "600"
    upload(at, "photo.gz", b"\x89PNG\r\n\x1a\n\x00\x00junk", "application/gzip")
    assert len(at.error) == 1
    text = at.error[0].value
    assert text.startswith("photo.gz: ") and "neither an access log nor a CSV trace" in text
    assert "the previous upload (access.log)" in text
    assert metric(at, "Requests in the trace") == "600"


def test_figures_are_drawn_once_per_result_and_cursor(monkeypatch):
    """A rerun with nothing changed draws no figure; a cursor move draws only the time charts, once."""
    from collections import Counter

    from sdcore.charts import ratelimit as charts

    calls = Counter()
    for name in ("arrivals_figure", "binned_arrivals_figure", "token_level_figure", "queue_figure",
                 "window_counts_figure", "estimate_figure", "max_in_window_figure"):  # fmt: skip
        real = getattr(charts, name)
        monkeypatch.setattr(
            charts, name, lambda *a, _real=real, _name=name, **k: calls.update([_name]) or _real(*a, **k)
        )
    at = open_page(PAGE, {"preset": "Steady under the limit", "rate": "79"})
    ok(at)
    before = json.loads(at.get("plotly_chart")[0].proto.spec)
    drawn = sum(calls.values())
    at.run()
    ok(at)
    assert sum(calls.values()) == drawn  # nothing drawn again
    assert json.loads(at.get("plotly_chart")[0].proto.spec) == before
    calls.clear()
    at.slider(key="rl.cursor").set_value(at.slider(key="rl.cursor").value + 1.0).run()
    ok(at)
    assert calls["max_in_window_figure"] == 0
    assert calls["token_level_figure"] == calls["queue_figure"] == 1


def test_the_comparison_table_is_built_once_per_result(monkeypatch):
    """A rerun with nothing changed, or a cursor move, builds no comparison table (one frame per result,
    shown and exported as it is); new settings build the new result's table once."""
    from lessons import rate_limiter as lesson

    calls = []
    real = lesson.comparison_table
    monkeypatch.setattr(lesson, "comparison_table", lambda c: calls.append(c) or real(c))
    at = open_page(PAGE, {"preset": "Steady under the limit", "rate": "79"})
    ok(at)
    shown = table(at)
    assert len(calls) == 1
    at.run()
    at.slider(key="rl.cursor").set_value(at.slider(key="rl.cursor").value + 1.0).run()
    ok(at)
    assert len(calls) == 1
    assert table(at).equals(shown)
    at.number_input(key="ratelimit.rate").set_value(81.0).run()
    ok(at)
    assert len(calls) == 2 and calls[1] is not calls[0]
