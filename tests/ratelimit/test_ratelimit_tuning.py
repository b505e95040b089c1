"""Tuning from a trace: per-client peaks, the suggested limit per algorithm (recomputed by brute force with
a loop of ``allow``), who a limit hurts, top talkers."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.ratelimit import FixedWindowCounter, client_peaks, limited_clients, suggest_limits, top_talkers
from sdcore.ratelimit.limiters import LIMIT_ALGORITHMS, make_limiter
from tests.ratelimit.ratelimit_helpers import US

# Whole seconds and quarter seconds (an access log, a finer trace), up to 8 clients with uneven volume.
traces = st.lists(
    st.tuples(
        st.one_of(st.integers(0, 20).map(float), st.integers(0, 80).map(lambda q: q / 4)), st.integers(0, 7)
    ),
    min_size=1,
    max_size=80,
).map(lambda rows: sorted(rows, key=lambda r: r[0]))


def clients_rejected(algorithm: str, limit: int, window: float, times, keys, inclusive: bool = False) -> int:
    """Brute force: a fresh limiter asked about every request in order; clients with any rejection."""
    lim = make_limiter(algorithm, limit, window, inclusive_edge=inclusive)
    fresh = copy.deepcopy(lim)
    return len({k for t, k in zip(times, keys, strict=True) if not fresh.allow(t, k).allowed})


@settings(max_examples=60, deadline=None)
@given(
    rows=traces,
    window=st.sampled_from([1.0, 2.0, 0.5]),
    share=st.sampled_from([0.0, 0.1, 0.25, 0.5, 1.0]),
    inclusive=st.booleans(),
)
def test_the_suggested_limit_touches_at_most_share_of_clients_and_one_less_touches_more(
    rows, window, share, inclusive
):
    """For every algorithm: at the suggested limit L, a loop of allow() rejects some request of at most
    share x clients; at L - 1 (when L > 1) of more than that. Both recomputed by brute force."""
    times = [t for t, _ in rows]
    keys = [f"c{k}" for _, k in rows]
    n_clients = len(set(keys))
    for s in suggest_limits(times, keys, window, share, inclusive_edge=inclusive):
        assert s.limit is not None and s.clients == n_clients
        bad = clients_rejected(s.algorithm, s.limit, window, times, keys, inclusive)
        assert bad == s.clients_limited
        assert bad <= share * n_clients + 1e-9, s
        if s.limit > 1:
            assert (
                clients_rejected(s.algorithm, s.limit - 1, window, times, keys, inclusive) > share * n_clients
            )


def test_suggestions_on_a_heavy_tailed_log_hold_by_brute_force():
    """3,000 whole-second requests from 300 clients, a few of them heavy: at 5% the suggestions differ by
    algorithm (the fixed window needs less than the log, the buckets less again), and each holds."""
    rng = np.random.default_rng(4)
    w = 1 / np.arange(1, 301) ** 1.3
    codes = rng.choice(300, 3_000, p=w / w.sum())
    times = np.sort(rng.integers(0, 300, 3_000)).astype(float).tolist()
    keys = [f"10.1.0.{c}" for c in codes.tolist()]
    n = len(set(keys))
    got = {s.algorithm: s for s in suggest_limits(times, keys, 1.0, 0.05)}
    assert set(got) == set(LIMIT_ALGORITHMS)
    for s in got.values():
        assert clients_rejected(s.algorithm, s.limit, 1.0, times, keys) <= 0.05 * n
        if s.limit > 1:
            assert clients_rejected(s.algorithm, s.limit - 1, 1.0, times, keys) > 0.05 * n
    assert got["fixed_window"].limit <= got["sliding_log"].limit


def test_client_peaks_equal_a_brute_force_count():
    """Each client's peak is the most of its requests within any window (t - W, t] (or [t - W, t])
    ending at one of them, counted one by one."""
    rng = np.random.default_rng(8)
    times = np.sort(rng.integers(0, 40, 500) / 2)
    keys = rng.choice(["a", "b", "c", "d"], 500)
    for inclusive in (False, True):
        p = client_peaks(times, keys, 1.0, inclusive_edge=inclusive)
        for name, peak in zip(p.clients.tolist(), p.peaks.tolist(), strict=True):
            t = times[keys == name]
            inside = [np.count_nonzero((t <= e) & ((t >= e - 1) if inclusive else (t > e - 1))) for e in t]
            assert peak == max(inside)
        assert list(p.peaks) == sorted(p.peaks, reverse=True)
        values, counts = p.histogram()
        assert counts.sum() == 4 and set(values) == set(p.peaks)
    assert p.percentile(100) == p.peaks.max() and p.percentile(0.1) == p.peaks.min()


def test_limited_clients_hand_checked():
    """1 per second: a sends at 0, 0.5, 1, 1.2 (rejected at 0.5 and 1.2), b once (never limited)."""
    times = [0.0, 0.5, 1.0, 1.2, 3.0]
    keys = ["a", "a", "a", "a", "b"]
    lc = limited_clients(times, keys, FixedWindowCounter(1, 1.0))
    assert lc.names.tolist() == ["a"] and lc.clients == 2 and lc.share == 0.5
    assert (lc.requests.tolist(), lc.rejected.tolist()) == ([4], [2])
    assert (lc.first_rejected.tolist(), lc.last_rejected.tolist()) == ([0.5], [1.2])
    frame = lc.to_frame()
    assert frame.loc[0, "rejected_share"] == 0.5


def test_top_talkers_and_their_share():
    t = top_talkers(["x", "y", "x", "z", "x", "y"], n=2)
    assert t.names.tolist() == ["x", "y"] and t.requests.tolist() == [3, 2]
    assert t.shares.tolist() == pytest.approx([0.5, 1 / 3]) and (t.total, t.clients) == (6, 3)


def test_bad_inputs_say_what_is_wrong():
    with pytest.raises(ValueError, match="share must be between 0 and 1"):
        suggest_limits([0.0], ["a"], 1.0, share=5)
    with pytest.raises(ValueError, match="algorithm must be one of"):
        suggest_limits([0.0], ["a"], 1.0, algorithms=("nope",))
    with pytest.raises(ValueError, match="window must be between"):
        client_peaks([0.0], ["a"], 0.0)


def test_one_client_without_keys():
    """keys=None is one client: the suggestion at share 0 is its own threshold."""
    times = [k / US for k in range(0, 5 * US, US // 4)]  # 4 per second for 5 s
    (s,) = suggest_limits(times, None, 1.0, 0.0, algorithms=("sliding_log",))
    assert s.limit == 4 and s.clients == 1
