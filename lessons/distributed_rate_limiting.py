"""The distributed rate-limiting page's words: its parameters and presets, the headline numbers of the race,
the round trip, the fault run and the synchronization model, the measured-vs-expected sentences, the captions
and messages, the "why" text, try-this, references, and the commands it shows.

>>> from sdcore.ratelimit.sync import SyncConfig, compare_sync
>>> results = compare_sync(SyncConfig(instances=4, clients=2, rate=50.0, limit=10, duration=5.0))
>>> [round(float(per_window(r).mean()), 1) for r in results.values()][1:3]   # shared, sticky: the limit
[10.0, 10.0]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from lessons.base import Headline, Param, Preset, Reference, md_text, plural, preset_table
from lessons.base import seconds as seconds_text
from sdcore.checks import number_text
from sdcore.ratelimit.distributed import (
    DEFAULT_API_URL,
    DEFAULT_REDIS_URL,
    FAULT_LABELS,
    FAULT_MODES,
    VARIANTS,
    FaultRun,
    RaceReport,
    RaceResult,
)
from sdcore.ratelimit.sync import SYNC_OPTIONS, SYNC_POLICIES, SyncConfig, SyncResult

if TYPE_CHECKING:
    from sdcore.ratelimit.live.burst import BurstRow
    from sdcore.ratelimit.live.redis_store import RoundTrip
    from sdcore.ratelimit.live.sync import LiveSyncConfig, LiveSyncResult  # noqa: F401


def per_window(r: SyncResult) -> np.ndarray:
    """Admitted per client and full window (a last, partial window left out): shape (clients, windows)."""
    return r.admitted[:, : max(1, int(r.config.duration / r.config.window + 1e-9))]


def _label(option: str, r: SyncResult) -> str:
    if option == "synced":
        return f"Synced every {number_text(r.config.sync_every)} s"
    return SYNC_OPTIONS[option].label


def _staleness(r: SyncResult) -> str:
    s = r.staleness
    return "never shared" if math.isinf(s) else "0 s" if s == 0 else f"up to {number_text(s)} s"


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
                f"Synced {number_text(synced.config.sync_every)} s: worst client",
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
            f" Synced every {number_text(synced.config.sync_every)} s: {per_window(synced).mean():.1f}, between the two; "
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
        label = f"Synced every {number_text(r.config.sync_every)} s" if r.option == "synced" else r.label
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
    over = f"over {plural(rt.runs, 'run')} of {rt.per_run}"
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
        Headline(f"Worst overshoot ({VARIANTS[worst.variant].short})", f"+{number_text(worst.overshoot.median)}",
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


# --- the page: title, parameters, captions, messages, why, try this, references ----------------------

TITLE = "Distributed rate limiting"
IDEA = (
    "Ten servers behind a load balancer must enforce **one** limit per client, so they keep the counters in a "
    "shared in-memory store, Redis, with counters that expire. Two servers that read a counter at the same time "
    "and both write it back admit too much: the race. And when the store fails, every server must decide alone."
)
PARAMS = (
    # the shared store (where it is, not part of the experiment)
    Param("backend", "redis", options=("redis", "memory"), labels={"redis": "Redis", "memory": "In memory only"},
          kind="radio", defines_experiment=False, label="Backend",
          help="Redis: shared by every server. In memory: threads of this one process, which is all a lock can "
          "protect."),
    Param("redis_url", DEFAULT_REDIS_URL, max_len=200, defines_experiment=False, label="Redis URL",
          help="redis://host:port/db. No password: the URL goes into the share link."),
    # the race
    Param("clients", 8, lo=1, hi=16, label="Servers (threads) K",
          help="Each has its own connection, as separate servers would."),
    Param("requests", 25, lo=1, hi=100, label="Requests per server",
          help="All for the same client, in the same window."),
    Param("limit", 10, lo=1, hi=100, label="Limit per window", help="What the client may send in the window."),
    Param("think_ms", 1, lo=0, hi=10, label="Think time (ms)",
          help="Work between reading the counter and writing it."),
    Param("runs", 3, lo=1, hi=10, label="Runs",
          help="Live threads are not deterministic: min/median/max over runs."),
    Param("variants", list(VARIANTS), options=tuple(VARIANTS), multi=True,
          labels={n: v.label for n, v in VARIANTS.items()}, label="Variants"),
    # the fault run
    Param("fault", "refuse", options=FAULT_MODES[1:], labels=FAULT_LABELS, label="Fault",
          help="What the proxy between the limiter and Redis does for the middle third of the run."),
    Param("decisions", 60, lo=30, hi=300, step=3, label="Decisions",
          help="One request every 0.1 s of virtual time."),
    Param("timeout_ms", 100, lo=20, hi=1000, step=10, label="Client timeout (ms)",
          help="socket_timeout and socket_connect_timeout."),
    # the synchronization model
    Param("instances", 4, lo=1, hi=16, label="Instances M", help="Servers behind the load balancer."),
    Param("balancer", "round_robin", options=("round_robin", "random"), labels=SYNC_POLICIES,
          label="Load balancer",
          help="How the balancer picks an instance (sticky sessions always hash the client)."),
    Param("sync_ms", 500, lo=50, hi=5000, step=50, label="Sync interval S (ms)",
          help="How often a synced instance pushes its counts and reads the totals."),
    Param("sync_clients", 5, lo=1, hi=10, label="Clients", help="Each sends Poisson traffic."),
    Param("rate", 50, lo=1, hi=200, label="Requests/s per client", help="Well above the limit shows the overshoot."),
    Param("sync_limit", 10, lo=1, hi=100, label="Limit per window L", help="Per client."),
    Param("window", 1, lo=1, hi=10, label="Window (s)", help="A fixed window counter."),
    Param("duration", 20, lo=5, hi=60, label="Seconds of traffic", help="Virtual time: runs in a moment."),
    Param("seed", 0, lo=0, hi=2**31 - 1, kind="number", label="Seed", help="Same seed, same traffic."),
    # try it for real (a local service, not part of the experiment)
    Param("api_url", DEFAULT_API_URL, max_len=200, defines_experiment=False, label="API URL",
          help="This machine only (127.0.0.1, localhost, ::1): the page sends nothing elsewhere."),
    Param("burst", 15, lo=1, hi=50, defines_experiment=False, label="Requests in the burst",
          help="Sent one after the other."),
)  # fmt: skip


def race_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """The race's settings from the page's values, as ``run_races`` takes them."""
    return {"clients": values["clients"], "requests_per_client": values["requests"], "limit": values["limit"],
            "think_time": values["think_ms"] / 1000, "runs": values["runs"]}  # fmt: skip


def race_timing(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Of :func:`race_settings`, what ``race_seconds`` takes to say how long a race lasts."""
    return {k: settings[k] for k in ("requests_per_client", "think_time", "runs")}


def fault_settings(values: Mapping[str, Any]) -> dict[str, Any]:
    """The fault run's settings from the page's values, as ``compare_fault_policies`` takes them."""
    return {"decisions": values["decisions"], "timeout": values["timeout_ms"] / 1000}


def sync_config(values: Mapping[str, Any]) -> SyncConfig:
    """The synchronization model's config from the page's values (ValueError for a bad combination)."""
    return SyncConfig(instances=values["instances"], policy=values["balancer"], sync_every=values["sync_ms"] / 1000,
                      clients=values["sync_clients"], rate=float(values["rate"]), limit=values["sync_limit"],
                      window=float(values["window"]), duration=float(values["duration"]), seed=values["seed"])  # fmt: skip


# A server this session can start itself: (stop button, start button, the start button's help).
OWN_SERVER = MappingProxyType(
    {
        "server": ("Stop my local Redis", "Start a local Redis for me",
                   "A throwaway redis-server on a free port of this machine, for your session only."),
        "api": ("Stop my example API", "Start the example API for me",
                "uvicorn examples.example_api:app on a free port of this machine, for your session only."),
    }
)  # fmt: skip


def pointed_at(what: str, url: str) -> dict[str, str]:
    """The parameters that point the page at the server it started for this session (``url``: its address)."""
    if what == "server":
        return {"redis_url": f"{url}/0", "backend": "redis"}
    return {"api_url": f"{url}/search"}


CONNECT_HELP = (
    "Use the Redis at this address. Nothing is contacted before you press it, and only addresses this "
    "server's operator allows can be used (by default this machine's)."
)


def press_connect(url: str) -> str:
    return (
        f"Press Connect to use the Redis at {md_text(url, 120)}: the page contacts nothing until you do. Meanwhile "
        "it runs what works in memory."
    )


def connected(version: str | None, url: str) -> str:
    return f"Connected to Redis {version} at {url}."


def unreachable(url: str, error: str | None, hint: str) -> str:
    """Redis did not answer: why, how to start one (``hint``), and what the page does meanwhile."""
    return (f"Cannot reach Redis at {url} ({error}). {hint} Until then the page runs what works in memory; the "
            "Redis variants of the race and the fault experiment need Redis.")  # fmt: skip


def race_button_help(seconds: float) -> str:
    return (
        f"Runs live, about {seconds_text(seconds)} with these settings (threads really wait the think time)."
    )


def slow_race_caption(seconds: float) -> str:
    return (
        f"These settings take about {seconds_text(seconds)} to run: the threads really wait the think time."
    )


RACE_NOT_RUN = "Press **Run the race** to run it live with these settings."
FAULT_RUNNING = "Breaking the connection, fail open then fail closed…"


def skipped_note(report: RaceReport) -> str:
    return f"Not run without Redis: {', '.join(VARIANTS[n].short for n in report.skipped)}."


def fault_needs_redis(backend: str, hint: str) -> str:
    """Why the fault experiment is not offered: it breaks a real connection."""
    return ("This experiment breaks a real connection to Redis through a proxy, and needs Redis; nothing is "
            "simulated here. " + ("Choose the Redis backend above." if backend == "memory" else hint))  # fmt: skip


def fault_caption(runs: Sequence[FaultRun]) -> str:
    return (
        "Every decision's latency by its number, coloured by outcome; grey is the fault: fail open admits "
        f"(orange), fail closed rejects (purple); Redis answers again at decision {runs[0].recovered_at} and "
        f"{runs[1].recovered_at}, and the first decision back pays for a new connection."
    )


SYNC_INTRO = (
    "The API runs on **M instances** behind a load balancer. Where does each keep its counters? On "
    "itself (local), in one shared Redis, on itself with the balancer pinning each client to one "
    "instance (sticky sessions), or on itself with a sync to a central store every S seconds."
)


SYNC_SPINNER = "Running the four options on the same traffic…"


def sync_metrics_caption(config: SyncConfig) -> str:
    return f"Requests admitted per client per window, against a limit of {config.limit}:"


SYNC_LIVE_RUNNING = "Running the four options live…"
SYNC_LIVE_NEEDS_REDIS = (
    "With Redis connected, a button here runs the four options live, with threads and the real Redis."
)


def sync_live_help(demo: LiveSyncConfig) -> str:
    return (f"{demo.clients} client threads at {number_text(demo.rate)}/s, {demo.windows} windows of {number_text(demo.window)} s, "
            f"synced every {number_text(demo.sync_every)} s, M = {demo.instances}, {demo.runs} runs per option; shared and "
            "synced on your Redis.")  # fmt: skip


def sync_live_caption(demo: LiveSyncConfig) -> str:
    return (f"Live, admitted per client per {number_text(demo.window)} s window (min/median/max over runs, clients and "
            f"windows): wall-clock threads, so the numbers move from run to run; the limit is {demo.limit}.")  # fmt: skip


TRY_IT_INTRO = (
    "`examples/example_api.py` puts these throttle rules, as ASGI middleware, in front of a small API "
    "(`examples/rules.yaml`: `/search` 10 a minute per address, 30 a minute for everything from one "
    "address). From the project's folder:"
)
SHARED_COUNTERS_CAPTION = (
    "The synchronization issue on real servers: with `--workers 2` each process counts on its own (25 "
    "searches, 20 answered 200); share the counters through Redis and the limit holds again:"
)


def api_running(url: str) -> str:
    return f"Your example API is running at {url} (counters in its own memory)."


def nothing_answered(where: str, rows: Sequence[BurstRow]) -> str:
    return f"Nothing answered at {where} ({rows[0].error}). {START_API_HINT}"


CAPTIONS = MappingProxyType(
    {
        "race": "Admitted requests per variant (median bar, min–max whisker over the runs) against the dashed "
        "limit: red bars overshoot; only the atomic ones stop exactly at the limit.",
        "sync": "Admitted requests per second for each client, window by window: local counters sit near the "
        "dotted M × limit, one shared counter and sticky sessions on the dashed limit, synced counters "
        "in between.",
        "burst": "One marker per request at its X-Ratelimit-Remaining: the counter runs down, then 429s "
        "with Retry-After until the window moves on.",
    }
)


def exports(
    race: RaceReport | None, runs: Sequence[FaultRun] | None, sync: Mapping[str, SyncResult] | None
) -> list[tuple[str, Callable[[], list[dict[str, Any]]], str]]:
    """The CSV downloads of what has run: (button label, the rows, built when asked, file name)."""
    out = []
    if race and race.results:
        out.append(("Race results (CSV)", race.rows, "race.csv"))
    if runs:
        out.append(("Every decision of the fault runs (CSV)", lambda: [row for r in runs for row in r.rows()],
                    "fault_decisions.csv"))  # fmt: skip
    if sync:
        out.append(("Synchronization model, every client (CSV)", lambda: sync_client_rows(sync),
                    "sync_clients.csv"))  # fmt: skip
    return out


def explanation(race: RaceReport | None, rt: RoundTrip | None) -> str:
    """Why: INCR and EXPIRE (with the race's measured-vs-expected sentence once it ran), Lua atomicity,
    sorted-set logs, where the latency goes (the measured round trip ``rt`` with Redis connected), and the
    synchronization issue."""
    rtt_text = (
        f"{rt.decision_ms.median * 1000:.0f} µs here, against {rt.ping_ms.median * 1000:.0f} µs for a bare "
        "PING (the difference is the script and the client's work)"
        if rt is not None
        else "tens to hundreds of µs on one machine, a millisecond or more across a network"
    )
    return (
        "**INCR and EXPIRE.** A fixed window is one counter per client and window, `INCR` to count and `EXPIRE` "
        "so old windows vanish by themselves. `INCR` alone is atomic, but *check then INCR* is two commands: "
        "every server that read a count below the limit before the others incremented is admitted, up to K − 1 "
        "extra. GET then SET is worse: two servers write the same next value and the counter itself loses "
        "updates. Sent as two commands, INCR then EXPIRE can also leave a counter without a TTL if the server "
        "dies between. "
        + (race_check(race) if race else "Run the race to check this against the theory.")
        + "\n\n"
        "**Lua atomicity.** Redis runs a script from start to end with nothing interleaved, so read-decide-write "
        "in one script can never race; WATCH/MULTI gets the same answer optimistically, paying retries when "
        "servers collide. A lock (the in-memory store) is atomic too, but only among threads of one process.\n\n"
        "**Sorted-set logs.** A sliding log keeps one member per request in a sorted set scored by time: "
        "ZREMRANGEBYSCORE drops the old ones, ZCARD counts, ZADD records. As separate commands it races like the "
        "counter; in one script it is exact, at the price of one entry per request.\n\n"
        f"**Where the latency goes.** A Lua decision is one round trip: {rtt_text}, added to every request the "
        "limiter guards. GET→INCR→PEXPIRE needs three round trips, the separate log four, each WATCH retry "
        "three more (compare decisions/s in the table). When Redis is slow, every request waits up to the "
        "client's timeout, so set it explicitly to a small multiple of the normal round trip.\n\n"
        "**The synchronization issue.** With counters on each of M instances, a client spread over them is "
        "counted M times: up to M × limit a window. Sticky sessions count each client on one instance, exact "
        "with no store, but a hash of a few clients is uneven (a hot instance) and an instance that goes away "
        "forgets its counts. Syncing every S seconds (Kong's `sync_rate`) saves the round trip per decision, but "
        "every instance misses what the others admitted since their last sync: up to S seconds stale."
    )


TRY_THIS: tuple[str, ...] = (
    "Predict: with K = 1, how far over the limit does GET → SET go? Run “One server: no race”.",
    "Fail open or fail closed for a login endpoint? For a product page? Run both faults and count what slipped "
    "through in the table.",
    "Interview question: Redis is down for 30 s. What should 50 API servers do, and how does the limit recover?",
    "Predict: with M = 8 instances and local counters, what does a client get per window? With sticky sessions, "
    "how busy is the busiest instance? Then set S to 50 ms and to 5 s: where do synced counters land?",
)
REFERENCES = (
    Reference("Redis INCR: the rate limiter pattern", "https://redis.io/docs/latest/commands/incr/"),
    Reference(
        "Redis EVAL: atomicity of scripts",
        "https://redis.io/docs/latest/develop/interact/programmability/eval-intro/",
    ),
    Reference("Redis transactions: WATCH", "https://redis.io/docs/latest/develop/interact/transactions/"),
    Reference("Stripe: scaling your API with rate limiters", "https://stripe.com/blog/rate-limiters"),
    Reference(
        "Kong: rate limiting strategies and sync_rate",
        "https://developer.konghq.com/gateway/rate-limiting/strategies",
    ),
)
