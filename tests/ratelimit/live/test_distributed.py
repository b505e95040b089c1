"""The distributed page's engine without a Redis: URL parsing, the in-memory race, what runs without Redis,
the measured-vs-expected sentence and the figures.

Invariants: a lock makes the in-memory check-then-act exact (never over the limit, run after run); without
a lock and with time between the read and the write, threads overshoot; without a Redis address every Redis
variant is skipped and said so, never faked; a bad URL or setting is refused with a sentence naming it.
"""

from __future__ import annotations

import json
import time

import pytest

from lessons.distributed_rate_limiting import PRESETS, fault_headlines, race_check, race_headlines
from sdcore.charts.distributed import fault_figure, race_figure
from sdcore.ratelimit.distributed import MEMORY_VARIANTS, VARIANTS, FaultDecision, FaultRun, RaceReport
from sdcore.ratelimit.live.connection import (
    DEFAULT_REDIS_URL,
    RedisAddress,
    RedisUnavailable,
    parse_redis_url,
    probe_redis,
)
from sdcore.ratelimit.live.fault_runs import run_fault_scenario
from sdcore.ratelimit.live.race import RACE_VARIANTS
from sdcore.ratelimit.live.race_runs import race_seconds, run_memory_race, run_races
from sdcore.ratelimit.live.redis_server import free_port
from sdcore.ratelimit.live.resilient import FailureCounter


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (DEFAULT_REDIS_URL, RedisAddress("127.0.0.1", 6379, 0)),
        ("redis://localhost", RedisAddress("localhost", 6379, 0)),
        ("  redis://cache.internal:7000/3 ", RedisAddress("cache.internal", 7000, 3)),
        ("redis://[::1]:6380/", RedisAddress("::1", 6380, 0)),
    ],
)
def test_good_urls(text, expected):
    address = parse_redis_url(text)
    assert address == expected
    assert parse_redis_url(address.url) == address  # the canonical URL parses back to the same address


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "must look like redis://"),
        ("localhost:6379", "must start with redis://"),
        ("http://127.0.0.1:6379", "must start with redis://"),
        ("rediss://127.0.0.1:6379", "TLS"),
        ("redis://:secret@127.0.0.1:6379/0", "user or password"),
        ("redis://127.0.0.1:99999/0", "port that is not a number from 1 to 65535"),
        ("redis://127.0.0.1:port/0", "port that is not a number"),
        ("redis://127.0.0.1:0/0", "port 0"),
        ("redis:///0", "names no host"),
        ("redis://127.0.0.1:6379/16", "database '16'"),
        ("redis://127.0.0.1:6379/db", "database 'db'"),
        ("redis://127.0.0.1:6379/0?timeout=1", "options after"),
    ],
)
def test_bad_urls_are_explained(text, message):
    with pytest.raises(ValueError, match=message):
        parse_redis_url(text)


def test_nothing_listening_is_reported_not_raised():
    reach = probe_redis(RedisAddress("127.0.0.1", free_port()), timeout=0.5)
    assert not reach.ok and reach.version is None
    assert reach.error == "no Redis answered there"


def test_something_that_is_not_redis_reads_like_a_closed_port():
    """A listener that answers garbage (here an HTTP-ish line) raises InvalidResponse inside redis-py:
    the probe reports it exactly as a closed port, so it cannot be used to map which ports are open."""
    import socket
    import threading

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()

    def answer():
        conn, _ = srv.accept()
        conn.recv(1024)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")
        conn.close()

    threading.Thread(target=answer, daemon=True).start()
    reach = probe_redis(RedisAddress("127.0.0.1", srv.getsockname()[1]), timeout=1.0)
    srv.close()
    closed = probe_redis(RedisAddress("127.0.0.1", free_port()), timeout=0.5)
    assert (reach.ok, reach.error) == (closed.ok, closed.error) == (False, "no Redis answered there")


def test_the_operator_allow_list_decides_before_any_connection():
    from sdcore.ratelimit.live.connection import check_allowed

    loopback = ("127.0.0.1", "localhost", "::1")
    assert check_allowed(parse_redis_url("redis://127.0.0.1:7000/0"), loopback).port == 7000
    assert check_allowed(parse_redis_url("redis://[::1]:6379"), loopback).host == "::1"
    assert check_allowed(parse_redis_url("redis://10.0.0.5:6379"), ("10.0.0.5:6379",)).host == "10.0.0.5"
    for url, allowed in (
        ("redis://10.0.0.5:6379", loopback),
        ("redis://10.0.0.5:6380", ("10.0.0.5:6379",)),
        ("redis://127.0.0.2:6379", loopback),
        ("redis://evil.example:6379", loopback),
    ):
        with pytest.raises(ValueError, match="does not allow connecting.*nothing was contacted"):
            check_allowed(parse_redis_url(url), allowed)


def test_a_lock_makes_the_in_memory_race_exact():
    result = run_memory_race(
        "memory_lock", clients=8, requests_per_client=30, limit=10, think_time=0.001, runs=3
    )
    assert [r.admitted for r in result.runs] == [10, 10, 10]
    assert result.atomic and result.overshoot.max == 0 and result.retries.max == 0


def test_without_a_lock_threads_overshoot():
    """With 1 ms between read and write, 8 threads all read stale counts: the overshoot is large (pooled
    over runs, since one run of real threads guarantees nothing)."""
    result = run_memory_race("memory_unlocked", clients=8, requests_per_client=20, limit=5, think_time=0.001,
                             runs=3)  # fmt: skip
    assert sum(r.overshoot for r in result.runs) > 0
    assert all(r.admitted <= 8 * 20 and r.decisions == 160 for r in result.runs)
    assert not result.atomic


def test_one_thread_never_races_in_memory():
    for v in MEMORY_VARIANTS:
        assert (
            run_memory_race(
                v, clients=1, requests_per_client=15, limit=4, think_time=0.0, runs=2
            ).overshoot.max
            == 0
        )


def test_memory_race_checks_its_settings():
    with pytest.raises(ValueError, match="variant must be one of"):
        run_memory_race("lua")
    with pytest.raises(ValueError, match="clients must be a whole number between 1 and 64"):
        run_memory_race("memory_lock", clients=0)
    with pytest.raises(ValueError, match="think_time must be between 0 and 1"):
        run_memory_race("memory_lock", think_time=2)


def test_without_redis_the_redis_variants_are_skipped_and_named():
    calls = []
    report = run_races(list(VARIANTS), clients=4, requests_per_client=10, limit=5, runs=2,
                       progress=lambda f, t: calls.append(f))  # fmt: skip
    assert [r.variant for r in report.results] == list(MEMORY_VARIANTS)
    assert report.skipped == tuple(RACE_VARIANTS)
    assert calls == [0, 0.25, 0.5, 0.75, 1.0]  # before each of the 2 x 2 runs, then done
    rows = report.rows()
    assert [r["store"] for r in rows] == ["this process"] * 2
    assert rows[1]["overshoot max"] == 0 and rows[1]["admitted (median)"] == 5
    heads = {h.label: h.value for h in race_headlines(report)}
    assert heads["Lua overshoot (max over runs)"] == "—" and heads["dict + lock overshoot (max)"] == "+0"
    assert "atomic variants admit exactly 5" in race_check(report)
    with pytest.raises(ValueError, match="unknown race variant"):
        run_races(["lua", "spinlock"])


def test_race_duration_estimate():
    """Only the variants that wait between read and write pay the think time; a real in-memory race takes
    at least the estimate (threads really sleep). No upper bound: a loaded CI machine may take longer."""
    both = race_seconds(list(MEMORY_VARIANTS), requests_per_client=40, think_time=0.005, runs=2)
    assert both == pytest.approx(2 * 40 * 0.005)
    assert race_seconds(["memory_lock"], requests_per_client=40, think_time=0.005, runs=2) == 0
    start = time.perf_counter()
    run_races(list(MEMORY_VARIANTS), clients=4, requests_per_client=40, limit=5, think_time=0.005, runs=2)
    assert time.perf_counter() - start >= both


def test_race_check_without_results():
    assert race_check(RaceReport((), ("lua",))).startswith("Run the race")
    assert race_headlines(RaceReport((), ("lua",))) == ()


def test_fault_settings_are_checked_before_connecting():
    nowhere = RedisAddress("127.0.0.1", 1)
    with pytest.raises(ValueError, match="policy must be one of"):
        run_fault_scenario(nowhere, "maybe", "refuse")
    with pytest.raises(ValueError, match="mode must be one of drop, delay, refuse"):
        run_fault_scenario(nowhere, "open", "pass")
    with pytest.raises(ValueError, match="decisions must be"):
        run_fault_scenario(nowhere, "open", "drop", decisions=3)
    with pytest.raises(ValueError, match="timeout must be"):
        run_fault_scenario(nowhere, "open", "drop", timeout=0)
    with pytest.raises(ValueError, match="delay must be longer than the timeout"):
        run_fault_scenario(nowhere, "open", "delay", timeout=0.2, delay=0.1)
    with pytest.raises(ValueError, match="delay applies to delay mode only"):
        run_fault_scenario(nowhere, "open", "drop", delay=0.5)
    e = RedisUnavailable(nowhere, ConnectionError("refused"), "during the race")
    assert isinstance(e, ValueError) and "redis-server --port 6379" in str(e) and "during the race" in str(e)


def test_presets_fit_the_page_ranges():
    for name, p in PRESETS.items():
        v = p.params
        assert 1 <= v["clients"] <= 16 and 1 <= v["limit"] <= 100 and 30 <= v["decisions"] <= 300, name
        assert 1 <= v["requests"] <= 100 and 0 <= v["think_ms"] <= 10 and 1 <= v["runs"] <= 10, name
        assert set(v["variants"]) <= set(VARIANTS) and v["fault"] in ("refuse", "drop", "delay"), name


def _fault_run(policy: str) -> FaultRun:
    """A hand-written run (a record of decisions, not a simulation of Redis) for the figure and the headlines."""
    counter = FailureCounter()
    decisions = []
    for i in range(9):
        degraded = 3 <= i < 6
        allowed = policy == "open" if degraded else i % 2 == 0
        if degraded:
            counter.failure(ConnectionError("refused"))
        else:
            counter.success()
        decisions.append(
            FaultDecision(
                i,
                i * 0.1,
                "fault" if degraded else "before" if i < 3 else "after",
                allowed,
                degraded,
                "ConnectionError: refused" if degraded else None,
                0.2,
                i % 2 == 0,
            )
        )
    return FaultRun(policy, "refuse", None, 0.1, 5, 5.0, 0.1, tuple(decisions), 3, 6, counter.report())


def test_fault_run_summary_headlines_and_figure():
    runs = (_fault_run("open"), _fault_run("closed"))
    s = runs[0].summary()
    assert s["degraded"] == 3 and s["admitted during the fault"] == 3 and s["recoveries"] == 1
    assert s["admitted that a working limiter would reject"] == 2  # decisions 3 and 5 (odd: would reject)
    assert runs[1].summary()["rejected that a working limiter would admit"] == 1
    assert runs[0].recovered_at == 6 and runs[0].recovered
    heads = {h.label: h.value for h in fault_headlines(runs)}
    assert heads == {
        "Degraded, fail open": "3",
        "Back on Redis, fail open": "decision 6",
        "Degraded, fail closed": "3",
        "Back on Redis, fail closed": "decision 6",
    }
    fig = json.loads(fault_figure(runs).to_json())
    names = {t["name"] for t in fig["data"] if t["x"]}
    assert names == {"admitted", "rejected", "degraded: admitted", "degraded: rejected"}
    assert len(fig["layout"]["shapes"]) == 2  # one shaded fault window per policy
    assert "refuses connections for decisions 3–5" in fig["layout"]["annotations"][0]["text"]
    assert len(runs[0].rows()) == 9


def test_race_figure_bars_whiskers_and_limit():
    report = run_races(list(MEMORY_VARIANTS), clients=4, requests_per_client=10, limit=5, runs=2)
    fig = json.loads(race_figure(report.results).to_json())
    bar = fig["data"][0]
    assert bar["x"] == ["dict, no lock", "dict + lock"]
    assert bar["y"][1] == 5 and bar["error_y"]["array"][1] == 0
    assert fig["layout"]["shapes"][0]["y0"] == 5  # the dashed limit line
    with pytest.raises(ValueError, match="at least one"):
        race_figure([])
