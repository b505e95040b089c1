"""The synchronization model (virtual time, seeded): where M instances keep their counters.

Invariants:
- with local counters each instance admits at most the limit per client and window, so a client gets
  at most M x the limit, and on average what the closed form says (``expected_admitted``);
- one shared counter and sticky sessions admit exactly ``min(sent, limit)`` per client and window;
- synced counters lie between the two in every window, and get closer to the limit as S shrinks;
- a synced store that never syncs decides exactly like a MemoryStore (same arithmetic as the steps).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sdcore.ratelimit import FixedWindowCounter, MemoryStore, SlidingWindowCounter
from sdcore.ratelimit.sync import (
    SYNC_OPTIONS,
    MemoryCentral,
    SyncConfig,
    SyncedStore,
    compare_sync,
    expected_admitted,
    simulate_sync,
    sticky_instance,
)

M, LIMIT = 4, 10
BASE = SyncConfig(instances=M, clients=6, rate=60.0, limit=LIMIT, window=1.0, duration=30.0, sync_every=0.25)


def full_windows(r):
    return r.admitted[:, : int(r.config.duration / r.config.window)]


def within_model(r, sds: float = 4.0) -> None:
    """The mean admitted per client-window is within ``sds`` standard errors of the closed form."""
    e = expected_admitted(r.config)
    cells = full_windows(r)
    margin = sds * max(e.sd, 0.5) / math.sqrt(cells.size)
    assert abs(cells.mean() - e.mean) <= margin + 0.02 * e.mean, (cells.mean(), e)


@pytest.mark.parametrize("policy", ["round_robin", "random"])
def test_local_counters_admit_up_to_m_times_the_limit(policy):
    r = simulate_sync(BASE, store="local", policy=policy)
    assert r.admitted.max() <= M * LIMIT
    assert r.worst_case == M * LIMIT
    # rate x window / M = 15 requests per instance per window: nearly every instance fills its limit.
    assert full_windows(r).mean() > 0.9 * M * LIMIT
    assert r.max_drift == M  # some client got M x the limit in some window
    if policy == "random":
        within_model(r)  # exact for random routing of Poisson arrivals
    else:
        assert full_windows(r).mean() >= expected_admitted(r.config).mean - 0.5  # round robin spreads evenly
    assert r.round_trips_per_decision == 0 and r.staleness == math.inf


def test_local_counters_with_light_traffic_match_the_closed_form():
    """rate x window / M = 2.5 per instance: most instances never reach the limit."""
    r = simulate_sync(BASE, store="local", policy="random", rate=10.0, duration=100.0, clients=4)
    e = expected_admitted(r.config)
    assert e.mean < 0.3 * M * LIMIT
    within_model(r)


@pytest.mark.parametrize("option", ["shared", "sticky"])
def test_one_counter_per_client_admits_exactly_the_limit(option):
    r = simulate_sync(BASE.for_option(option))
    assert np.array_equal(r.admitted, np.minimum(r.sent, LIMIT))
    assert r.max_drift == 1.0 and r.worst_case == LIMIT
    within_model(r)
    if option == "shared":
        assert r.store_round_trips == r.decisions and r.round_trips_per_decision == 1.0
    else:
        assert r.store_round_trips == 0 and r.staleness == 0.0
        busy = {sticky_instance(name, M) for name in r.clients}
        assert {int(i) for i in np.flatnonzero(r.instance_requests)} == busy


def test_synced_lies_between_shared_and_local_and_tightens_as_s_shrinks():
    local = simulate_sync(BASE, store="local")
    means = []
    for s in (1.0, 0.25, 0.05, 0.01):
        r = simulate_sync(BASE, store="synced", sync_every=s)
        assert (r.admitted >= np.minimum(r.sent, LIMIT)).all()  # never below what one counter admits
        assert r.admitted.max() <= M * LIMIT  # each instance still admits at most the limit itself
        assert r.staleness == s
        assert r.sync_exchanges == pytest.approx(M * BASE.duration / s, abs=M)
        means.append(full_windows(r).mean())
    assert means == sorted(means, reverse=True) and len(set(means)) == len(means)
    assert means[0] <= full_windows(local).mean()
    assert means[-1] < 1.2 * LIMIT  # syncing every 10 ms of a 1 s window: close to the limit


def test_synced_every_window_or_slower_is_no_better_than_local():
    """With S far above the window, most windows pass before any instance syncs their counters: each
    instance counts alone, as with local counters."""
    local = simulate_sync(BASE, store="local")
    slow = simulate_sync(BASE, store="synced", sync_every=8.0)
    assert full_windows(slow).mean() >= 0.95 * full_windows(local).mean()


def test_compare_sync_runs_every_option_on_the_same_traffic():
    results = compare_sync(BASE)
    assert list(results) == list(SYNC_OPTIONS)
    sent = {o: r.sent for o, r in results.items()}
    for o in SYNC_OPTIONS:
        assert np.array_equal(sent[o], sent["local"])
    order = [full_windows(results[o]).mean() for o in ("shared", "synced", "local")]
    assert order == sorted(order)
    assert results["sticky"].config.policy == "sticky"


def test_one_instance_makes_every_option_the_same():
    results = compare_sync(BASE, instances=1)
    first = results["shared"].admitted
    for r in results.values():
        assert np.array_equal(r.admitted, first)


def test_seeded_and_deterministic():
    a, b = simulate_sync(BASE, policy="random"), simulate_sync(BASE, policy="random")
    assert np.array_equal(a.admitted, b.admitted) and np.array_equal(a.instance_requests, b.instance_requests)
    c = simulate_sync(BASE, policy="random", seed=1)
    assert not np.array_equal(a.sent, c.sent)


def test_steady_arrivals_and_round_robin_can_alias():
    """Evenly spaced clients, as many as instances, meet a round robin in lockstep: each client always
    lands on the same instance, so local counters happen to hold the limit (a real effect, and why the
    live experiment uses Poisson arrivals)."""
    r = simulate_sync(BASE, store="local", arrivals="steady", clients=M, rate=40.0)
    assert r.max_drift == 1.0


@pytest.mark.parametrize("limiter_cls", [FixedWindowCounter, SlidingWindowCounter])
def test_a_synced_store_that_never_syncs_decides_like_a_memory_store(limiter_cls):
    rng = np.random.default_rng(3)
    times = np.sort(rng.uniform(0, 20, 2000)).round(6)
    keys = rng.choice(["a", "b", "c"], len(times))
    synced = limiter_cls(7, 1.5, store=SyncedStore(MemoryCentral()))
    memory = limiter_cls(7, 1.5, store=MemoryStore())
    for t, k in zip(times.tolist(), keys.tolist(), strict=True):
        assert synced.allow(t, k) == memory.allow(t, k)


def test_sliding_window_counter_synced():
    cfg = SyncConfig(
        instances=3,
        clients=3,
        rate=50.0,
        limit=10,
        window=1.0,
        duration=20.0,
        algorithm="sliding_window_counter",
        sync_every=0.01,
    )
    synced, local = simulate_sync(cfg, store="synced"), simulate_sync(cfg, store="local")
    assert synced.admitted.mean() < 0.6 * local.admitted.mean()
    assert expected_admitted(cfg) is None


def test_other_algorithms_run_local_and_shared():
    for algorithm in ("token_bucket", "sliding_log", "gcra"):
        cfg = SyncConfig(instances=3, clients=2, rate=40.0, limit=10, duration=20.0, algorithm=algorithm)
        shared, local = simulate_sync(cfg, store="shared"), simulate_sync(cfg, store="local")
        assert shared.mean_drift == pytest.approx(1.0, abs=0.1)  # the rate holds over the run
        assert local.mean_drift > 2.5


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"instances": 0}, "instances"),
        ({"policy": "least_conn"}, "policy"),
        ({"store": "etcd"}, "store"),
        ({"sync_every": 0}, "sync_every"),
        ({"limit": 0}, "limit"),
        ({"duration": 0.5, "window": 1.0}, "duration"),
        ({"store": "synced", "algorithm": "token_bucket"}, "algorithm"),
        ({"rate": 100_000.0, "clients": 200}, "requests"),
    ],
)
def test_bad_parameters_are_named(params, word):
    with pytest.raises(ValueError, match=word):
        SyncConfig(**params)


def test_the_synced_store_refuses_buckets_and_logs():
    store = SyncedStore(MemoryCentral())
    with pytest.raises(NotImplementedError, match="counters"):
        store.token_bucket("k", 0, 10, 10)


def _admitted_through_allow(cfg: SyncConfig) -> np.ndarray:
    """simulate_sync's loop as it was: every decision through ``limiter.allow`` (the reference for the
    store-step loop it runs now)."""
    from sdcore.ratelimit.limiters import make_limiter
    from sdcore.ratelimit.sync import _routes, _traffic, client_name, sync_phase
    from sdcore.ratelimit.units import to_micros

    rng = np.random.default_rng(cfg.seed)
    names = tuple(client_name(i) for i in range(cfg.clients))
    t, owner = _traffic(cfg, rng)
    route = _routes(cfg, owner, rng, names)
    synced = []
    if cfg.store == "shared":
        limiters = [make_limiter(cfg.algorithm, cfg.limit, cfg.window, MemoryStore())] * cfg.instances
    elif cfg.store == "local":
        limiters = [
            make_limiter(cfg.algorithm, cfg.limit, cfg.window, MemoryStore()) for _ in range(cfg.instances)
        ]
    else:
        central = MemoryCentral()
        synced = [SyncedStore(central) for _ in range(cfg.instances)]
        limiters = [make_limiter(cfg.algorithm, cfg.limit, cfg.window, s) for s in synced]
    events = sorted(
        (float(s), i)
        for i in range(cfg.instances if synced else 0)
        for s in np.arange(sync_phase(i, cfg.instances, cfg.sync_every), cfg.duration, cfg.sync_every)
    )
    out, e = np.zeros(len(t), dtype=bool), 0
    for j, (tj, c, i) in enumerate(zip(t.tolist(), owner.tolist(), route.tolist(), strict=True)):
        while e < len(events) and events[e][0] <= tj:
            synced[events[e][1]].sync(to_micros(events[e][0]))
            e += 1
        out[j] = limiters[i].allow(tj, names[c]).allowed
    return out, t, owner


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize(
    "algorithm",
    ["fixed_window", "sliding_window_counter", "sliding_log", "token_bucket", "leaking_bucket", "gcra"],
)
def test_the_store_step_loop_decides_as_limiter_allow(algorithm, seed):
    rng = np.random.default_rng(seed)
    for store, policy in (("local", "round_robin"), ("shared", "random"), ("synced", "round_robin")):
        if store == "synced" and algorithm not in ("fixed_window", "sliding_window_counter"):
            continue
        cfg = SyncConfig(
            instances=int(rng.integers(1, 6)), clients=int(rng.integers(1, 5)), rate=float(rng.uniform(5, 80)),
            limit=int(rng.integers(1, 20)), window=float(rng.choice([0.5, 1.0, 2.0])), duration=8.0,
            sync_every=0.3, store=store, policy=policy, algorithm=algorithm, seed=seed,
        )  # fmt: skip
        want, t, owner = _admitted_through_allow(cfg)
        got = simulate_sync(cfg)
        nw = cfg.windows
        cell = owner * nw + np.minimum((t / cfg.window).astype(np.int64), nw - 1)
        assert np.array_equal(got.admitted.ravel(), np.bincount(cell[want], minlength=cfg.clients * nw))
