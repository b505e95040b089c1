"""The rate-limiter page's model: traffic from the page's numbers, presets, the run's summaries, the time
cursor, the bounds the "why" text claims, and the sentences next to Cloudflare's figure."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lessons import rate_limiter as rl
from sdcore.ratelimit import (
    ALGORITHMS,
    FixedWindowCounter,
    LeakingBucket,
    SlidingWindowCounter,
    TokenBucket,
    boundary_burst,
    bursty,
    compare_limiters,
    counter_estimate,
    many_clients,
    poisson,
    simulate,
    state_at,
    state_curve,
    steady,
)
from tests.ratelimit.ratelimit_helpers import US, brute_max_in_window


def run(trace, **kw):
    return compare_limiters(trace.timestamps, trace.keys, rl.limiter_settings(**kw))


# --- presets and parameters --------------------------------------------------------------------------


PARAMS = {p.name: p for p in rl.PARAMS}
DEFAULTS = {p.name: p.default for p in rl.PARAMS}


@pytest.mark.parametrize("name", list(rl.PRESETS))
def test_presets_are_complete_typed_and_in_range(name):
    """Every preset names only known parameters, with the default's type (a float widget given an int
    would fail) and within the widget's range or choices; its traffic builds under the page's cap."""
    params = rl.PRESETS[name].params
    for key, value in params.items():
        assert key in PARAMS
        assert type(value) is type(PARAMS[key].default), key
        if PARAMS[key].lo is not None:
            assert PARAMS[key].lo <= value <= PARAMS[key].hi, key
        if PARAMS[key].options is not None:
            assert value in PARAMS[key].options, key
    config = rl.traffic_from({**DEFAULTS, **params})
    assert 10 <= len(config.build()) <= rl.MAX_PAGE_REQUESTS


def test_every_number_input_has_a_range_and_a_label():
    """Every number parameter is a number input with bounds of its own type around its default, a label and
    help; each is drawn in exactly one of the page's rows."""
    numbers = {p.name for p in rl.PARAMS if p.options is None}
    assert numbers == {p.name for p in rl.PARAMS if p.widget_kind() == "number"}
    assert set(rl.TRAFFIC_FIELDS) | set(rl.LIMITER_FIELDS) | set(rl.B_FIELDS) == numbers
    for name in numbers:
        p = PARAMS[name]
        assert type(p.lo) is type(p.hi) is type(p.default) and p.lo <= p.default <= p.hi
        assert p.label and p.help
    assert all(p.label and p.help for p in rl.PARAMS)
    assert list(rl.PRESETS)[0] == rl.DEFAULT_PRESET


def test_shown_algorithms():
    assert rl.shown_algorithms("all") == tuple(ALGORITHMS)
    assert rl.shown_algorithms("fixed_window") == ("fixed_window",)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        rl.shown_algorithms("leaky")


# --- traffic -----------------------------------------------------------------------------------------


def test_traffic_matches_the_generators_and_normalizes_what_it_ignores():
    """Each shape is the engine's generator with the page's numbers; parameters a shape ignores are reset,
    so two configs that draw the same trace are equal (one cache entry)."""
    c = rl.TrafficConfig("bursty", rate=50.0, peak=10.0, duration=20.0, seed=3)
    assert np.array_equal(c.build().timestamps, bursty(500.0, 50.0, 1.0, 4.0, 20.0, rng=3).timestamps)
    a = rl.TrafficConfig("steady", rate=10.0, duration=5.0, seed=1, peak=7.0, limit=3).normalized()
    b = rl.TrafficConfig("steady", rate=10.0, duration=5.0, seed=9, peak=2.0, limit=8).normalized()
    assert a == b and hash(a) == hash(b)
    assert np.array_equal(a.build().timestamps, steady(10.0, 5.0).timestamps)
    edge = rl.TrafficConfig("boundary", limit=7, window=2.0, rate=1.0).normalized()
    assert edge.rate == rl.TrafficConfig().rate and edge.limit == 7
    assert np.array_equal(edge.build().timestamps, boundary_burst(7, 2.0).timestamps)
    clients = rl.TrafficConfig("clients", rate=2.0, peak=25.0, duration=10.0, clients=5, seed=2).build()
    assert np.array_equal(clients.keys, many_clients(5, 2.0, 50.0, 10.0, rng=2).keys)


@pytest.mark.parametrize("shape", rl.SHAPES)
def test_expected_requests_is_close_to_the_trace(shape):
    c = rl.TrafficConfig(shape, rate=200.0, peak=4.0, duration=50.0, clients=10, limit=30)
    n = len(c.build())
    assert abs(n - c.expected_requests()) <= 0.05 * c.expected_requests() + 5


def test_traffic_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"about 3,600,000 requests; the page simulates at most 1,000,000"):
        rl.TrafficConfig("poisson", rate=1000.0, duration=3600.0).build()
    with pytest.raises(ValueError, match="traffic shape must be one of"):
        rl.TrafficConfig("square")
    with pytest.raises(ValueError, match="peak must be at least 1"):
        rl.TrafficConfig("ramp", peak=0.5).build()
    with pytest.raises(ValueError, match="rate must be more than 0"):
        rl.TrafficConfig("poisson", rate=-1.0).build()


# --- the run: headlines, previous run, A/B -------------------------------------------------------------


def test_remember_keeps_the_previous_parameters_across_reruns():
    tr = poisson(50.0, 10.0, rng=1)
    first = rl.summarize("a", run(tr, limit=40, window=1.0))
    second = rl.summarize("b", run(tr, limit=60, window=1.0))
    h = rl.remember(None, first)
    assert h == (first, None)
    h = rl.remember(h, first)  # a rerun (the time slider moved): nothing to compare yet
    assert h == (first, None)
    h = rl.remember(h, second)
    assert h == (second, first)
    assert rl.remember(h, second) == (second, first)  # still compared with the last other parameters


def test_headlines_show_each_share_and_the_change():
    tr = poisson(50.0, 10.0, rng=1)
    before, now = run(tr, limit=40, window=1.0), run(tr, limit=60, window=1.0)
    prev = rl.summarize("a", before)
    hs = rl.headlines(now, ["token_bucket", "fixed_window"], prev)
    assert [h.label for h in hs] == ["Token bucket: admitted", "Fixed window: admitted"]  # says what the % is
    tb = simulate(TokenBucket(60, 60.0), tr.timestamps)
    tb_before = simulate(TokenBucket(40, 40.0), tr.timestamps)
    assert hs[0].value == f"{tb.accepted / len(tr):.1%}"
    assert hs[0].delta == f"{100 * (tb.accepted - tb_before.accepted) / len(tr):+.1f} pts"
    one = rl.headlines(now, ["fixed_window"], None)
    assert one[0].delta is None and one[1].label == "Most in any 1 s window"
    assert one[1].value == str(now.row("fixed_window").max_in_window)


def test_sides_measure_wait_retry_and_difference():
    tr = boundary_burst(10, 1.0)
    lb = rl.side(simulate(LeakingBucket(10, 10.0), tr.timestamps), 1.0)
    fw = rl.side(simulate(FixedWindowCounter(5, 1.0), tr.timestamps), 1.0)
    assert (lb.accepted, lb.max_in_window, lb.quota) == (12, 12, "queue 10")
    assert lb.wait == pytest.approx(0.495) and lb.retry_after is None
    assert fw.quota == "limit 5" and fw.retry_after is not None and fw.wait is None
    rows = rl.side_metrics(fw, lb)
    assert rows[0] == ("Admitted", f"{10 / 20:.1%}", f"{100 * (10 - 12) / 20:+.1f} pts vs A")
    assert rows[1] == ("Most in any 1 s", "10", "-2 vs A")
    assert rows[2][0] == "Median Retry-After" and rows[2][2] is None  # A waited, B retries: no delta
    assert rl.duration_text(0.00408) == "4.08 ms" and rl.duration_text(2.5) == "2.5 s"


def test_busiest_client_first_and_the_split_sentence():
    tr = many_clients(6, 2.0, 60.0, 10.0, rng=0)
    order = rl.clients_by_volume(tr)
    assert order[0] == "abuser" and sorted(order) == sorted(tr.clients())
    c = run(tr, limit=5, window=1.0)
    text = rl.clients_sentence(c, ["fixed_window"])
    abuser = c.results["fixed_window"].select("abuser")
    assert f"abuser, {len(abuser):,} requests" in text and f"{abuser.rejected / len(abuser):.1%}" in text
    assert rl.clients_sentence(run(poisson(5.0, 5.0), limit=5, window=1.0), ["fixed_window"]) is None


# --- the time cursor ---------------------------------------------------------------------------------


def test_cursor_range_step_and_play():
    tr = steady(10.0, 30.0)
    lo, hi = rl.time_range(tr)
    assert (lo, hi) == (0.0, pytest.approx(29.9))
    assert rl.cursor_step(0.0, 30.0) == 0.2 and rl.cursor_step(0.9, 1.1) == 0.001
    assert rl.next_cursor(0.0, 0.0, 40.0) == 1.0  # a fortieth of the trace
    assert rl.next_cursor(10.0, 0.0, 40.0, span=20.0) == 12.0  # zoomed: a tenth of the span
    assert rl.next_cursor(39.5, 0.0, 40.0) == 0.0  # wraps
    assert rl.view_range(1.0, 0.0, 100.0, 20.0) == (0.0, 20.0)
    assert rl.view_range(50.0, 0.0, 100.0, 20.0) == (40.0, 60.0)
    assert rl.view_range(99.0, 0.0, 100.0, 20.0) == (80.0, 100.0)
    assert rl.view_range(5.0, 0.0, 10.0, 20.0) == (0.0, 10.0) == rl.view_range(5.0, 0.0, 10.0, 0)
    assert rl.chart_range("fixed_window", 0.9, 1.1, 1.0) == (0.0, 2.0)
    assert rl.chart_range("token_bucket", 0.9, 1.1, 1.0) == (0.9, 1.1)


def test_default_cursor_is_the_first_rejection():
    c = run(boundary_burst(10, 1.0), limit=10, window=1.0)
    # the sliding log rejects the 11th request, at exactly 1.0 s; the fixed window rejects nothing
    assert rl.default_cursor(c, ["sliding_log"]) == pytest.approx(1.0)
    assert rl.default_cursor(c, ["fixed_window"]) == pytest.approx(1.0 - 0.005)  # the middle of 0.9..1.09


def test_state_numbers_drop_zero_decimals():
    assert [rl.state_number(x) for x in (0.0, 12.0, 0.93, 99.969, 1234.5)] == [
        "0",
        "12",
        "0.93",
        "99.97",
        "1,234.50",
    ]


def test_states_frame_is_state_at():
    tr = many_clients(3, 5.0, 30.0, 5.0, rng=1)
    c = run(tr, limit=4, window=1.0)
    df = rl.states_frame(c.results, list(ALGORITHMS), 2.5, "abuser")
    for (_, row), name in zip(df.iterrows(), ALGORITHMS, strict=True):
        s = state_at(c.results[name], 2.5, "abuser")
        assert row["state"] == f"{rl.state_number(s.value)} {s.label}"
        assert (row["admitted so far"], row["rejected so far"]) == (s.accepted, s.rejected)


@settings(max_examples=60)
@given(
    us=st.lists(st.integers(0, 6 * US), min_size=1, max_size=80).map(sorted),
    cut=st.tuples(st.integers(0, 6 * US), st.integers(0, 6 * US)).map(sorted),
    name=st.sampled_from(list(ALGORITHMS)),
)
def test_a_zoomed_slice_draws_the_same_state(us, cut, name):
    """For every time in the zoomed range [start, end], the state curve computed from the slice (which
    begins 2 W early and keeps the last request and last admission before it) equals the full run's."""
    times = [u / US for u in us]
    r = compare_limiters(times, settings=rl.limiter_settings(3, 0.5, 2, 3.0, 2, 3.0)).results[name]
    start, end = cut[0] / US, cut[1] / US
    part = rl.time_slice(r, start - 1.0, end)
    grid = np.linspace(start, end, 25)
    assert np.allclose(state_curve(part, grid), state_curve(r, grid))
    plain = rl.time_slice(r, start, end, keep_state=False)
    assert np.all((plain.time_us >= round(start * US)) & (plain.time_us <= round(end * US)))


# --- the bounds of "why it behaves this way" -----------------------------------------------------------


@settings(max_examples=150)
@given(
    us=st.lists(
        st.one_of(st.integers(0, 4 * US), st.integers(0, 32).map(lambda k: k * US // 8)),
        min_size=1,
        max_size=120,
    ).map(sorted),
    limit=st.integers(1, 6),
    window=st.sampled_from([0.25, 0.5, 1.0, 0.333333]),
    capacity=st.integers(1, 6),
    rate=st.sampled_from([0.5, 1.0, 3.0, 10.0, 1 / 3]),
)
def test_every_promised_bound_holds(us, limit, window, capacity, rate):
    """No window of length W ever admits more than: capacity + refill x W (token bucket), queue +
    ceil(W x outflow) (leaking bucket), 2 x limit (fixed window), the limit (sliding log). Checked by
    brute force over every window ending on a request."""
    times = [u / US for u in us]
    c = compare_limiters(times, settings=rl.limiter_settings(limit, window, capacity, rate, capacity, rate))
    for check in rl.bound_checks(c):
        r = c.results[check.name]
        assert check.measured == brute_max_in_window((r.time_us[r.allowed] / US).tolist(), window)
        assert check.holds, check


def test_boundary_burst_reaches_the_fixed_window_bound_exactly():
    c = run(boundary_burst(10, 1.0), limit=10, window=1.0)
    checks = {x.name: x for x in rl.bound_checks(c)}
    assert (checks["fixed_window"].measured, checks["fixed_window"].bound) == (20, 20)
    assert (checks["sliding_log"].measured, checks["sliding_log"].bound) == (10, 10)
    assert checks["sliding_window_counter"].bound is None and checks["sliding_window_counter"].holds
    text = rl.explanation(c)
    assert "here at most **20** to one client in any 1 s window vs the bound **20**" in text
    assert "waited 0.495 s on average" in text


# --- the sentences around the comparison ---------------------------------------------------------------


def test_cloudflare_sentence_on_a_burst_and_on_steady_traffic():
    burst = run(boundary_burst(10, 1.0), limit=10, window=1.0)
    text = rl.cloudflare_sentence(burst)
    assert "0.003%" in text and "400 million" in text and "**5.000%** of 20 requests (1)" in text
    near = rl.near_limit_share(burst.results["sliding_window_counter"])
    assert f"Here {near:.1%} of requests arrived with the estimate within 10% of the limit" in text
    calm = run(steady(50.0, 20.0), limit=100, window=1.0)
    assert "Close to Cloudflare's figure" in rl.cloudflare_sentence(calm)
    assert rl.near_limit_share(calm.results["sliding_window_counter"]) == 0.0


def test_rounding_margin_matches_counter_estimate():
    """10 per second: 10 requests in the first window, then one at 1.05 s: estimate 0 + 10 x 0.95 = 9.5,
    admitted as it is, rejected if rounded up: the one request at the margin."""
    times = [i / 10 for i in range(10)] + [1.05]
    r = simulate(SlidingWindowCounter(10, 1.0), times)
    assert r.allowed[-1]
    e = counter_estimate(previous_count=10, current_count=0, overlap=0.95, limit=10)
    assert e.allowed and not e.allowed_if_rounded_up
    assert rl.rounding_margin(r) == 1
    assert "1 request got in with the estimate between 9 and 10" in rl.rounding_sentence(r)
    assert "42 x 0.75 + 18 = 49.5 of 50" in rl.rounding_sentence(r)
    assert "no request got in" in rl.rounding_sentence(simulate(SlidingWindowCounter(10, 1.0), [0.0, 0.5]))


def test_sliding_log_sentence_and_tables():
    tr = bursty(40.0, 5.0, 1.0, 2.0, 12.0, rng=2)
    c = run(tr, limit=10, window=1.0)
    text = rl.sliding_log_sentence(c)
    assert f"{c.row('sliding_log').accepted:,} admitted" in text
    assert f"{c.row('sliding_log_admitted_only').accepted:,} admitted" in text
    table = rl.comparison_table(c)
    assert list(table["algorithm"])[-2:] == ["Sliding window counter", "GCRA"] and len(table) == 7
    assert table["mean_delay"].iloc[0] == 0.0 and table["mean_delay"].iloc[1] > 0
    assert table["differs_pct"].iloc[3] == pytest.approx(100 * c.row("sliding_log").differs_from_counter)
    decisions = rl.decisions_frame(c)
    assert len(decisions) == len(tr) and decisions["client"].eq("default").all()
    for name, r in c.results.items():
        assert decisions[f"{name}_allowed"].tolist() == r.allowed.tolist()
        assert np.array_equal(decisions[f"{name}_retry_after_s"], r.retry_after, equal_nan=True)
    assert "leaking_bucket_departure_s" in decisions and "token_bucket_departure_s" not in decisions


# --- the page's words computed from the run ----------------------------------------------------------


def test_settings_from_the_page_values():
    """A is the parameters at the top; B has one bucket size and one rate for both buckets."""
    v = {**DEFAULTS, **rl.PRESETS["Flash sale burst"].params}
    assert rl.settings_from(v) == rl.limiter_settings(100, 1.0, 100, 100.0, 100, 100.0)
    assert rl.b_settings_from(v) == rl.limiter_settings(100, 1.0, 500, 100.0, 500, 100.0)
    assert rl.traffic_from(v) == rl.TrafficConfig("bursty", 50.0, 10.0, 120.0, 20, 0, 100, 1.0).normalized()


def test_who_is_slowed_follows_the_run():
    """ "Only the heavy sender is slowed" only when no other client had a request rejected; otherwise the
    sentence says the others were turned away too, or that nobody was."""
    tr = many_clients(6, 2.0, 60.0, 10.0, rng=0)
    c = run(tr, limit=10, window=1.0)
    only = rl.clients_sentence(c, ["token_bucket", "fixed_window"])
    others = [~c.results[n].allowed[tr.keys != "abuser"] for n in ("token_bucket", "fixed_window")]
    assert not any(o.any() for o in others) and "only the heavy sender is slowed" in only
    tight = run(tr, limit=1, window=1.0)
    assert (~tight.results["fixed_window"].allowed[tr.keys != "abuser"]).any()
    text = rl.clients_sentence(tight, ["fixed_window"])
    assert "only the heavy sender" not in text and "the others are turned away too" in text
    loose = run(tr, limit=1000, window=1.0)
    assert loose.row("fixed_window").rejected == 0
    assert "nobody is slowed" in rl.clients_sentence(loose, ["fixed_window"])


def test_arrivals_caption_names_who_rejects():
    edge = run(boundary_burst(10, 1.0), limit=10, window=1.0)
    assert edge.row("fixed_window").rejected == 0 and edge.row("sliding_log").rejected > 0
    text = rl.arrivals_caption(edge, list(ALGORITHMS))
    assert "the fixed window counter rejects nothing here" in text and "(all clients)" not in text
    calm = run(steady(50.0, 5.0), limit=100, window=1.0)
    assert "here nothing is rejected" in rl.arrivals_caption(calm, list(ALGORITHMS), key="a")
    assert "(all clients)" in rl.arrivals_caption(calm, ["token_bucket"], key="a")


def test_table_and_busiest_window_captions_follow_the_run():
    """The leaking bucket "adds latency" only when a request waited; the busiest-window caption names
    exactly the limiters whose bar passes the limit, with their numbers."""
    edge = run(boundary_burst(10, 1.0), limit=10, window=1.0)
    lb = edge.row("leaking_bucket")
    assert lb.max_delay > 0 and "Only the leaking bucket adds latency (it queues: up to 990 ms here)" in (
        rl.table_caption(edge)
    )
    assert f"up to {edge.row('sliding_log').state_bytes:,} bytes per client" in rl.table_caption(edge)
    calm = run(steady(50.0, 5.0), limit=100, window=1.0)
    assert not calm.row("leaking_bucket").max_delay and "No limiter adds latency here" in rl.table_caption(
        calm
    )
    text = rl.max_in_window_caption(edge)
    over = [r for r in edge.rows if r.max_in_window > 10]
    assert "fixed window counter (20)" in text and "sliding window log (" not in text
    assert text.count("(") == len(over) + 1  # one number per bar past the limit, plus the limit itself
    assert "every bar stays at or under the dotted limit (100)" in rl.max_in_window_caption(calm)


def test_ab_caption_counts_the_requests_decided_differently():
    tr = boundary_burst(10, 1.0)
    a = simulate(FixedWindowCounter(10, 1.0), tr.timestamps)
    b = simulate(TokenBucket(10, 10.0), tr.timestamps)
    k = int(np.count_nonzero(a.allowed != b.allowed))
    assert k > 0 and f"({k:,} of 20 requests decided differently)" in rl.ab_caption(a, b)
    assert "decide every request alike" in rl.ab_caption(a, a)


def test_headline_words_of_the_page():
    tr = boundary_burst(10, 1.0)
    assert rl.trace_headline(tr).value == "20" and rl.trace_headline(tr).help == tr.description
    c = run(tr, limit=10, window=1.0)
    h = rl.reveal_headline(c, 12)
    assert (h.value, h.delta, h.delta_color) == ("20", "+8 vs your guess; 2.00x the limit", "off")
    assert all(x.delta_color == "off" for x in rl.headlines(c, ["fixed_window"], None))
    assert "busiest 1 s window (limit 10)" in rl.guess_label(c.settings)
    assert rl.cursor_sentence(1.05, "abuser").startswith("**At t = 1.050 s** (client abuser)")
    assert rl.traffic_caption(tr).endswith("(20 requests).")
    assert "Uploaded file a.csv" in rl.traffic_caption(tr, "a.csv")
    assert rl.upload_error("b.csv", "row 3: bad", None).endswith(
        "the page still shows the generated traffic."
    )
    assert "the previous upload (a.csv)" in rl.upload_error("b.csv", "row 3: bad", "a.csv")
    trace, error = rl.read_upload(b"t\n0.1\nsoon\n")
    assert trace is None and "row 3" in error
    trace, error = rl.read_upload(b"0.1\n0.2\n")
    assert error is None and len(trace) == 2
    assert rl.counter_sentences(c) == (
        rl.cloudflare_sentence(c),
        rl.sliding_log_sentence(c),
        rl.rounding_sentence(c.results["sliding_window_counter"]),
    )
    part = rl.arrival_slices(c, ["fixed_window"], 0.95, 1.0)[0]
    assert np.all((part.time_us >= 950_000) & (part.time_us <= 1_000_000))
    assert rl.table_columns(2.0)["max_in_window"] == ("most in any 2 s", None)


def test_a_visitors_names_are_shown_as_text():
    """A file name, a quoted cell or a client name from an upload cannot form a link or formatting in the
    markdown the page renders; plain names read unchanged."""
    text = rl.upload_error("[x](http://evil.example).csv", "row 2: '**boom**' is not a number", "a_b.csv")
    assert "[x]" not in text and "http://" not in text and "**boom**" not in text
    assert "a\\_b.csv" in text and "row 2:" in text
    assert "file \\[x\\](y).csv;" in rl.traffic_caption(boundary_burst(10, 1.0), "[x](y).csv")
    assert rl.cursor_sentence(1.0, "*bold*").count("**") == 2  # only the page's own bold
    tr = many_clients(3, 2.0, 30.0, 5.0, rng=0)
    assert "busiest client (abuser," in rl.clients_sentence(run(tr, limit=5, window=1.0), ["fixed_window"])


def test_a_preset_never_names_setting_b_before_saying_where_b_is():
    import re

    from lessons.rate_limiter import PRESETS

    for p in PRESETS.values() if hasattr(PRESETS, "values") else PRESETS:
        if re.search(r"\bB\b", p.description):
            assert "Two settings side by side" in p.description, p.name


# --- your own traffic: uploads, the key of the limit, the window edge, bins, tuning ----------------------

LOG = (
    b'198.51.100.1 - - [01/Mar/2024:10:00:00 +0200] "GET /api/a HTTP/1.1" 200 5 "-" "curl/8"\n'
    b'198.51.100.1 - - [01/Mar/2024:10:00:00 +0200] "GET /api/b HTTP/1.1" 200 5 "-" "curl/8"\n'
    b"this **is** not [a](log) line\n"
    b'198.51.100.2 - - [03/Mar/2024:10:00:00 +0200] "GET /static/x HTTP/1.1" 200 - "-" "bot"\n'
)


def test_an_upload_is_read_kept_or_refused_in_one_sentence():
    """No file, no upload; a good file replaces the previous one (named by its digest); a bad one keeps
    it and says why, naming what the page still shows."""
    assert rl.upload_state(("a.log", "d", None), None) == (None, None)
    up, error = rl.upload_state(None, ("access.log", LOG))
    assert error is None and up[0] == "access.log" and len(up[1]) == 40 and len(up[2]) == 3
    kept, error = rl.upload_state(up, ("junk.txt", b"\x00\x01\x02"))
    assert kept is up and error.startswith("junk.txt: ") and "neither an access log nor a CSV trace" in error
    assert error.endswith("the page still shows the previous upload (access.log).")
    assert rl.upload_state(None, ("big.log", b"x" * (rl.MAX_UPLOAD_BYTES + 1)))[1].startswith(
        "big.log: the file is 25 MB, larger than the limit of 25 MB"
    )
    assert "25 MB uploaded" in rl.UPLOAD_LABEL and "2,000,000 lines" in rl.UPLOAD_LABEL
    assert set(rl.UPLOAD_TYPES) == {"log", "txt", "csv", "gz"}


def test_the_upload_summary_says_what_the_parser_read():
    trace = rl.read_upload(LOG, "access.log")[0]
    heads = {h.label: h.value for h in rl.upload_headlines(trace)}
    assert heads == {
        "Format": "Combined",
        "Requests": "3",
        "Clients": "2",
        "Span": "2.0 days",
        "Malformed lines": "1",
    }
    text = rl.malformed_text(trace)
    assert text.startswith("Skipped 1 line; the first 1:") and "line 3: this **is** not [a](log) line" in text
    assert rl.malformed_text(rl.read_upload(b"0.1\n", "t.csv")[0]) is None
    desc = rl.log_description(trace, "my_log.log")
    assert desc.startswith("Your upload, my\\_log.log: access log (Combined Log Format)")


def test_keyed_by_endpoint_or_agent_and_a_notice_where_the_log_has_none():
    trace = rl.read_upload(LOG, "access.log")[0]
    by_path, note = rl.keyed_trace(trace, "endpoint")
    assert note is None and by_path.keys.tolist() == ["/api", "/api", "/static"]
    assert rl.keyed_trace(trace, "user_agent")[0].keys.tolist() == ["curl/8", "curl/8", "bot"]
    assert rl.keyed_trace(trace, "client") == (trace, None)
    csv = rl.read_upload(b"0.1,a\n0.2,b\n")[0]
    same, note = rl.keyed_trace(csv, "endpoint")
    assert same is csv and note.startswith("Limit by endpoint") and "only be kept per client" in note
    assert rl.upload_source(("t.csv", "d", csv), "endpoint")[1] == ("upload", "d", "client")


def test_the_window_edge_changes_the_sliding_log_and_the_sentence_says_which():
    """Whole-second times, W = 1 s, limit 2: the half-open log (t - W, t] lets the next second's two in
    (4 admitted), the inclusive [t - W, t] still counts the first two (2 admitted)."""
    t = [0.0, 0.0, 1.0, 1.0]
    values = {**DEFAULTS, "limit": 2, "window": 1.0}
    half = compare_limiters(t, settings=rl.settings_from(values))
    full = compare_limiters(t, settings=rl.settings_from({**values, "inclusive_edge": True}))
    assert half.row("sliding_log").accepted == 4 and full.row("sliding_log").accepted == 2
    assert full.row("fixed_window").accepted == half.row("fixed_window").accepted == 4
    assert rl.settings_from(values) == rl.limiter_settings(2, 1.0, 100, 100.0, 100, 100.0)  # as before
    assert "(t − W, t]" in rl.edge_sentence(False, 1.0) and "[t − W, t]" in rl.edge_sentence(True, 1.0)
    assert "like a fixed window" in rl.edge_sentence(False, 1.0)
    assert PARAMS["inclusive_edge"].default is False  # off: the decisions and the links as before


def test_the_cursor_step_and_format_at_any_span():
    for lo, hi in ((0.0, 0.001), (0.0, 250.0), (0.0, 30 * 86_400.0)):
        step = rl.time_step(lo, hi)
        assert isinstance(step, float) and 200 <= (hi - lo) / step <= 500
        cursor = rl.cursor_step(lo, hi)  # the page's: time_step, or the next round value above it
        assert isinstance(cursor, float) and cursor in (step, rl._nice_up(step))
        assert 80 <= (hi - lo) / cursor <= 200.001
    assert rl.cursor_step(0.0, 30 * 86_400.0) == 20_000.0  # was an int past ~200 s
    assert rl.cursor_format(0.0, 0.001) == "%.6f" and rl.cursor_format(0.0, 30.0) == "%.3f"


def test_arrivals_are_binned_past_the_drawing_cap_and_the_caption_says_what_a_bin_is():
    small = run(steady(100.0, 10.0), limit=50, window=1.0)
    assert rl.arrival_bins(rl.arrival_slices(small, ["fixed_window"], 0.0, 10.0), 0.0, 10.0) is None
    big = run(steady(3_000.0, 10.0), limit=1_000, window=1.0)
    slices = rl.arrival_slices(big, ["fixed_window", "sliding_log"], 0.0, 10.0)
    bins = rl.arrival_bins(slices, 0.0, 10.0)
    b = bins[slices[0].label]
    assert len(bins) == 2 and len(b) <= rl.MAX_BINS and int(b.total.sum()) == len(slices[0])
    assert int(b.admitted.sum()) == big.row("fixed_window").accepted
    caption = rl.arrivals_caption(big, ["fixed_window"], None, bins)
    assert f"each bar is a bin of {rl.seconds(b.width)}" in caption


def test_tuning_words_say_what_the_engine_found():
    from sdcore.ratelimit import limited_clients, suggest_limits

    tr = many_clients(20, 2.0, 30.0, 10.0, rng=0)
    s = rl.settings_from({**DEFAULTS, "limit": 5, "window": 1.0})
    tune = rl.tuning(tr, s, "fixed_window", 5.0)
    expect = suggest_limits(tr.timestamps, tr.keys, 1.0, share=0.05)
    frame = rl.suggestions_frame(tune)
    assert frame["suggested limit"].tolist() == [f"{x.limit:,}" for x in expect]
    assert frame["clients limited"].tolist() == [x.clients_limited for x in expect]
    assert tune.percentile == 95.0
    cap = rl.peaks_caption(tune)
    assert f"95% of the 21 clients peak at or under **{tune.peaks.percentile(95):,}**" in cap
    hurt = limited_clients(tr.timestamps, tr.keys, s.limiters()["fixed_window"])
    assert tune.limited.names.tolist() == hurt.names.tolist() and "abuser" in hurt.names.tolist()
    assert f"would have limited {rl.plural(len(hurt), 'client')} of 21" in rl.limited_caption(tune, s)
