"""The race condition, live on a real redis-server with 8 threads, each on its own connection.

Invariants: an atomic check-then-act (one Lua script; WATCH/MULTI with retries) never admits more than
the limit, run after run; GET-then-INCR and the sliding log as separate commands admit at most
``clients - 1`` extra (each other client can hold at most one stale read); GET-then-SET, whose lost
updates also undercount, overshoots (pooled over runs: a race is not guaranteed in any one run).
"""

from __future__ import annotations

import pytest

from sdcore.ratelimit.live.race import (
    RACE_VARIANTS,
    GetSetFixedWindow,
    RaceResult,
    WatchMultiFixedWindow,
    compare_race,
    run_race,
)

pytestmark = pytest.mark.redis

CLIENTS, LIMIT, THINK = 8, 10, 0.001


@pytest.mark.parametrize("variant", ["lua", "lua_log", "watch_multi"])
def test_atomic_variants_never_overshoot_under_8_threads(client_factory, variant):
    result = run_race(client_factory, variant, clients=CLIENTS, requests_per_client=40, limit=LIMIT,
                      think_time=THINK, runs=4)  # fmt: skip
    assert [r.admitted for r in result.runs] == [LIMIT] * 4
    assert result.overshoot.max == 0
    if variant == "watch_multi":
        assert result.retries.max > 0  # the conflicts were real; the retries resolved them


def test_get_then_set_overshoots(client_factory):
    result = run_race(client_factory, "get_set", clients=CLIENTS, requests_per_client=40, limit=LIMIT,
                      think_time=THINK, runs=4)  # fmt: skip
    assert sum(r.overshoot for r in result.runs) > 0
    assert all(r.admitted <= CLIENTS * 40 for r in result.runs)


@pytest.mark.parametrize("variant", ["get_incr", "log_separate"])
def test_check_then_increment_overshoots_by_at_most_clients_minus_one(client_factory, variant):
    result = run_race(client_factory, variant, clients=CLIENTS, requests_per_client=20, limit=LIMIT,
                      think_time=THINK, runs=3)  # fmt: skip
    assert all(0 <= r.overshoot <= CLIENTS - 1 for r in result.runs)


def test_one_client_never_races(client_factory):
    """With a single client every variant is exact: the overshoot needs concurrency."""
    for result in compare_race(client_factory, clients=1, requests_per_client=15, limit=LIMIT,
                               think_time=0.0, runs=1):  # fmt: skip
        assert result.overshoot.max == 0, result.variant


def test_race_report_rows_and_spreads(client_factory):
    result = run_race(client_factory, "get_incr", clients=2, requests_per_client=5, limit=3, think_time=0.0,
                      runs=3)  # fmt: skip
    assert isinstance(result, RaceResult) and len(result.runs) == 3
    row = result.row()
    assert row["variant"] == "get_incr" and row["runs"] == 3 and row["clients"] == 2
    assert row["overshoot_min"] <= row["overshoot_median"] <= row["overshoot_max"]
    assert row["decisions_per_s_median"] > 0
    assert all(r.decisions == 10 for r in result.runs)


def test_think_time_goes_through_the_injected_sleep(client, prefix):
    slept = []
    v = GetSetFixedWindow(client, 2, think_time=0.25, prefix=prefix, sleep=slept.append)
    assert [v.allow("k", 10.0) for _ in range(3)] == [True, True, False]
    assert slept == [0.25] * 3
    w = WatchMultiFixedWindow(client, 1, prefix=prefix, sleep=slept.append)
    assert [w.allow("other", 10.0) for _ in range(2)] == [True, False] and w.retries == 0


def test_race_keys_are_cleaned_up(client, client_factory):
    run_race(
        client_factory, "get_set", clients=2, requests_per_client=3, limit=2, runs=2, prefix="sds:cleanup:"
    )
    assert list(client.scan_iter(match="sds:cleanup:*")) == []


def test_bad_race_settings_are_refused(client_factory):
    with pytest.raises(ValueError, match="variant must be one of"):
        run_race(client_factory, "incr_and_pray")
    with pytest.raises(ValueError, match="clients must be"):
        run_race(client_factory, "lua", clients=0)
    with pytest.raises(ValueError, match="think_time must be"):
        run_race(client_factory, "get_set", think_time=5.0, runs=1)
    assert set(RACE_VARIANTS) == {"get_set", "get_incr", "log_separate", "watch_multi", "lua", "lua_log"}
