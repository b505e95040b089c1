"""Traffic generators (deterministic for a seed, the intended shape) and the CSV trace parser."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdcore.ratelimit import (
    boundary_burst,
    bursty,
    many_clients,
    max_admitted_in_window,
    parse_trace_csv,
    poisson,
    ramp,
    steady,
)

GENERATORS = [
    lambda rng: poisson(50.0, 20.0, rng=rng),
    lambda rng: bursty(200.0, 5.0, 1.0, 4.0, 20.0, rng=rng),
    lambda rng: boundary_burst(10, 1.0, background_rate=5.0, rng=rng),
    lambda rng: ramp(0.0, 100.0, 20.0, rng=rng),
    lambda rng: many_clients(5, 2.0, 30.0, 20.0, rng=rng),
]


@pytest.mark.parametrize("make", GENERATORS)
def test_generators_are_deterministic_sorted_and_seed_dependent(make):
    """The same seed gives the same trace; another seed another; times are sorted and read-only."""
    a, b, c = make(3), make(3), make(np.random.default_rng(4))
    np.testing.assert_array_equal(a.timestamps, b.timestamps)
    if a.keys is not None:
        assert a.keys.tolist() == b.keys.tolist()
    assert len(a) != len(c) or not np.array_equal(a.timestamps, c.timestamps)
    assert np.all(np.diff(a.timestamps) >= 0)
    assert not a.timestamps.flags.writeable


def test_steady_is_evenly_spaced():
    t = steady(4.0, 2.0, start=1.0).timestamps
    assert t.tolist() == [1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_poisson_has_the_asked_rate_and_exponential_gaps(seed):
    """Count within 4 standard deviations of rate * duration (sd = sqrt(mean)); gaps with mean 1/rate
    and a coefficient of variation near 1, as for an exponential distribution."""
    rate, duration = 200.0, 100.0
    t = poisson(rate, duration, rng=seed).timestamps
    mean = rate * duration
    assert abs(len(t) - mean) < 4 * math.sqrt(mean)
    gaps = np.diff(t)
    assert gaps.mean() == pytest.approx(1 / rate, rel=0.05)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, abs=0.05)
    assert t.min() >= 0 and t.max() < duration


def test_bursty_alternates_busy_and_quiet_periods():
    """400/s for 1 s then 10/s for 3 s: per-period counts near 400 and 30."""
    t = bursty(400.0, 10.0, 1.0, 3.0, 40.0, rng=1).timestamps
    phase = t % 4.0
    on, off = np.count_nonzero(phase < 1.0), np.count_nonzero(phase >= 1.0)
    assert on / 10 == pytest.approx(400, rel=0.05)
    assert off / 10 == pytest.approx(30, rel=0.25)


def test_boundary_burst_straddles_the_window_boundary():
    """n requests in [B - spread*W, B) and n in [B, B + spread*W), the first after exactly on B: all 2n
    fit in one window of length W."""
    tr = boundary_burst(25, 2.0, boundary=3, spread=0.2)
    t = tr.timestamps
    b = 6.0
    assert np.count_nonzero((t >= b - 0.4) & (t < b)) == 25
    assert np.count_nonzero((t >= b) & (t < b + 0.4)) == 25
    assert b in t.tolist() and len(t) == 50
    assert max_admitted_in_window(t, 2.0) == 50


def test_ramp_rate_grows_linearly():
    """Rate from 0 to 200/s over 10 s: about 1000 requests, a quarter of them in the first half
    (the integral of a linear ramp over [0, D/2] is a quarter of the total)."""
    counts = [len(ramp(0.0, 200.0, 10.0, rng=s)) for s in range(5)]
    assert np.mean(counts) == pytest.approx(1000, rel=0.05)
    t = ramp(0.0, 200.0, 10.0, rng=0).timestamps
    assert np.count_nonzero(t < 5.0) / len(t) == pytest.approx(0.25, abs=0.04)
    flat = ramp(50.0, 50.0, 10.0, rng=0).timestamps  # equal rates: uniform
    assert np.count_nonzero(flat < 5.0) / len(flat) == pytest.approx(0.5, abs=0.06)


def test_many_clients_has_one_abuser():
    tr = many_clients(20, 1.0, 50.0, 100.0, rng=2)
    keys = tr.keys.tolist()
    assert set(keys) == {f"client-{i:02d}" for i in range(1, 21)} | {"abuser"}
    assert keys.count("abuser") == pytest.approx(5000, rel=0.05)
    normal = [keys.count(f"client-{i:02d}") for i in range(1, 21)]
    assert np.mean(normal) == pytest.approx(100, rel=0.1)


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: poisson(0.0, 1.0),
            "rate must be more than 0 and at most 1,000,000 requests per second (got 0.0)",
        ),
        (
            lambda: poisson(1.0, -1.0),
            "duration must be more than 0 and at most 4,500,000,000 seconds (got -1.0)",
        ),
        (
            lambda: poisson(1.0, 1.0, rng=-3),
            "rng must be a seed (a whole number, 0 or more) or a numpy Generator",
        ),
        (
            lambda: poisson(1e6, 100.0),
            "this trace would hold about 100,000,000 requests, more than the 5,000,000",
        ),
        (
            lambda: boundary_burst(5, 1.0, spread=0.7),
            "spread must be a share of the window, more than 0 and at",
        ),
        (lambda: boundary_burst(0, 1.0), "burst_size must be a whole number from 1 to 2,500,000 (got 0)"),
        (lambda: ramp(0.0, 0.0, 1.0), "start_rate and end_rate cannot both be 0"),
        (
            lambda: many_clients(0, 1.0, 1.0, 1.0),
            "n_clients must be a whole number from 1 to 100,000 (got 0)",
        ),
    ],
)
def test_generator_bad_input(make, message):
    with pytest.raises(ValueError) as e:
        make()
    assert str(e.value).startswith(message)


# --- CSV --------------------------------------------------------------------------------------------------


def test_csv_with_header_clients_blank_lines_bom_and_crlf():
    data = "\ufefftime,client\r\n0.5,alice\r\n\r\n1.25,bob,extra column\r\n2,alice\r\n".encode()
    tr = parse_trace_csv(data)
    assert tr.timestamps.tolist() == [0.5, 1.25, 2.0]
    assert tr.keys.tolist() == ["alice", "bob", "alice"]
    assert not tr.reordered
    assert tr.notices == ("Row 1 was read as a header: time, client.",)


def test_csv_without_header_or_clients():
    tr = parse_trace_csv(b"0\n1e-3\n 2.5 \n")
    assert tr.timestamps.tolist() == [0.0, 0.001, 2.5] and tr.keys is None and tr.notices == ()


def test_csv_out_of_order_is_sorted_stably_and_said():
    """Equal times keep their file order (b before c), and a notice says how many rows were out of order."""
    tr = parse_trace_csv(b"3,a\n1,b\n1,c\n2,d\n")
    assert tr.timestamps.tolist() == [1.0, 1.0, 2.0, 3.0]
    assert tr.keys.tolist() == ["b", "c", "d", "a"]
    assert tr.reordered
    assert "not in time order (1 row was earlier than the row before)" in tr.notices[0]


def test_csv_sort_is_stable_on_a_long_shuffled_file():
    """2,000 rows over 5 distinct times, clients numbered in file order: after sorting, rows with equal
    times still appear in file order."""
    rng = np.random.default_rng(0)
    times = rng.integers(0, 5, 2_000)
    data = "".join(f"{t},{i:05d}\n" for i, t in enumerate(times)).encode()
    tr = parse_trace_csv(data)
    assert tr.reordered
    assert tr.timestamps.tolist() == sorted(times.astype(float).tolist())
    for t in range(5):
        clients = tr.keys[tr.timestamps == t].tolist()
        assert clients == sorted(clients) and len(clients) == np.count_nonzero(times == t)


def test_csv_bad_rows_are_listed_with_their_row_numbers():
    """Row numbers as in an editor: the header is row 1 and blank rows count."""
    data = b"t\n1\nabc\n\n-2\nnan\n5\ninf\n1e99\n"
    with pytest.raises(ValueError) as e:
        parse_trace_csv(data)
    msg = str(e.value)
    assert msg.startswith("the file has 5 bad rows: ")
    assert "row 3: 'abc' is not a number" in msg
    assert "row 5: -2 is negative (times are seconds, 0 or more)" in msg
    assert "row 6: 'nan' is not a finite number" in msg
    assert "row 8: 'inf' is not a finite number" in msg
    assert "row 9: 1e99 is later than 9,000,000,000 seconds" in msg


def test_csv_lists_only_the_first_few_bad_rows():
    data = b"x\n" + b"bad\n" * 12
    with pytest.raises(ValueError) as e:
        parse_trace_csv(data)
    msg = str(e.value)
    assert "row 2: 'bad'" in msg and "row 6: 'bad'" in msg and "row 7" not in msg
    assert msg.endswith("; and 7 more")


def test_csv_missing_client_when_others_have_one():
    with pytest.raises(ValueError, match=r"row 2: the client is missing \(other rows name one\)"):
        parse_trace_csv(b"1,a\n2\n3,b\n")


def test_csv_size_is_capped_before_parsing():
    """An oversized file is refused by its size, even if it is not text at all."""
    with pytest.raises(ValueError) as e:
        parse_trace_csv(b"\xff" * 2_000, max_bytes=1_000)
    assert (
        str(e.value)
        == "the file is 2,000 bytes, larger than the limit of 1,000 bytes; upload a shorter trace"
    )
    with pytest.raises(
        ValueError, match=r"6,000,000 bytes \(6.0 MB\), larger than the limit of 5,000,000 bytes"
    ):
        parse_trace_csv(b"1\n" * 3_000_000)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "the file has no timestamps: it is empty or holds only a header"),
        (b"\n\n  \n", "the file has no timestamps: it is empty or holds only a header"),
        (b"timestamp,client\n", "the file has no timestamps: it is empty or holds only a header"),
        (b"1\n\xff\xfe\n", "the file is not UTF-8 text (byte 2 cannot be read); save it as CSV"),
    ],
)
def test_csv_empty_and_unreadable(data, message):
    with pytest.raises(ValueError) as e:
        parse_trace_csv(data)
    assert str(e.value) == message


def test_csv_row_cap():
    with pytest.raises(ValueError, match="the file has 11 rows of timestamps, more than the 10 allowed"):
        parse_trace_csv(b"1\n" * 11, max_rows=10)
    assert len(parse_trace_csv(b"1\n" * 10, max_rows=10)) == 10
