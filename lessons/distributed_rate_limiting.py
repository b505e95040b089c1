"""The distributed rate-limiting page's words: its presets, the headline numbers of the race, the round trip,
the fault run and the synchronization model, the measured-vs-expected sentences, and the commands it shows.

>>> from sdcore.ratelimit.sync import SyncConfig, compare_sync
>>> results = compare_sync(SyncConfig(instances=4, clients=2, rate=50.0, limit=10, duration=5.0))
>>> [round(float(per_window(r).mean()), 1) for r in results.values()][1:3]   # shared, sticky: the limit
[10.0, 10.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lessons.base import Headline, Preset, preset_table
from sdcore.ratelimit.distributed import VARIANTS, FaultRun, RaceReport, RaceResult
from sdcore.ratelimit.sync import SYNC_OPTIONS, SyncResult

if TYPE_CHECKING:
    from sdcore.ratelimit.live.burst import BurstRow
    from sdcore.ratelimit.live.redis_store import RoundTrip
    from sdcore.ratelimit.live.sync import LiveSyncConfig, LiveSyncResult  # noqa: F401


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
                help=f"Mean admitted per window of the client that got most, against a limit of {c.limit}: "
                f"{worst / c.limit:.1f}× the limit{theory}.",
            )
        )
        out.append(
            Headline(
                "Worst case M × limit",
                f"{local.worst_case}",
                help=f"{c.instances} instances, each admitting up to {c.limit} for every client: no client "
                "can get more per window with local counters.",
            )
        )
    if (shared := results.get("shared")) is not None:
        out.append(
            Headline(
                "Shared Redis",
                f"{per_window(shared).mean():.1f}",
                help=f"One counter: at most the limit, {shared.limit}, for one round trip per decision.",
            )
        )
    if (sticky := results.get("sticky")) is not None:
        share = sticky.load_share.max()
        out.append(
            Headline(
                "Sticky sessions",
                f"{per_window(sticky).mean():.1f}",
                help=f"Each client always on one instance: the limit, with no store; the busiest instance "
                f"serves {share:.0%} of requests (even: {1 / sticky.config.instances:.0%}).",
            )
        )
    if (synced := results.get("synced")) is not None:
        worst = per_window(synced).mean(axis=1).max()
        out.append(
            Headline(
                f"Synced {synced.config.sync_every:g} s: worst client",
                f"{worst:.1f}",
                help="Local counts plus the others' as of the last sync: between the limit and M × limit.",
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
    from sdcore.ratelimit.live.sync import LiveSyncConfig  # the live runner's config: loaded on demand only

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


# --- the race, the round trip and the fault run ------------------------------------------------------


def _preset(name: str, description: str, **params) -> Preset:
    base = {"clients": 8, "requests": 25, "limit": 10, "think_ms": 1, "runs": 3, "variants": list(VARIANTS),
            "fault": "refuse", "decisions": 60, "timeout_ms": 100}  # fmt: skip
    return Preset(name, description, base | params)


PRESETS = preset_table((
    _preset(
        "Eight servers, one counter",
        "8 servers send 25 requests each for one client whose limit is 10 a window, each taking 1 ms between "
        "reading the counter and writing it. Then Redis goes down mid-run (connections refused)."),
    _preset(
        "No think time",
        "The same race with nothing between the read and the write: the network round trip alone is a wide "
        "enough window for the non-atomic variants to overshoot.", think_ms=0),
    _preset(
        "One server: no race",
        "A single server: every variant is exact. The race needs concurrency.", clients=1),
    _preset(
        "Many servers, tight limit",
        "16 servers and a limit of 5: GET then SET loses updates and admits many times the limit.",
        clients=16, limit=5, requests=20),
    _preset(
        "Slow Redis (timeouts)",
        "Replies come 300 ms late while the client waits 100 ms: every decision in the fault window times "
        "out, and the page shows what that costs each request.", fault="delay"),
    _preset(
        "Connections dropped",
        "Redis closes every connection mid-run (a restart, a failover): the client reconnects by itself "
        "once it is back.", fault="drop"),
))  # fmt: skip
DEFAULT_PRESET = "Eight servers, one counter"


# --- the numbers a page puts in its headline ---------------------------------------------------------


def _us(ms: float) -> str:
    return f"{ms * 1000:,.0f} µs"


def round_trip_headlines(rt: RoundTrip) -> tuple[Headline, ...]:
    """PING and one-decision latency (median, min/max in the help), and what one connection can do."""
    p, d = rt.ping_ms, rt.decision_ms
    over = f"over {rt.runs} runs of {rt.per_run}"
    return (
        Headline("PING round trip (median)", _us(p.median), help=f"min {_us(p.min)}, max {_us(p.max)} {over}."),
        Headline("One decision (Lua, median)", _us(d.median),
                 help=f"min {_us(d.min)}, max {_us(d.max)} {over}: one EVALSHA each, a round trip plus the script."),
        Headline("Decisions/s on one connection", f"{1000 / d.median:,.0f}",
                 help="One request at a time: 1 / the decision's latency. More connections, more in parallel."),
    )  # fmt: skip


def race_headlines(report: RaceReport) -> tuple[Headline, ...]:
    """The worst median overshoot, and the largest overshoot of the Lua script and of the lock."""
    worst, lua, lock = report.worst(), report.result("lua"), report.result("memory_lock")
    if worst is None:
        return ()
    return (
        Headline(f"Worst overshoot ({VARIANTS[worst.variant].short})", f"+{worst.overshoot.median:g}",
                 help=f"Admitted beyond the limit, median over {len(worst.runs)} runs; min {worst.overshoot.min}, "
                 f"max {worst.overshoot.max}."),
        Headline("Lua overshoot (max over runs)", f"+{lua.overshoot.max}" if lua else "—",
                 help="One script per decision: Redis runs it with nothing interleaved." if lua else "Needs Redis."),
        Headline("dict + lock overshoot (max)", f"+{lock.overshoot.max}" if lock else "—",
                 help="A lock is atomic too, but only among the threads of one process."),
    )  # fmt: skip


def fault_headlines(runs: Sequence[FaultRun]) -> tuple[Headline, ...]:
    """Per policy: how many decisions were degraded, and when Redis answered again."""
    out = []
    for r in runs:
        s, who = r.summary(), r.label.split(" (")[0].lower()
        out.append(
            Headline(
                f"Degraded, {who}",
                str(s["degraded"]),
                help=f"{r.label}: decisions the policy made because Redis failed. Errors: {s['errors']}.",
            )
        )
        out.append(
            Headline(
                f"Back on Redis, {who}",
                f"decision {r.recovered_at}" if r.recovered else "no",
                help=f"The fault ended at decision {r.fault_end}; recoveries counted: {s['recoveries']}.",
            )
        )
    return tuple(out)


def race_check(report: RaceReport) -> str:
    """The measured-vs-expected sentence: atomic variants admit exactly the limit, check-then-act at
    most K - 1 extra (one stale read per other client), GET then SET without a bound."""
    if not report.results:
        return "Run the race to compare the variants with what theory expects."
    r0 = report.results[0]
    k, limit = r0.clients, r0.limit

    def worst(r: RaceResult) -> str:
        return f"{VARIANTS[r.variant].short} +{r.overshoot.max}"

    atomic = [worst(r) for r in report.results if r.atomic]
    bounded = [worst(r) for r in report.results if r.variant in ("get_incr", "log_separate")]
    lost = [worst(r) for r in report.results if r.variant in ("get_set", "memory_unlocked")]
    parts = [
        f"Expected with K = {k} servers and a limit of {limit}: the atomic variants admit exactly {limit}"
    ]
    parts.append(f"(measured, worst run: {', '.join(atomic)})" if atomic else "")
    if bounded:
        parts.append(f"; check-then-increment at most K − 1 = {k - 1} extra (measured: {', '.join(bounded)})")
    if lost:
        parts.append(f"; read-then-write without a lock has no such bound (measured: {', '.join(lost)})")
    return " ".join(p for p in parts if p).replace(" ;", ";") + "."


# --- try it for real: the example API -----------------------------------------------------------------

EXAMPLE_API_COMMANDS = (
    "make run-api          # or: .venv/bin/uvicorn examples.example_api:app --port 8000\n"
    "# then, in another terminal: 10 x 200, then 429\n"
    "for i in $(seq 1 15); do curl -s -o /dev/null -w '%{http_code}\\n' localhost:8000/search; done"
)
SHARED_COUNTERS_COMMANDS = (
    "redis-server --port 6379 &\n"
    "REDIS_URL=redis://127.0.0.1:6379/0 POLICY=closed \\\n"
    "  .venv/bin/uvicorn examples.example_api:app --port 8000 --workers 2"
)
START_API_HINT = (
    "Start the example API from the project's folder with `make run-api` (or `.venv/bin/uvicorn "
    "examples.example_api:app --port 8000`), or press “Start the example API for me”."
)


def burst_summary(rows: Sequence[BurstRow]) -> str:
    """The statuses in order, runs collapsed: ``200 × 10 → 429 × 5``."""
    runs: list[list] = []
    for r in rows:
        s = r.status if r.status is not None else "no answer"
        if runs and runs[-1][0] == s:
            runs[-1][1] += 1
        else:
            runs.append([s, 1])
    return " → ".join(f"{s} × {k}" for s, k in runs)
