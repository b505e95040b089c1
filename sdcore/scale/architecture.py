"""An architecture that grows from one server to millions of users, one practice at a time, and breaks honestly.

Users and their behaviour (daily active users, requests per user, read/write ratio, share of static assets,
peak factor) give the request rate at peak; the practices switched on decide which tiers exist and how each
request flows through them; every tier is a queue (M/M/c per instance for the textbook numbers, M/M/c/K with
a finite queue for what happens to the excess), so the model reports per tier its load, utilization and
whether it keeps up, and end to end the bottleneck, latency p50/p99 (sampled through the queues), the share
of requests turned away, availability and the monthly cost.

The rules of the model, stated once:

* Without *redundancy* every tier is one instance (one web server in front of one database): it cannot grow
  sideways and is a single point of failure. With it, a load balancer pair fronts the web tier and each tier
  is sized to the load at the target utilization, at least two of everything; database reads go to replicas.
* Writes all go to one primary database (per data center): the only way to grow writes is *sharding*, which
  splits the data over as many primaries as the write load needs.
* *Caching* puts the hottest ``cache_share`` of the items in memory: reads hit it with the exact Zipf hit ratio
  and the database sees (1 - h) of them. The *CDN* serves static assets from the edge; the origin sees the
  misses. *Stateless* web servers keep sessions in a shared store (one lookup per dynamic request).
* *Multiple data centers* split the users by geography (each data center sized for its share, each holding a
  copy of the data) and cut the round trip. *Services* move the slow part of a write onto a message queue and
  worker pool: the user's write is acknowledged once it is queued. *Monitoring and automation* replace a failed
  instance after ``autoscale_delay`` instead of a person's hours, and scale with the daily curve (you pay for
  the average, not the peak all month).

Numbers per instance (capacities, latencies, prices) are illustrative list-price-like constants in
``TIERS``: change them and every figure follows.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from sdcore import checks
from sdcore.scale import availability as av
from sdcore.scale.caching import CdnHitRatios, cdn_hit_ratios, static_asset_sizes, zipf_hit_ratio
from sdcore.scale.estimates import SECONDS_PER_DAY, QpsEstimate, qps_from_dau
from sdcore.scale.queueing import FiniteQueueStats, QueueStats, littles_law, mmc, mmck

# -- the eight practices, in the order a design usually grows -------------------------------------------------


@dataclass(frozen=True)
class Practice:
    label: str
    description: str


PRACTICES = MappingProxyType(
    {
        "redundancy": Practice(
            "Redundancy at every tier",
            "A load balancer in front of several web servers, database replicas for reads: no tier is a single "
            "point of failure, and every tier can grow sideways.",
        ),
        "caching": Practice(
            "Cache hot data",
            "An in-memory cache of the hottest items in front of the database: reads that hit never reach it.",
        ),
        "cdn": Practice(
            "Static assets on a CDN",
            "Images, scripts and styles served from edge servers near the users; the origin sees only the misses.",
        ),
        "stateless": Practice(
            "Stateless web tier",
            "Sessions live in a shared store, not in a web server's memory: any server can answer any user, and "
            "losing a server loses no one's session.",
        ),
        "multi_dc": Practice(
            "Multiple data centers",
            "Geo-routed DNS sends each user to a nearby data center; if one fails, DNS fails over to the others.",
        ),
        "services": Practice(
            "Split tiers into services",
            "The slow part of each write becomes a job on a message queue done by a pool of workers: the user's "
            "write returns once it is queued, and each part scales and fails on its own.",
        ),
        "automation": Practice(
            "Monitoring and automation",
            "Metrics drive an autoscaler: failed instances are replaced, capacity follows the daily curve, after a "
            "reaction delay.",
        ),
        "sharding": Practice(
            "Shard the data tier",
            "The data split by key over several primaries: writes, the one load a primary cannot share, grow "
            "sideways too.",
        ),
    }
)
PRACTICE_ORDER: tuple[str, ...] = tuple(PRACTICES)

# -- tiers ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierSpec:
    """One kind of box: ``workers`` parallel workers per instance (the c of its queue), ``service_time``
    seconds of work per request, ``backlog`` queue places per instance beyond its workers, ``hop`` seconds of
    network to reach it, how often an instance fails and what it costs a month."""

    label: str
    description: str
    workers: int = 1
    service_time: float = 0.0
    backlog: int = 0
    hop: float = 0.0
    failures_per_year: float = 0.0
    monthly_cost: float = 0.0
    queued: bool = True  # False: a managed service (DNS, CDN) with no queue of ours


TIERS = MappingProxyType(
    {
        "dns": TierSpec(
            "DNS", "Turns the name into an address (geo-routed with several data centers).", queued=False
        ),
        "cdn": TierSpec("CDN", "Edge caches for static assets.", queued=False),
        "load_balancer": TierSpec(
            "Load balancer",
            "Spreads requests over the web servers; drops dead ones.",
            workers=8,
            service_time=0.00016,
            backlog=4096,
            hop=0.0005,
            failures_per_year=1.0,
            monthly_cost=25.0,
        ),
        "web": TierSpec(
            "Web servers",
            "Run the application code for each request.",
            workers=8,
            service_time=0.020,
            backlog=64,
            hop=0.0005,
            failures_per_year=2.0,
            monthly_cost=140.0,
        ),
        "sessions": TierSpec(
            "Session store",
            "Shared store of user sessions (Redis-like, single-threaded).",
            workers=1,
            service_time=0.00002,
            backlog=2000,
            hop=0.0005,
            failures_per_year=1.0,
            monthly_cost=110.0,
        ),
        "cache": TierSpec(
            "Cache",
            "In-memory cache of the hottest items (memcached-like).",
            workers=4,
            service_time=0.0001,
            backlog=2000,
            hop=0.0005,
            failures_per_year=1.0,
            monthly_cost=150.0,
        ),
        "queue": TierSpec(
            "Message queue",
            "Durable queue of jobs (Kafka/RabbitMQ-like).",
            workers=4,
            service_time=0.0001,
            backlog=20_000,
            hop=0.0005,
            failures_per_year=1.0,
            monthly_cost=200.0,
        ),
        "workers": TierSpec(
            "Workers",
            "Do the queued jobs (thumbnails, fan-out, e-mail).",
            workers=8,
            service_time=0.025,
            backlog=64,
            hop=0.0005,
            failures_per_year=2.0,
            monthly_cost=140.0,
        ),
        "db_primary": TierSpec(
            "Database primary",
            "Takes every write (and, without replicas, every read).",
            workers=16,
            service_time=0.005,
            backlog=256,
            hop=0.0005,
            failures_per_year=1.0,
            monthly_cost=700.0,
        ),
        "db_replica": TierSpec(
            "Database replicas",
            "Read-only copies kept up to date by asynchronous replication.",
            workers=16,
            service_time=0.002,
            backlog=256,
            hop=0.0005,
            failures_per_year=1.0,
            monthly_cost=700.0,
        ),
    }
)

# Work per request class, seconds of one worker.
WEB_STATIC_S = 0.002
WEB_READ_S = 0.020
WEB_WRITE_S = 0.040
WEB_WRITE_QUEUED_S = 0.015  # with services: validate and enqueue; the rest is a worker's job
WORKER_JOB_S = 0.025
DB_READ_S = 0.008  # a query: 2,000 reads/s for a 16-worker database server
DB_WRITE_S = 0.016  # a durable write: 1,000 writes/s for one primary

# Network and the static catalogue.
RTT_ONE_REGION_S = 0.080  # median round trip from a worldwide audience to one data center
RTT_GEO_S = 0.030  # median round trip to the nearest of several
RTT_EDGE_S = 0.015  # median round trip to a CDN edge
RTT_SIGMA = 0.45  # log-normal spread of round trips
STATIC_OBJECTS = 20_000
STATIC_MEDIAN_BYTES = 40_000
STATIC_SIGMA = 1.2
STATIC_ZIPF = 0.9
STATIC_CATALOGUE_SEED = 0
CDN_EDGE_BYTES = 1e9
DYNAMIC_RESPONSE_BYTES = 20_000

# Failure and repair.
DC_FAILURES_PER_YEAR = 1.0
DC_REPAIR_S = 4 * 3600.0
MANUAL_REPAIR_S = 4 * 3600.0  # a person notices, diagnoses, rebuilds
FAILOVER_AUTO_S = 30.0  # promote a replica automatically
FAILOVER_MANUAL_S = 1800.0  # a person on call promotes a replica
DNS_AVAILABILITY = 0.99995
CDN_AVAILABILITY = 0.9999

# Money (illustrative list prices, USD).
DAYS_PER_MONTH = av.YEAR_DAYS / 12
CDN_PER_GB = 0.05
EGRESS_PER_GB = 0.09
DNS_PER_MILLION = 0.40
DNS_LOOKUPS_PER_USER_PER_DAY = 2.0

# Sessions (for the drills: sessions held in a web server's memory).
SESSIONS_PER_USER_PER_DAY = 2.0
SESSION_LENGTH_S = 600.0

LATENCY_SAMPLES = 12_000
MAX_USERS = 10_000_000_000


# -- configuration -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleConfig:
    """Users, their behaviour, the practices switched on, and the capacity plan."""

    users: int = 1_000_000  # daily active users
    requests_per_user: float = 50.0  # per user per day
    read_write_ratio: float = 10.0  # dynamic reads per write
    static_share: float = 0.5  # share of all requests that fetch a static asset
    peak_factor: float = 3.0  # peak rate / average rate
    practices: frozenset[str] = frozenset()
    target_utilization: float = 0.6  # what the capacity plan sizes every scalable tier to, at peak
    items: int = 1_000_000  # distinct data items users read
    zipf_exponent: float = 0.99
    cache_share: float = 0.01  # share of the items the cache holds
    data_centers: int = 2  # with multi_dc
    autoscale_delay: float = 180.0  # seconds from a metric crossing its line to new capacity serving
    replication_lag: float = 1.0  # seconds a replica is behind its primary
    timeout: float = 2.0  # seconds a client waits before it gives up
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "users", checks.int_between("users", self.users, 1, MAX_USERS))
        set_(
            self,
            "requests_per_user",
            checks.number_between("requests_per_user", self.requests_per_user, 0.0, 100_000.0, lo_open=True),
        )
        set_(
            self,
            "read_write_ratio",
            checks.number_between("read_write_ratio", self.read_write_ratio, 0.0, 10_000.0),
        )
        set_(self, "static_share", checks.number_between("static_share", self.static_share, 0.0, 0.99))
        set_(self, "peak_factor", checks.number_between("peak_factor", self.peak_factor, 1.0, 20.0))
        if isinstance(self.practices, str):
            raise ValueError(f"practices must be a set of practice names (got practices={self.practices!r})")
        practices = frozenset(self.practices)
        for p in sorted(practices):
            checks.one_of("practice", p, PRACTICES)
        set_(self, "practices", practices)
        set_(
            self,
            "target_utilization",
            checks.number_between("target_utilization", self.target_utilization, 0.05, 0.95),
        )
        set_(self, "items", checks.int_between("items", self.items, 1, 100_000_000))
        set_(self, "zipf_exponent", checks.number_between("zipf_exponent", self.zipf_exponent, 0.0, 3.0))
        set_(self, "cache_share", checks.number_between("cache_share", self.cache_share, 0.0, 1.0))
        set_(self, "data_centers", checks.int_between("data_centers", self.data_centers, 2, 8))
        set_(
            self,
            "autoscale_delay",
            checks.number_between("autoscale_delay", self.autoscale_delay, 1.0, 3600.0, unit=" seconds"),
        )
        set_(
            self,
            "replication_lag",
            checks.number_between("replication_lag", self.replication_lag, 0.0, 600.0, unit=" seconds"),
        )
        set_(self, "timeout", checks.number_between("timeout", self.timeout, 0.05, 60.0, unit=" seconds"))
        set_(self, "seed", checks.seed(self.seed))

    def has(self, practice: str) -> bool:
        checks.one_of("practice", practice, PRACTICES)
        return practice in self.practices

    @property
    def sites(self) -> int:
        """Data centers in use: 1 unless multi_dc is on."""
        return self.data_centers if "multi_dc" in self.practices else 1


# -- results -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """Requests per second at peak, by kind, for the whole system."""

    total: float
    static: float
    dynamic: float
    reads: float
    writes: float
    cdn_hits: float
    origin_static: float
    cache_hit_ratio: float
    db_reads: float  # reads that reach the database


@dataclass(frozen=True)
class TierLoad:
    """One tier at peak: its load, its size, its queues, its availability and cost."""

    name: str
    label: str
    arrival_rate: float  # requests per second, whole system
    instances: int  # whole system, at peak
    instances_per_site: int
    service_time: float  # mean seconds of work per request (the tier's mix)
    capacity: float  # requests per second the instances can do, whole system
    utilization: float  # offered load / capacity (above 1: overloaded)
    queue: QueueStats  # M/M/c per instance (None waits if unstable)
    finite: FiniteQueueStats  # M/M/c/K per instance: what is turned away
    scalable: bool  # can more instances be added (and the autoscaler add them)
    availability: float  # this tier in one data center: enough instances up for the load
    mean_instances: float  # over the day (automation follows the curve; otherwise = instances)
    monthly_cost: float
    role: str = ""

    @property
    def overloaded(self) -> bool:
        return self.utilization >= 1.0

    @property
    def per_instance_capacity(self) -> float:
        return TIERS[self.name].workers / self.service_time


@dataclass(frozen=True)
class CostLine:
    item: str
    monthly: float
    detail: str


@dataclass(frozen=True)
class Architecture:
    config: ScaleConfig
    qps: QpsEstimate
    load: Load
    tiers: tuple[TierLoad, ...]
    edges: tuple[tuple[str, str, float], ...]  # (from, to, requests per second); "users" is the client
    cdn: CdnHitRatios | None
    latency_p50: float | None  # seconds, of requests that succeed; None if none succeed
    latency_p99: float | None
    error_rate: float  # share of requests turned away by a full queue or timed out
    availability: float  # of a dynamic request, from independent failures
    monthly_cost: float
    costs: tuple[CostLine, ...]
    concurrent_sessions: float
    hourly_load: tuple[float, ...] = field(repr=False)  # requests per second, hour by hour over a day

    def tier(self, name: str) -> TierLoad:
        for t in self.tiers:
            if t.name == name:
                return t
        raise KeyError(name)

    def has_tier(self, name: str) -> bool:
        return any(t.name == name for t in self.tiers)

    @property
    def bottleneck(self) -> TierLoad:
        """The tier with the highest utilization: the first to break as users grow."""
        return max(self.tiers, key=lambda t: t.utilization)

    @property
    def saturation_users(self) -> float:
        """Users at which this deployment's bottleneck reaches 100%, with the instances it has now."""
        return self.config.users / self.bottleneck.utilization

    @property
    def ceiling(self) -> tuple[str, float] | None:
        """The tier that cannot grow sideways and the users at which it saturates; None if every tier can."""
        fixed = [t for t in self.tiers if not t.scalable]
        if not fixed:
            return None
        t = max(fixed, key=lambda t: t.utilization)
        return t.name, self.config.users / t.utilization

    @property
    def downtime_per_year(self) -> float:
        return av.downtime_per_year(self.availability)

    def rows(self) -> list[dict]:
        """One row per tier, for a table or a CSV."""
        return [
            {
                "tier": t.label,
                "instances": t.instances,
                "load (req/s)": round(t.arrival_rate, 1),
                "capacity (req/s)": round(t.capacity, 1),
                "utilization": round(t.utilization, 4),
                "mean wait (ms)": None if t.queue.mean_wait is None else round(1000 * t.queue.mean_wait, 3),
                "turned away": round(t.finite.blocking, 6),
                "availability": t.availability,
                "monthly cost ($)": round(t.monthly_cost, 2),
                "can grow": t.scalable,
            }
            for t in self.tiers
        ]


# -- the model -----------------------------------------------------------------------------------------------


def diurnal_weights(peak_factor: float, hours: int = 24) -> np.ndarray:
    """Hour-by-hour load over a day as multiples of the average: mean 1, highest = ``peak_factor``.

    w(h) is proportional to exp(b cos(2 pi (h - 20) / 24)) (an evening peak at 20:00); b is found by bisection
    so that max / mean equals the peak factor (b = 0 is a flat day).
    """
    pf = checks.number_between("peak_factor", peak_factor, 1.0, 20.0)
    phase = np.cos(2 * np.pi * (np.arange(hours) - 20) / hours)

    def ratio(b: float) -> float:
        w = np.exp(b * phase)
        return float(w.max() / w.mean())

    lo, hi = 0.0, 1.0
    while ratio(hi) < pf and hi < 1e3:
        hi *= 2
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ratio(mid) < pf else (lo, mid)
    w = np.exp(lo * phase)
    return w / w.mean()


def _size(load: float, per_instance: float, target: float, minimum: int) -> int:
    return max(minimum, math.ceil(load / (per_instance * target) - 1e-9))


@dataclass(frozen=True)
class _Plan:
    name: str
    load: float  # whole system
    service_time: float
    instances_per_site: int
    scalable: bool
    repair_s: float
    needed_per_site: int  # for availability: how many must be up
    role: str


def _mix_time(parts: list[tuple[float, float]]) -> tuple[float, float]:
    """(load, mean service time) of a tier that serves several classes: [(rate, seconds), ...]."""
    total = sum(r for r, _ in parts)
    if total <= 0:
        return 0.0, parts[0][1]
    return total, sum(r * s for r, s in parts) / total


def analyze(config: ScaleConfig) -> Architecture:
    """The architecture ``config`` describes, at its peak hour: loads, queues, latency, availability, cost."""
    return _analyze(config, {})


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)  # shared by the analyses of a ladder: nobody may change it
    return a


def _memo(memo: dict, key: tuple, compute):
    """``compute()`` once per ``key`` within one computation (a ladder's steps share their inputs)."""
    if key not in memo:
        memo[key] = compute()
    return memo[key]


@functools.lru_cache(maxsize=1)
def _edge_cache() -> CdnHitRatios:
    """The CDN's hit ratios on the static catalogue: constants only, so computed once per process (a frozen
    result every analysis shares)."""
    return cdn_hit_ratios(
        static_asset_sizes(STATIC_OBJECTS, STATIC_MEDIAN_BYTES, STATIC_SIGMA, STATIC_CATALOGUE_SEED),
        STATIC_ZIPF,
        CDN_EDGE_BYTES,
    )


def _analyze(config: ScaleConfig, memo: dict, draws: dict | None = None) -> Architecture:
    """:func:`analyze`, with ``memo`` holding the parts that depend on only some of the config (the CDN's hit
    ratios, the cache's Zipf hit ratio, the day's curve), shared by the analyses of one ladder."""
    cfg = config
    on = cfg.practices
    red, auto, sites = "redundancy" in on, "automation" in on, cfg.sites
    qps = qps_from_dau(cfg.users, cfg.requests_per_user, cfg.peak_factor)
    lam = qps.peak_qps
    static = lam * cfg.static_share
    dynamic = lam - static
    writes = dynamic / (1.0 + cfg.read_write_ratio)
    reads = dynamic - writes

    cdn = None
    if "cdn" in on:
        cdn = _memo(memo, ("cdn",), _edge_cache)
    cdn_hits = static * cdn.request_hit_ratio if cdn else 0.0
    origin_static = static - cdn_hits
    cached = round(cfg.items * cfg.cache_share)
    h = (
        _memo(memo, ("zipf", cfg.items, cfg.zipf_exponent, cached),
              lambda: zipf_hit_ratio(cfg.items, cfg.zipf_exponent, cached))
        if "caching" in on
        else 0.0
    )  # fmt: skip
    db_reads = reads * (1.0 - h)
    load = Load(lam, static, dynamic, reads, writes, cdn_hits, origin_static, h, db_reads)

    target = cfg.target_utilization
    minimum = 2 if red else 1
    repair = cfg.autoscale_delay if auto else MANUAL_REPAIR_S
    web_write = WEB_WRITE_QUEUED_S if "services" in on else WEB_WRITE_S
    plans: list[_Plan] = []

    def plan(
        name: str,
        parts: list[tuple[float, float]],
        role: str,
        *,
        scalable: bool = red,
        repair_s: float = repair,
        fixed: int | None = None,
    ) -> None:
        """``parts``: [(requests per second in one data center, seconds of work each), ...]."""
        per_site, s = _mix_time(parts)
        per_instance = TIERS[name].workers / s
        n = (
            fixed
            if fixed is not None
            else (_size(per_site, per_instance, target, minimum) if scalable else 1)
        )
        needed = min(n, max(1, math.ceil(per_site / per_instance - 1e-9)))
        plans.append(_Plan(name, per_site * sites, s, n, scalable, repair_s, needed, role))

    site = 1.0 / sites  # users are split over the data centers; every data center applies every write
    web_parts = [(origin_static * site, WEB_STATIC_S), (reads * site, WEB_READ_S), (writes * site, web_write)]
    if red:
        plan(
            "load_balancer",
            [((origin_static + dynamic) * site, TIERS["load_balancer"].service_time)],
            "spreads the requests",
        )
    plan("web", web_parts, "static misses and every dynamic request")
    if "stateless" in on:
        plan(
            "sessions",
            [(dynamic * site, TIERS["sessions"].service_time)],
            "one session lookup per dynamic request",
        )
    if "caching" in on:
        plan(
            "cache",
            [((reads + writes) * site, TIERS["cache"].service_time)],
            "reads look up, writes invalidate",
        )
    if "services" in on:
        plan("queue", [(writes * site, TIERS["queue"].service_time)], "one job per write")
        plan("workers", [(writes * site, WORKER_JOB_S)], "the slow part of each write")

    # Writes: all of them reach the primary of their shard in every data center (replicated across sites).
    primary_parts = [(writes, DB_WRITE_S)] if red else [(db_reads * site, DB_READ_S), (writes, DB_WRITE_S)]
    shards = 1
    if "sharding" in on:
        rate, s = _mix_time(primary_parts)
        shards = _size(rate, TIERS["db_primary"].workers / s, target, 2)
    if red:
        failover = FAILOVER_AUTO_S if auto else FAILOVER_MANUAL_S
        plan(
            "db_primary",
            primary_parts,
            "every write",
            scalable="sharding" in on,
            repair_s=failover,
            fixed=shards,
        )
        replica_parts = [
            (db_reads * site / shards, DB_READ_S),
            (writes / shards, DB_WRITE_S),
        ]  # reads + replay
        rate, s = _mix_time(replica_parts)
        replicas = _size(rate, TIERS["db_replica"].workers / s, target, 2)
        plan(
            "db_replica",
            [(r * shards, t) for r, t in replica_parts],
            "reads the cache missed, and replaying every write",
            fixed=replicas * shards,
        )
    else:
        plan(
            "db_primary",
            primary_parts,
            "every read the cache missed and every write",
            scalable="sharding" in on,
            fixed=shards,
        )

    weights = _memo(memo, ("diurnal", cfg.peak_factor), lambda: _read_only(diurnal_weights(cfg.peak_factor)))
    hourly = tuple(float(x) for x in qps.average_qps * weights)
    tiers = tuple(_tier(p, cfg, weights, memo) for p in plans)
    edges = _edges(cfg, load, tiers)
    p50, p99, errors = _memo(
        memo, _latency_key(cfg, load, tiers, cdn), lambda: _latency(cfg, load, tiers, cdn, draws)
    )
    availability = _availability(cfg, load, tiers)
    costs = _costs(cfg, qps, load, tiers, cdn)
    sessions = littles_law(
        cfg.users * SESSIONS_PER_USER_PER_DAY / SECONDS_PER_DAY * cfg.peak_factor, SESSION_LENGTH_S
    )
    return Architecture(
        cfg,
        qps,
        load,
        tiers,
        edges,
        cdn,
        p50,
        p99,
        errors,
        availability,
        sum(c.monthly for c in costs),
        costs,
        sessions,
        hourly,
    )


def _tier(p: _Plan, cfg: ScaleConfig, weights: np.ndarray, memo: dict | None = None) -> TierLoad:
    spec = TIERS[p.name]
    sites = cfg.sites
    n_total = p.instances_per_site * sites
    per_instance_rate = p.load / n_total
    mu = 1.0 / p.service_time
    queue = mmc(per_instance_rate, mu, spec.workers)
    places = spec.workers + spec.backlog
    # The same queue recurs on a ladder (a practice that does not touch a tier leaves it as it was): one
    # object for all of them, its probabilities and sampling table computed once.
    finite = _memo(
        {} if memo is None else memo,
        ("mmck", per_instance_rate, mu, spec.workers, places),
        lambda: mmck(per_instance_rate, mu, spec.workers, places),
    )
    capacity = n_total * spec.workers * mu
    a = av.instance_availability(spec.failures_per_year, p.repair_s)
    if p.name == "db_primary":  # a request needs its own shard's primary: one of one
        tier_avail = a
    else:
        tier_avail = av.availability_k_of_n(p.needed_per_site, p.instances_per_site, a)
    if "automation" in cfg.practices and p.scalable and p.name != "db_primary":
        per_site_hourly = p.load / sites * weights / weights.max()
        per_instance_cap = spec.workers * mu
        minimum = 2 if "redundancy" in cfg.practices else 1
        counts = [_size(x, per_instance_cap, cfg.target_utilization, minimum) for x in per_site_hourly]
        mean_instances = float(np.mean(counts)) * sites
    else:
        mean_instances = float(n_total)
    return TierLoad(
        name=p.name,
        label=spec.label,
        arrival_rate=p.load,
        instances=n_total,
        instances_per_site=p.instances_per_site,
        service_time=p.service_time,
        capacity=capacity,
        utilization=p.load / capacity,
        queue=queue,
        finite=finite,
        scalable=p.scalable,
        availability=tier_avail,
        mean_instances=mean_instances,
        monthly_cost=mean_instances * spec.monthly_cost,
        role=p.role,
    )


def _edges(cfg: ScaleConfig, load: Load, tiers: tuple[TierLoad, ...]) -> tuple[tuple[str, str, float], ...]:
    names = {t.name for t in tiers}
    edges: list[tuple[str, str, float]] = [
        ("users", "dns", cfg.users * DNS_LOOKUPS_PER_USER_PER_DAY / SECONDS_PER_DAY * cfg.peak_factor)
    ]
    entry = "load_balancer" if "load_balancer" in names else "web"
    if "cdn" in cfg.practices:
        edges.append(("users", "cdn", load.static))
        edges.append(("cdn", entry, load.origin_static))
        edges.append(("users", entry, load.dynamic))
    else:
        edges.append(("users", entry, load.static + load.dynamic))
    if entry == "load_balancer":
        edges.append(("load_balancer", "web", load.origin_static + load.dynamic))
    if "sessions" in names:
        edges.append(("web", "sessions", load.dynamic))
    if "cache" in names:
        edges.append(("web", "cache", load.reads + load.writes))
    read_db = "db_replica" if "db_replica" in names else "db_primary"
    edges.append(("web", read_db, load.db_reads))
    if "queue" in names:
        edges += [
            ("web", "queue", load.writes),
            ("queue", "workers", load.writes),
            ("workers", "db_primary", load.writes),
        ]
    else:
        edges.append(("web", "db_primary", load.writes))
    if read_db == "db_replica":
        edges.append(("db_primary", "db_replica", load.writes))  # replication stream
    merged: dict[tuple[str, str], float] = {}
    for a, b, r in edges:
        merged[(a, b)] = merged.get((a, b), 0.0) + r
    return tuple((a, b, r) for (a, b), r in merged.items())


def _latency(
    cfg: ScaleConfig,
    load: Load,
    tiers: tuple[TierLoad, ...],
    cdn: CdnHitRatios | None,
    draws: dict | None = None,
) -> tuple[float | None, float | None, float]:
    """Sample requests through the queues: (p50, p99) of those that succeed, and the share that fail.

    ``draws``: the samples other architectures of one ladder drew (see :class:`_Draws`): the steps share the
    seed and the users, so their runs begin alike (the same request kinds and round trips) and often pass the
    same tiers first; a stretch drawn for one step is reused by the next, with the generator's state after it.
    """
    n = LATENCY_SAMPLES
    p = np.array([load.static, load.reads, load.writes]) / load.total
    d = _Draws(np.random.default_rng(cfg.seed), {} if draws is None else draws, (cfg.seed,))
    rng = d.rng

    def kinds():
        kind = rng.choice(3, size=n, p=p)  # 0 static, 1 read, 2 write
        return kind, kind == 0, kind == 1, kind == 2

    kind, static, read, write = d.stage(("kind", tuple(p.tolist())), kinds)
    rtt = RTT_GEO_S if cfg.sites > 1 else RTT_ONE_REGION_S
    (total,) = d.stage(("rtt", rtt), lambda: (rng.lognormal(math.log(rtt), RTT_SIGMA, n),))
    if cdn is not None:

        def edges(total=total):
            hit = static & (rng.random(n) < cdn.request_hit_ratio)
            edge = rng.lognormal(math.log(RTT_EDGE_S), RTT_SIGMA, n)
            # a miss goes edge -> origin
            return np.where(hit, edge, total + np.where(static, edge, 0.0)), ~static | (static & ~hit)

        total, at_origin = d.stage(("cdn", cdn.request_hit_ratio), edges)
    else:
        at_origin = ~static | static
    failed = np.zeros(n, dtype=bool)
    by_name = {t.name: t for t in tiers}
    web_write = WEB_WRITE_QUEUED_S if "queue" in by_name else WEB_WRITE_S
    (hit_draw,) = d.stage(("miss",), lambda: (rng.random(n),))
    miss = hit_draw >= load.cache_hit_ratio

    def visit(name: str, mask: np.ndarray, service: np.ndarray | float, why: tuple) -> None:
        """``why``: what decides ``mask`` and ``service`` beyond the stages before (for the stage's key)."""
        nonlocal total, failed
        f = by_name[name].finite

        def spend(total=total, failed=failed):
            blocked = rng.random(n) < f.blocking
            # rng.exponential(1.0, n) is 1.0 times these very draws
            spent = TIERS[name].hop + f.sample_wait(rng, n) + rng.standard_exponential(n) * service
            spent[~mask] = 0.0  # what total + np.where(mask, spent, 0.0) adds
            return total + spent, failed | (mask & blocked)

        key = (name, f.arrival_rate, f.service_rate, f.servers, f.capacity, why)
        total, failed = d.stage(key, spend)

    if "load_balancer" in by_name:
        visit("load_balancer", at_origin, TIERS["load_balancer"].service_time, ("origin",))
    web_service = np.array([WEB_STATIC_S, WEB_READ_S, web_write])[kind]  # np.select's values, by kind
    visit("web", at_origin, web_service, ("origin", web_write))
    dyn = read | write
    if "sessions" in by_name:
        visit("sessions", dyn, TIERS["sessions"].service_time, ("dynamic",))
    if "cache" in by_name:
        visit("cache", dyn, TIERS["cache"].service_time, ("dynamic",))
    read_db = "db_replica" if "db_replica" in by_name else "db_primary"
    visit(read_db, read & miss, DB_READ_S, ("read miss", load.cache_hit_ratio))
    if "queue" in by_name:
        visit("queue", write, TIERS["queue"].service_time, ("write",))
        # A queue drained slower than it is fed is full in the steady state: it refuses the excess writes.
        drain = max(1.0, by_name["workers"].utilization, by_name["db_primary"].utilization)
        failed = failed | (write & (rng.random(n) < 1.0 - 1.0 / drain))
    else:
        visit("db_primary", write, DB_WRITE_S, ("write",))
    failed = failed | (total > cfg.timeout)
    ok = total[~failed]
    if ok.size == 0:
        return None, None, 1.0
    p50, p99 = np.quantile(ok, (0.5, 0.99))  # the same numbers as one call each, one partition
    return float(p50), float(p99), float(failed.mean())


class _Draws:
    """The stretches of one latency run, each drawn once per ladder: ``stage(key, draw)`` is ``draw()``'s
    arrays, computed after the same stages with the same keys only once, the generator then set to the state
    that drawing left (the very numbers a run from the seed would draw). Stored arrays are never changed."""

    def __init__(self, rng: np.random.Generator, store: dict, key: tuple):
        self.rng, self.store, self.key = rng, store, key

    def stage(self, key: tuple, draw) -> tuple:
        self.key = (self.key, key)
        hit = self.store.get(self.key)
        if hit is None:
            out = draw()
            self.store[self.key] = (out, self.rng.bit_generator.state)
            return out
        out, state = hit
        self.rng.bit_generator.state = state
        return out


def _latency_key(
    cfg: ScaleConfig, load: Load, tiers: tuple[TierLoad, ...], cdn: CdnHitRatios | None
) -> tuple:
    """Everything :func:`_latency` reads: architectures with the same key have the same latency (automation
    changes what a tier costs and how fast it is repaired, not its queues)."""
    queues = tuple(
        (
            t.name,
            t.finite.arrival_rate,
            t.finite.service_rate,
            t.finite.servers,
            t.finite.capacity,
            t.utilization,
        )
        for t in tiers
    )
    return ("latency", cfg.seed, cfg.sites > 1, cfg.timeout, load, cdn and cdn.request_hit_ratio, queues)


def _availability(cfg: ScaleConfig, load: Load, tiers: tuple[TierLoad, ...]) -> float:
    """A dynamic request: DNS, then any one data center with every tier its path needs."""
    a = {t.name: t.availability for t in tiers}
    common = [a[n] for n in ("load_balancer", "web", "sessions") if n in a]
    read_db = a.get("db_replica", a["db_primary"])
    write_end = a["queue"] if "queue" in a else a["db_primary"]
    path = (
        (
            (
                load.reads * av.availability_series(*common, read_db)
                + load.writes * av.availability_series(*common, write_end)
            )
            / load.dynamic
        )
        if load.dynamic > 0
        else 1.0
    )
    dc = av.instance_availability(DC_FAILURES_PER_YEAR, DC_REPAIR_S)
    site = av.availability_series(dc, path)
    return av.availability_series(DNS_AVAILABILITY, av.availability_parallel(*([site] * cfg.sites)))


def _costs(
    cfg: ScaleConfig, qps: QpsEstimate, load: Load, tiers: tuple[TierLoad, ...], cdn: CdnHitRatios | None
) -> tuple[CostLine, ...]:
    month_s = DAYS_PER_MONTH * SECONDS_PER_DAY
    scale = qps.average_qps / qps.peak_qps if qps.peak_qps > 0 else 0.0  # peak rates -> average rates
    lines = [
        CostLine(
            t.label, t.monthly_cost, f"{t.mean_instances:,.1f} instances × ${TIERS[t.name].monthly_cost:,.0f}"
        )
        for t in tiers
    ]
    static_bytes = STATIC_MEDIAN_BYTES if cdn is None else cdn.mean_request_bytes
    edge_gb = (load.static * scale * month_s * static_bytes * cdn.byte_hit_ratio / 1e9) if cdn else 0.0
    origin_static_gb = load.static * scale * month_s * static_bytes / 1e9 - edge_gb
    origin_gb = origin_static_gb + load.dynamic * scale * month_s * DYNAMIC_RESPONSE_BYTES / 1e9
    if cdn:
        lines.append(CostLine("CDN", edge_gb * CDN_PER_GB, f"{edge_gb:,.0f} GB × ${CDN_PER_GB}"))
    lines.append(
        CostLine("Egress from origin", origin_gb * EGRESS_PER_GB, f"{origin_gb:,.0f} GB × ${EGRESS_PER_GB}")
    )
    lookups = cfg.users * DNS_LOOKUPS_PER_USER_PER_DAY * DAYS_PER_MONTH / 1e6
    lines.append(
        CostLine("DNS", lookups * DNS_PER_MILLION, f"{lookups:,.1f} million lookups × ${DNS_PER_MILLION}")
    )
    return tuple(lines)


def ladder(config: ScaleConfig) -> tuple[Architecture, ...]:
    """The same users with the practices switched on one by one, in ``PRACTICE_ORDER``: step 0 has none,
    step k the first k. What each practice buys, at this many users."""
    return _ladder(config, {})


def _ladder(config: ScaleConfig, memo: dict) -> tuple[Architecture, ...]:
    steps = []
    draws: dict = {}  # the steps' latency samples, shared while the ladder is computed (megabytes: not kept)
    for k in range(len(PRACTICE_ORDER) + 1):
        practices = frozenset(PRACTICE_ORDER[:k])
        steps.append(_analyze(ScaleConfig(**{**_fields(config), "practices": practices}), memo, draws))
    return tuple(steps)


@dataclass(frozen=True, eq=False)
class Analysis:
    """A config's architecture and its ladder, computed together (they share the CDN, cache and day numbers).
    One object per question: a page shares it between sessions and draws its figures from it."""

    architecture: Architecture
    steps: tuple[Architecture, ...]
    _inputs: Mapping = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )  # shared numbers


def analysis(config: ScaleConfig, like: Analysis | None = None) -> Analysis:
    """``Analysis(analyze(config), ladder(config))``, each input computed once.

    ``like``: an analysis of the same users and behaviour with other practices switched on (every field of its
    config but ``practices`` equal to ``config``'s): its ladder is this config's ladder, and its inputs serve
    this architecture, so only the architecture is new (if it is not a step of the ladder already)."""
    if like is not None:
        if ladder_key(like.architecture.config) != ladder_key(config):
            raise ValueError("like must be an analysis of the same config with other practices")
        memo, steps = dict(like._inputs), like.steps
    else:
        memo = {}
        steps = _ladder(config, memo)
    same = [s for s in steps if s.config == config]  # the config is a step of its own ladder
    return Analysis(same[0] if same else _analyze(config, memo), steps, MappingProxyType(memo))


def ladder_key(config: ScaleConfig) -> ScaleConfig:
    """``config`` with no practice switched on: every config with the same key has the same ladder."""
    return ScaleConfig(**{**_fields(config), "practices": frozenset()})


def _fields(config: ScaleConfig) -> dict:
    return {name: getattr(config, name) for name in ScaleConfig.__dataclass_fields__}
