"""The synchronization experiment live: real clients (threads, then separate processes) sending Poisson
traffic in real time through a shared round-robin balancer to M instances, on a real redis-server.

Invariants, per client and window: local counters admit at most M x the limit, and (with each instance
seeing well over the limit) the model's figure, M x the limit; one shared Redis admits exactly the
limit (one atomic script per decision); sticky sessions admit exactly the limit; synced counters lie
between, where the virtual-time model of the same settings puts them. Tolerances come from the model run
with the same parameters (its spread of admitted per client-window), not from copied numbers.
"""

from __future__ import annotations

import numpy as np
import pytest

from sdcore.ratelimit.live.sync import LiveSyncConfig, run_sync_live
from sdcore.ratelimit.sync import SYNC_OPTIONS, simulate_sync

M, LIMIT = 3, 10
LIVE = LiveSyncConfig(
    instances=M, clients=3, limit=LIMIT, window=0.3, windows=2, rate=200.0, sync_every=0.05, runs=2
)


def model_band(store: str, q: float = 0.01) -> tuple[float, float]:
    """The model's spread (quantiles ``q`` and ``1 - q``) of admitted per client-window, same settings."""
    r = simulate_sync(
        instances=M,
        clients=LIVE.clients,
        rate=LIVE.rate,
        limit=LIMIT,
        window=LIVE.window,
        duration=60.0,
        store=store,
        sync_every=LIVE.sync_every,
    )
    cells = r.admitted[:, :-1].ravel()
    lo, hi = np.quantile(cells, [q, 1 - q])
    return float(lo), float(hi)


def cells(result, which: str) -> np.ndarray:
    return np.concatenate([getattr(r, which).ravel() for r in result.runs])


def check_figures(results) -> None:
    """Per client-window checks (a live run can stall a client for a moment, so each cell is compared
    with what that client actually sent in it), then the medians against the model."""
    assert list(results) == list(SYNC_OPTIONS)
    local, shared, sticky, synced = (results[o] for o in ("local", "shared", "sticky", "synced"))
    for one_counter in (shared, sticky):  # exactly the limit: min(sent, limit) in every cell
        assert np.array_equal(cells(one_counter, "admitted"), np.minimum(cells(one_counter, "sent"), LIMIT))
        assert one_counter.admitted_per_window.median == LIMIT, one_counter.option
    assert [c.median for c in sticky.per_client()] == [LIMIT] * LIVE.clients
    for spread_out in (local, synced):  # between one counter and M of them, in every cell
        admitted, sent = cells(spread_out, "admitted"), cells(spread_out, "sent")
        assert (admitted >= np.minimum(sent, LIMIT)).all() and (admitted <= M * LIMIT).all()
    assert local.worst_case == M * LIMIT
    lo, _ = model_band("local")
    assert local.admitted_per_window.median >= lo, (local.admitted_per_window, lo)
    lo, hi = model_band("synced")
    assert lo <= synced.admitted_per_window.median <= hi, (synced.admitted_per_window, lo, hi)
    assert (
        shared.admitted_per_window.median
        < synced.admitted_per_window.median
        < local.admitted_per_window.median
    )
    # Each instance syncs every S seconds for the whole run (timer threads may run a little late).
    assert min(r.sync_exchanges for r in synced.runs) >= M * LIVE.duration / LIVE.sync_every / 2
    rows = [r.row() for r in results.values()]
    assert {row["option"] for row in rows} == set(SYNC_OPTIONS) and all(
        row["runs"] == len(local.runs) for row in rows
    )


@pytest.mark.redis
@pytest.mark.parametrize("mode", ["threads", "processes"])
def test_live_figures_on_redis(redis_server, client, mode):
    results = run_sync_live(LIVE, mode=mode, redis_url=f"redis://{redis_server.host}:{redis_server.port}/0")
    check_figures(results)
    assert {r.config.mode for r in results.values()} == {mode}
    assert {r.store_backend for o, r in results.items() if o in ("shared", "synced")} == {"redis"}
    assert not list(client.scan_iter(match="sds:sync:*"))  # every run deleted its keys


def test_live_threads_without_redis_share_one_store_in_process():
    results = run_sync_live(LIVE, runs=1)
    check_figures(results)
    assert results["shared"].store_backend == "memory"


def test_processes_need_redis_for_shared_counters():
    with pytest.raises(ValueError, match="redis_url"):
        run_sync_live(LIVE, options=("shared",), mode="processes")


@pytest.mark.parametrize(
    ("params", "word"),
    [
        ({"instances": 9}, "instances"),
        ({"window": 5.0, "windows": 3}, "10 seconds"),
        ({"policy": "sticky"}, "policy"),
        ({"mode": "fibers"}, "mode"),
        ({"algorithm": "token_bucket"}, "algorithm"),
    ],
)
def test_live_parameters_are_bounded(params, word):
    with pytest.raises(ValueError, match=word):
        LiveSyncConfig(**params)
