"""Words for the "Scale to millions" page: parameters, presets, headlines, captions and the "why" texts, all
computed from the run they describe."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from lessons.base import Headline, Param, Preset, Reference, num, pct, preset_table, seconds
from sdcore.scale import architecture as arch_mod
from sdcore.scale.architecture import PRACTICE_ORDER, PRACTICES, TIERS, Architecture, ScaleConfig
from sdcore.scale.availability import YEAR_DAYS
from sdcore.scale.drills import DRILLS, DrillConfig, DrillResult
from sdcore.scale.estimates import storage_per_year

TITLE = "Scale to millions"
IDEA = (
    "One server is enough for a thousand users and hopeless for a million. Switch on the eight practices that "
    "let a design grow, in the order designs usually take them, move the users from 1,000 to 100,000,000 and "
    "watch every tier as a queue: its load, its utilization, the bottleneck that breaks first. Then break "
    "things on purpose: a web server, the cache, the primary database, a whole data center. Overload here "
    "turns into refused requests and lost goodput, exactly as it does in production, never into a queue that "
    "quietly grows forever."
)

USER_STEPS: tuple[int, ...] = tuple(
    int(m * 10**e) for e in range(3, 9) for m in (1, 2, 5) if m * 10**e <= 10**8
)
CACHE_SHARES: tuple[float, ...] = (0.001, 0.005, 0.01, 0.05, 0.1, 0.2)
ITEM_COUNTS: tuple[int, ...] = (10_000, 100_000, 1_000_000, 10_000_000)
WRITE_BYTES = 1_000  # bytes a write stores, for the storage estimate
STORED_REPLICAS = 3
DRILL_SECONDS = 600
DRILL_START = 120


def users_label(n: int) -> str:
    for unit, size in (("billion", 10**9), ("million", 10**6)):
        if n >= size:
            return f"{num(n / size, 0 if n % size == 0 else 1)} {unit}"
    return num(n)


_D = ScaleConfig()
PARAMS: tuple[Param, ...] = (
    Param(
        "users",
        1_000_000,
        options=USER_STEPS,
        kind="select_slider",
        labels={u: users_label(u) for u in USER_STEPS},
        label="Daily active users",
        help="People who use the product on a given day (log scale).",
    ),
    *(
        Param(p, False, label=f"{i}. {PRACTICES[p].label}", help=PRACTICES[p].description)
        for i, p in enumerate(PRACTICE_ORDER, start=1)
    ),
    Param(
        "requests_per_user",
        50,
        lo=1,
        hi=500,
        step=1,
        label="Requests per user per day",
        help="Page views, API calls and asset fetches one user makes in a day.",
    ),
    Param(
        "read_write_ratio",
        10,
        lo=1,
        hi=100,
        step=1,
        label="Reads per write",
        help="Dynamic requests that only read, for each one that writes.",
    ),
    Param(
        "static_share",
        0.5,
        lo=0.0,
        hi=0.9,
        step=0.05,
        label="Share of static assets",
        help="Share of all requests that fetch an image, script or stylesheet.",
    ),
    Param(
        "peak_factor",
        3.0,
        lo=1.0,
        hi=10.0,
        step=0.5,
        label="Peak factor",
        help="The busiest hour's rate ÷ the day's average rate. Capacity is planned for the peak.",
    ),
    Param(
        "target_utilization",
        _D.target_utilization,
        lo=0.3,
        hi=0.9,
        step=0.05,
        label="Target utilization",
        help="Every tier that can grow is sized to run at most this busy at peak: the headroom for failures "
        "and surprises.",
    ),
    Param(
        "cache_share",
        _D.cache_share,
        options=CACHE_SHARES,
        kind="select_slider",
        labels={c: pct(c, 1) for c in CACHE_SHARES},
        label="Cache holds the hottest",
        help="Share of the data items the cache keeps in memory.",
    ),
    Param(
        "items",
        _D.items,
        options=ITEM_COUNTS,
        kind="select_slider",
        labels={c: num(c) for c in ITEM_COUNTS},
        label="Data items",
        help="Distinct items (posts, products, profiles) read with Zipf popularity.",
    ),
    Param(
        "data_centers",
        _D.data_centers,
        lo=2,
        hi=4,
        step=1,
        label="Data centers",
        help="With multiple data centers on: how many share the users.",
    ),
    Param(
        "autoscale_delay",
        180,
        lo=30,
        hi=900,
        step=30,
        label="Autoscaler reaction delay (s)",
        help="From the metric crossing its line to new capacity serving: the metric window plus boot time.",
    ),
    Param(
        "drill",
        "web_server",
        options=tuple(DRILLS),
        kind="radio",
        labels={k: d.label for k, d in DRILLS.items()},
        label="Failure drill",
        help="What breaks, two minutes into a 10-minute run at the peak hour.",
    ),
    Param(
        "t",
        300,
        lo=0,
        hi=DRILL_SECONDS - 1,
        step=10,
        defines_experiment=False,
        label="Moment of the drill (s)",
        help="The second of the drill the architecture drawing shows.",
    ),
)
PARAM = {p.name: p for p in PARAMS}


def _practices(*names: str) -> dict[str, bool]:
    return {p: p in names for p in PRACTICE_ORDER}


PRESETS: tuple[Preset, ...] = (
    Preset(
        "Single server",
        "1,000 users on one web server in front of one database, nothing else.",
        {"users": 1_000, **_practices(), "drill": "web_server"},
        "Plenty of capacity, but every part is a single point of failure: kill the web server and the site "
        "is down until someone rebuilds it.",
    ),
    Preset(
        "The first 10,000 users",
        "10,000 users: a load balancer, two web servers, replicas and a cache.",
        {"users": 10_000, **_practices("redundancy", "caching"), "drill": "db_primary"},
        "Redundancy survives a dead server; a dead primary still stops writes until someone promotes a "
        "replica by hand.",
    ),
    Preset(
        "A million users",
        "1,000,000 users: redundancy, a cache, a CDN, stateless web servers, autoscaling.",
        {
            "users": 1_000_000,
            **_practices("redundancy", "caching", "cdn", "stateless", "automation"),
            "drill": "web_server",
        },
        "Losing a web server costs a few seconds of errors and no sessions; one data center remains a "
        "single point of failure and one primary caps the writes.",
    ),
    Preset(
        "Global, 100 million users",
        "100,000,000 users with all eight practices and two data centers.",
        {"users": 100_000_000, **_practices(*PRACTICE_ORDER), "drill": "data_center"},
        "Sharding lifts the write ceiling; losing a data center costs a minute of DNS failover and then an "
        "overload until the autoscaler has doubled the survivor.",
    ),
)
PRESET_TABLE: Mapping[str, Preset] = preset_table(PRESETS)
DEFAULT_PRESET = "A million users"


def config_from(values: Mapping[str, Any]) -> ScaleConfig:
    """The page's values -> the engine's frozen config (ValueError with a clear sentence if one is bad)."""
    return ScaleConfig(
        users=values["users"],
        requests_per_user=float(values["requests_per_user"]),
        read_write_ratio=float(values["read_write_ratio"]),
        static_share=float(values["static_share"]),
        peak_factor=float(values["peak_factor"]),
        practices=frozenset(p for p in PRACTICE_ORDER if values[p]),
        target_utilization=float(values["target_utilization"]),
        items=values["items"],
        cache_share=float(values["cache_share"]),
        data_centers=values["data_centers"],
        autoscale_delay=float(values["autoscale_delay"]),
    )


def drill_from(values: Mapping[str, Any]) -> DrillConfig:
    return DrillConfig(drill=values["drill"], duration=DRILL_SECONDS, start=DRILL_START)


def describe(preset: str) -> str:
    p = PRESET_TABLE[preset]
    return f"{p.description} {p.shows}"


# -- numbers as text -----------------------------------------------------------------------------------------


def rate(r: float) -> str:
    return f"{num(r, 1 if r < 10 else 0)}/s"


def money(x: float) -> str:
    return f"${num(x, 2 if x < 100 else 0)}"


def latency(s: float | None) -> str:
    return "—" if s is None else seconds(s)


def downtime(s: float) -> str:
    return seconds(s) if s >= 1 else f"{num(s, 2)} s"


def util_text(u: float) -> str:
    return "down" if not math.isfinite(u) else pct(u, 0 if u >= 0.1 else 1)


def about_users(x: float) -> str:
    return f"≈ {users_label(int(round(x, -3 if x > 1e4 else 0)))} users"


# -- headlines -----------------------------------------------------------------------------------------------


def headlines(a: Architecture) -> tuple[Headline, ...]:
    b = a.bottleneck
    ceiling = a.ceiling
    return (
        Headline(
            "Peak load",
            rate(a.load.total),
            f"average {rate(a.qps.average_qps)}",
            "Daily active users × requests per user ÷ 86,400 s × peak factor.",
            "off",
        ),
        Headline(
            "Bottleneck",
            b.label,
            f"{util_text(b.utilization)} busy",
            "The tier with the highest utilization: the first to break as users grow.",
            "inverse" if b.utilization >= 1 else "off",
        ),
        Headline(
            "Requests failed",
            pct(a.error_rate, 2),
            "overloaded" if a.error_rate > 0.01 else "keeps up",
            "Turned away by a full queue or timed out, at the peak hour.",
            "inverse" if a.error_rate > 0.01 else "off",
        ),
        Headline(
            "Latency p50 / p99",
            f"{latency(a.latency_p50)} / {latency(a.latency_p99)}",
            None,
            "Of the requests that succeed, round trip included, sampled through every queue.",
        ),
        Headline(
            "Availability",
            pct(a.availability, 3),
            f"{downtime(a.downtime_per_year)} down a year",
            f"From independent failures and repair times; a year of {YEAR_DAYS} days.",
            "off",
        ),
        Headline(
            "Monthly cost",
            money(a.monthly_cost),
            f"{money(1000 * a.monthly_cost / a.config.users)} per 1,000 users",
            "Instances (averaged over the day when autoscaled), CDN, egress and DNS.",
            "off",
        ),
        Headline(
            "Breaks at",
            ceiling_text(a),
            None if ceiling is None else TIERS[ceiling[0]].label,
            "Users at which a tier that cannot grow sideways reaches 100%.",
            "off",
        ),
    )


def ceiling_text(a: Architecture) -> str:
    c = a.ceiling
    return "no fixed ceiling" if c is None else about_users(c[1])


def drill_headlines(r: DrillResult, a: Architecture) -> tuple[Headline, ...]:
    after, before = r.after, r.before
    rec = r.recovered_at
    return (
        Headline(
            "Requests failed in the drill",
            pct(after.error_share, 2),
            f"{pct(before.error_share, 2)} unbroken",
            "Errors ÷ requests over the 10-minute run.",
            "inverse",
        ),
        Headline(
            "Lost goodput",
            num(r.lost_goodput),
            "requests",
            "Requests that failed because of the drill.",
            "off",
        ),
        Headline(
            "Sessions lost",
            num(after.sessions_lost),
            "stateless" if "stateless" in a.config.practices else "held in server memory",
            "Users logged out: sessions that lived in a dead server's memory.",
            "off",
        ),
        Headline(
            "Writes lost",
            num(after.writes_lost, 1),
            f"{seconds(a.config.replication_lag)} replication lag"
            if "db_replica" in {t.name for t in a.tiers}
            else None,
            "Acknowledged writes the dead primary had not shipped to its replicas.",
            "off",
        ),
        Headline(
            "Back to ≤ 1% errors",
            f"> {seconds(r.config.duration - r.config.start)}"
            if rec is None
            else f"after {seconds(rec - r.config.start)}"
            if rec > r.config.start
            else "no errors",
            None,
            "From the failure to the first second after which every second has at most 1% errors.",
            "off",
        ),
    )


# -- captions ------------------------------------------------------------------------------------------------


def architecture_caption(a: Architecture) -> str:
    b = a.bottleneck
    return (
        f"Requests flow left to right at the peak hour; each tier's colour is its utilization and the "
        f"ringed one is the bottleneck: {b.label}, {util_text(b.utilization)} busy. Edge labels are requests "
        "per second; dotted lines are DNS lookups and replication."
    )


def utilization_caption(a: Architecture) -> str:
    over = [t.label for t in a.tiers if t.overloaded]
    if over:
        return f"Past 100% a tier turns the excess away: {', '.join(over)} cannot keep up at this load."
    return (
        f"Every tier below 100%; the busiest, {a.bottleneck.label}, has {pct(1 - a.bottleneck.utilization, 0)} "
        "headroom before it breaks."
    )


def ladder_caption(steps: Sequence[Architecture]) -> str:
    best = min(range(len(steps)), key=lambda k: (steps[k].error_rate > 0.01, k))
    first = steps[0]
    if first.error_rate <= 0.01:
        return (
            f"At {users_label(first.config.users)} users one server already keeps up: each practice adds "
            "availability and cost, not capacity."
        )
    if steps[best].error_rate > 0.01:
        return (
            f"At {users_label(first.config.users)} users the bare design fails {pct(first.error_rate, 0)} of "
            "requests, and no step of the ladder makes it keep up: look at the bottleneck."
        )
    return (
        f"At {users_label(first.config.users)} users the bare design fails {pct(first.error_rate, 0)} of "
        f"requests; it keeps up from step +{best} ({PRACTICES[PRACTICE_ORDER[best - 1]].label}) on."
    )


def drill_caption(r: DrillResult) -> str:
    label = DRILLS[r.config.drill].label.lower()
    return (
        f"{label.capitalize()} at minute {num(r.config.start / 60)}: green is what is served, red what "
        "fails, the dashed line the same seconds with nothing broken. Nothing waits forever: a full queue "
        "refuses, a long wait times out."
    )


def moment_caption(r: DrillResult, t: int) -> str:
    a = r.after
    return (
        f"Second {t}: {rate(a.offered[t])} arrive, {rate(a.goodput[t])} served, {rate(a.errors[t])} fail; "
        "each tier coloured by its load ÷ live capacity at that moment."
    )


def drill_utilization_caption(r: DrillResult) -> str:
    peaks = {n: r.after.peak_utilization(n) for n in r.after.utilization}
    name = max(peaks, key=lambda n: peaks[n])
    if not math.isfinite(peaks[name]):
        return (
            f"{TIERS[name].label} had no live instance for a while (drawn at the top): everything sent to it "
            "failed."
        )
    return (
        f"The tier pushed hardest is {TIERS[name].label}, at {util_text(peaks[name])} of its live capacity; "
        "above 100% its queue fills and the rest is refused."
    )


# -- why -----------------------------------------------------------------------------------------------------


def why(a: Architecture) -> str:
    """The theory behind this run, with this run's numbers."""
    cfg, load, b = a.config, a.load, a.bottleneck
    spec = TIERS[b.name]
    per_instance = b.arrival_rate / b.instances
    q = b.queue
    lines = [
        "**Every tier is a queue.** An instance with c workers each finishing μ requests a second, fed λ a "
        "second, is busy ρ = λ ÷ (c μ); while ρ < 1 the Erlang C formula gives the chance a request waits and "
        "the mean wait Wq = C ÷ (c μ − λ) (M/M/c).",
        f"Here the bottleneck is **{b.label}**: {num(b.instances)} instance{'s' if b.instances != 1 else ''} × "
        f"{spec.workers} workers at {seconds(b.service_time)} a request, each instance fed {rate(per_instance)}, "
        f"so ρ = {num(per_instance, 1)} ÷ ({spec.workers} × {num(1 / b.service_time, 1)}) = {pct(b.utilization, 1)}.",
    ]
    if q.stable:
        lines.append(
            f"Erlang C: a request waits with probability {pct(q.p_wait, 1)}, for "
            f"{seconds(q.mean_wait)} on average (M/M/{spec.workers})."
        )
    else:
        lines.append(
            f"At ρ ≥ 1 the M/M/{spec.workers} queue has no steady state: it would grow forever. A real "
            f"server has a finite queue ({spec.backlog} places here), so it refuses "
            f"{pct(b.finite.blocking, 1)} of what it is sent (M/M/c/K) and serves the rest in bounded "
            "time: that is what users see as errors."
        )
    lines.append(
        f"**Load propagation.** {rate(load.total)} at peak = {rate(load.static)} static + {rate(load.reads)} reads "
        f"+ {rate(load.writes)} writes."
        + (
            f" The CDN serves {pct(a.cdn.request_hit_ratio, 1)} of static requests but only "
            f"{pct(a.cdn.byte_hit_ratio, 1)} of their bytes (it keeps many small objects and leaves large ones "
            "to the origin)."
            if a.cdn
            else ""
        )
        + (
            f" The cache holds the hottest {pct(cfg.cache_share, 1)} of {num(cfg.items)} items; with Zipf "
            f"popularity (s = {cfg.zipf_exponent}) that serves exactly {pct(load.cache_hit_ratio, 1)} of reads, so "
            f"the database sees (1 − h) × reads = {rate(load.db_reads)}."
            if "caching" in cfg.practices
            else f" Without a cache every read, {rate(load.reads)}, reaches the database."
        )
    )
    ceiling = a.ceiling
    if ceiling:
        lines.append(
            f"**The ceiling.** {TIERS[ceiling[0]].label} cannot grow sideways in this design, so it "
            f"saturates at {about_users(ceiling[1])} whatever else is added"
            + (
                ": only sharding splits the writes."
                if ceiling[0] == "db_primary"
                else ": redundancy (a load balancer and more instances) lets it grow."
            )
        )
    lines.append(
        f"**Availability.** Parts in series multiply (A = A₁ × A₂ …), redundant parts fail only together "
        f"(1 − (1 − A)ⁿ): this design answers {pct(a.availability, 4)} of the time, "
        f"{downtime(a.downtime_per_year)} of downtime in a year of {YEAR_DAYS} days (tables that use 365 days "
        "show a few minutes less). Failures are assumed independent, so this is an upper bound."
    )
    lines.append(
        f"**Little's law** (L = λ W): {rate(cfg.users * arch_mod.SESSIONS_PER_USER_PER_DAY / 86_400 * cfg.peak_factor)} "
        f"sessions start at peak and last {seconds(arch_mod.SESSION_LENGTH_S)}, so {num(a.concurrent_sessions)} "
        "are open at once — what a stateful web tier keeps in its servers' memory."
    )
    return "\n\n".join(lines)


def envelope(a: Architecture) -> tuple[str, ...]:
    """The back-of-the-envelope lines for this run: QPS from DAU and storage per year."""
    cfg = a.config
    writes_per_user = cfg.requests_per_user * (1 - cfg.static_share) / (1 + cfg.read_write_ratio)
    storage = storage_per_year(cfg.users, writes_per_user, WRITE_BYTES, replicas=STORED_REPLICAS)
    return (*a.qps.arithmetic, *storage.arithmetic)


def drill_why(r: DrillResult, a: Architecture) -> str:
    d = r.config.drill
    cfg = a.config
    auto = "automation" in cfg.practices
    mend = (
        f"the autoscaler replaces it after {seconds(cfg.autoscale_delay)}"
        if auto
        else f"a person rebuilds it, about {seconds(arch_mod.MANUAL_REPAIR_S)} later (after this run ends)"
    )
    if d == "web_server":
        w = a.tier("web")
        if w.instances == 1:
            text = f"The only web server is gone: every request to the origin fails until {mend}."
        else:
            text = (
                f"{num(w.instances)} web servers become {num(w.instances - 1)}: the load balancer sends the dead "
                f"one its 1/{num(w.instances)} share until a health check fails, then the rest carry "
                f"{pct(w.utilization * w.instances / (w.instances - 1), 0)} each; {mend}."
            )
        text += (
            " Sessions live in the shared store, so no one is logged out."
            if "stateless" in cfg.practices
            else f" Its sessions lived in its memory: {num(r.after.sessions_lost)} users are logged out."
        )
    elif d == "cache":
        if not a.has_tier("cache"):
            return "There is no cache to kill: switch on caching first."
        c = a.tier("cache")
        text = (
            f"One of {num(c.instances)} cache nodes dies; its keys miss and the database takes the reads until "
            f"they are warm again. The busiest database tier peaks at "
            f"{util_text(max(r.after.peak_utilization(n) for n in ('db_replica', 'db_primary') if a.has_tier(n)))}"
            f" — {'it survives' if r.survived else 'it does not keep up'}."
        )
    elif d == "db_primary":
        if a.has_tier("db_replica"):
            how = (
                f"a replica is promoted automatically after {seconds(arch_mod.FAILOVER_AUTO_S)}"
                if auto
                else f"a person promotes a replica after about {seconds(arch_mod.FAILOVER_MANUAL_S)}"
            )
            text = (
                f"The primary dies: {how}. Replication is asynchronous, so the last "
                f"{seconds(cfg.replication_lag)} of its writes, {num(r.after.writes_lost, 1)}, never reached a "
                "replica and are lost."
            )
        else:
            text = f"The only copy of the data is down: reads that miss the cache and every write fail until {mend}."
        if a.has_tier("queue"):
            text += " Writes keep being accepted: the message queue holds the jobs until the primary is back."
    elif d == "data_center":
        if cfg.sites == 1:
            text = (
                "With one data center there is nowhere to go: everything but the CDN's cached assets is down "
                "until it returns."
            )
        else:
            text = (
                f"Geo DNS moves the dark data center's users after about {seconds(60)}; the "
                f"{num(cfg.sites - 1)} left had capacity for their own share only, so they overload until "
                + ("the autoscaler adds capacity." if auto else "someone adds capacity by hand.")
            )
    else:
        text = "Twice the traffic arrives at once. " + (
            f"The autoscaler sees it over its one-minute window and adds capacity "
            f"{seconds(cfg.autoscale_delay)} later; until then the excess is refused."
            if auto and "redundancy" in cfg.practices
            else "Nothing adds capacity, so the excess is refused for as long as the surge lasts."
        )
    return (
        f"{text}\n\nThe run is a fluid model in virtual time: each second, Poisson arrivals pass through the "
        "tiers; a tier serves what its live instances can, keeps a bounded queue, and refuses or times out "
        f"the rest. It failed {pct(r.after.error_share, 2)} of requests against "
        f"{pct(r.before.error_share, 2)} with nothing broken."
    )


TRY_THIS: tuple[str, ...] = (
    "Pick **Single server** and slide the users up. *Predict:* at how many users does the web server break? "
    "Then read **Breaks at** — and note that the database is fine long after.",
    "On **A million users**, slide to 20 million. *Predict which tier breaks.* (Only one tier cannot grow "
    "sideways without sharding.) Switch on sharding and watch the ceiling disappear.",
    "On **Global, 100 million users**, lose a data center at target utilization 60%, then 45%. *Predict:* "
    "which one survives without errors once DNS has failed over? Headroom is capacity you pay for every month.",
    "Kill a web server with the stateless tier off, then on. How many users were logged out? Why does a "
    "load balancer with sticky sessions not save them?",
)

REFERENCES: tuple[Reference, ...] = (
    Reference(
        "Alex Xu, System Design Interview, ch. 1: Scale from zero to millions of users",
        "https://bytebytego.com/courses/system-design-interview/scale-from-zero-to-millions-of-users",
    ),
    Reference("Erlang C formula (M/M/c)", "https://en.wikipedia.org/wiki/Erlang_(unit)#Erlang_C_formula"),
    Reference("Little's law", "https://en.wikipedia.org/wiki/Little%27s_law"),
    Reference("Google SRE book: handling overload", "https://sre.google/sre-book/handling-overload/"),
    Reference(
        "Breslau et al. 1999, Web caching and Zipf-like distributions",
        "https://doi.org/10.1109/INFCOM.1999.749260",
    ),
)
