"""What a page shows of the synchronization model (:mod:`sdcore.ratelimit.sync`): headline numbers, the
cost of each way to keep the counters, and the measured-vs-expected sentence.

>>> from sdcore.ratelimit.sync import SyncConfig, compare_sync
>>> results = compare_sync(SyncConfig(instances=4, clients=2, rate=50.0, limit=10, duration=5.0))
>>> [round(per_window(r).mean(), 1) for r in results.values()][1:3]   # shared, sticky: the limit
[10.0, 10.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from sdcore.ratelimit.distributed import Headline
from sdcore.ratelimit.sync import SYNC_OPTIONS, LiveSyncConfig, LiveSyncResult, SyncResult


def per_window(r: SyncResult) -> np.ndarray:
    """Admitted per client and full window (a last, partial window left out): shape (clients, windows)."""
    return r.admitted[:, : max(1, int(r.config.duration / r.config.window + 1e-9))]


def _label(option: str, r: SyncResult) -> str:
    if option == "synced":
        return f"Synced every {r.config.sync_every:g} s"
    return SYNC_OPTIONS[option].label


def _staleness(r: SyncResult) -> str:
    s = r.staleness
    return "never shared" if math.isinf(s) else "0 s" if s == 0 else f"up to {s:g} s"


def sync_headlines(results: Mapping[str, SyncResult]) -> tuple[Headline, ...]:
    """Admitted per client per window: local counters' worst client (against M x the limit and the closed
    form), the worst case M x the limit, shared and sticky (mean over clients), synced (worst client)."""
    out = []
    if (local := results.get("local")) is not None:
        c, e = local.config, local.expected
        worst = per_window(local).mean(axis=1).max()
        theory = f"; the closed form expects {e.mean:.1f} on average" if e else ""
        out.append(
            Headline(
                "Local: worst client",
                f"{worst:.1f}",
                f"Mean admitted per window of the client that got most, against a limit of {c.limit}: "
                f"{worst / c.limit:.1f}× the limit{theory}.",
            )
        )
        out.append(
            Headline(
                "Worst case M × limit",
                f"{local.worst_case}",
                f"{c.instances} instances, each admitting up to {c.limit} for every client: no client "
                "can get more per window with local counters.",
            )
        )
    if (shared := results.get("shared")) is not None:
        out.append(
            Headline(
                "Shared Redis",
                f"{per_window(shared).mean():.1f}",
                f"One counter: at most the limit, {shared.limit}, for one round trip per decision.",
            )
        )
    if (sticky := results.get("sticky")) is not None:
        share = sticky.load_share.max()
        out.append(
            Headline(
                "Sticky sessions",
                f"{per_window(sticky).mean():.1f}",
                f"Each client always on one instance: the limit, with no store; the busiest instance "
                f"serves {share:.0%} of requests (even: {1 / sticky.config.instances:.0%}).",
            )
        )
    if (synced := results.get("synced")) is not None:
        worst = per_window(synced).mean(axis=1).max()
        out.append(
            Headline(
                f"Synced {synced.config.sync_every:g} s: worst client",
                f"{worst:.1f}",
                "Local counts plus the others' as of the last sync: between the limit and M × limit.",
            )
        )
    return tuple(out)  # fmt: skip


def sync_cost_rows(results: Mapping[str, SyncResult]) -> list[dict[str, Any]]:
    """One row per option: what it admits per client and window, and what keeping the counters costs."""
    rows = []
    for o, r in results.items():
        w = per_window(r)
        rows.append({
            "option": _label(o, r), "admitted / client / window": round(float(w.mean()), 2),
            "round trips / decision": round(r.round_trips_per_decision, 3), "staleness": _staleness(r),
            "sync round trips / s": round(r.sync_exchanges / r.config.duration, 2),
            "busiest instance": f"{r.load_share.max():.0%}", "most in a window": int(w.max()),
            "worst case": r.worst_case, "mean drift": round(r.mean_drift, 2), "max drift": round(r.max_drift, 2),
        })  # fmt: skip
    return rows


def sync_client_rows(results: Mapping[str, SyncResult]) -> list[dict[str, Any]]:
    """Every client of every option (for a CSV)."""
    return [{"option": _label(o, r), **row} for o, r in results.items() for row in r.client_rows()]


def sync_check(results: Mapping[str, SyncResult]) -> str:
    """The measured-vs-expected sentence: local counters against the closed form and M x the limit, the one
    counter options against the limit, synced counters between them."""
    local = results.get("local")
    if local is None:
        return "Include local counters to compare them with the closed form."
    c, e, w = local.config, local.expected, per_window(local)
    text = f"Local counters admitted {w.mean():.1f} per client per window on average"
    if e is not None:
        se = 2 * e.sd / math.sqrt(w.size)
        text += f"; the closed form says {e.mean:.1f} (± {se:.1f}, two standard errors over {w.size} client-windows)"
        if c.policy == "round_robin" and c.instances > 1:
            text += " for random routing (a round robin shared by every client is close to it)"
    text += f", and never more than M × limit = {local.worst_case}."
    one = [
        f"{_label(o, results[o])} {per_window(results[o]).mean():.1f}"
        for o in ("shared", "sticky")
        if o in results
    ]
    if one:
        text += (
            f" With one counter per client ({', '.join(one)}) each client gets at most the limit, {c.limit}."
        )
    if (synced := results.get("synced")) is not None:
        text += (
            f" Synced every {synced.config.sync_every:g} s: {per_window(synced).mean():.1f}, between the two; "
            "a shorter interval brings it closer to the limit, for more sync round trips."
        )
    return text  # fmt: skip


# --- the live run -------------------------------------------------------------------------------------


def live_demo_config(instances: int, policy: str, limit: int) -> LiveSyncConfig:
    """Small live settings for a page (about 10 s for the four options): 3 clients of 200 requests/s, two
    windows of 0.3 s, synced every 0.1 s, 3 runs; at most 8 instances."""
    if policy not in ("round_robin", "random"):
        raise ValueError(f"policy must be round_robin or random (got {policy!r})")
    return LiveSyncConfig(instances=min(instances, 8), clients=3, policy=policy, limit=limit, window=0.3,
                          windows=2, rate=200.0, sync_every=0.1, runs=3)  # fmt: skip


def live_rows(results: Mapping[str, LiveSyncResult]) -> list[dict[str, Any]]:
    """One row per option: admitted per client-window, min/median/max over runs, clients and windows."""
    rows = []
    for r in results.values():
        a = r.admitted_per_window
        label = f"Synced every {r.config.sync_every:g} s" if r.option == "synced" else r.label
        rows.append({
            "option": label, "store": "Redis" if r.store_backend == "redis" else "this process",
            "sent per window (median)": r.sent_per_window.median, "admitted min": a.min, "admitted median": a.median,
            "admitted max": a.max, "worst case": r.worst_case, "runs": len(r.runs),
        })  # fmt: skip
    return rows
