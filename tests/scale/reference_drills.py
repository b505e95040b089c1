"""The drills' per-second model as it was before the tight loop of ``sdcore.scale.drills`` (kept verbatim as
the reference: tests/scale/test_scale_drills_fast.py checks that the engine gives the very same numbers).

Original docstring follows.

Failure drills: break one part of an architecture at its peak hour and watch, second by second in virtual
time, what the users get.

The run is a fluid model of the same tiers ``analyze`` sized: each second, Poisson arrivals (seeded) flow
through the tiers in request order; every tier serves at most what its live instances can, holds at most
``backlog`` waiting requests per live instance, and gives up on requests that would wait longer than the
client's timeout. So an overloaded tier turns its excess into errors and lost goodput, and the latency of
what it still serves stays bounded: nothing in the run queues forever.

What each drill does, and what puts it right:

* ``web_server``: one web server dies. The load balancer keeps sending it its share until a health check
  notices (``HEALTH_CHECK_S``); sessions held in its memory are gone unless the tier is stateless. The
  autoscaler replaces it after its reaction delay; without automation a person does, hours later.
* ``cache``: one cache node dies. Its share of the hot keys now misses (consistent hashing hands them to the
  other nodes, which warm up over ``CACHE_WARMUP_S``); with a single node every read goes to the database
  until a new, empty node is back. Does the database survive the spike?
* ``db_primary``: one primary dies. With replicas, one is promoted after ``FAILOVER_AUTO_S`` (or a person's
  ``FAILOVER_MANUAL_S``); the writes it had not yet shipped (``replication_lag`` seconds of them) are lost.
  Without replicas the data waits for the server to come back. A message queue keeps taking writes meanwhile.
* ``data_center``: a whole data center goes dark. Geo DNS moves its users after ``DNS_FAILOVER_S``; the
  others then carry everyone, with the capacity they had for their own share until the autoscaler catches up.
* ``traffic_spike``: the arrival rate doubles; capacity follows after the autoscaler's reaction delay.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from sdcore import checks
from sdcore.scale.architecture import (
    DB_READ_S,
    DB_WRITE_S,
    FAILOVER_AUTO_S,
    FAILOVER_MANUAL_S,
    MANUAL_REPAIR_S,
    TIERS,
    WEB_READ_S,
    WEB_STATIC_S,
    WEB_WRITE_QUEUED_S,
    WEB_WRITE_S,
    Architecture,
)


@dataclass(frozen=True)
class Drill:
    label: str
    description: str
    tier: str | None  # the tier it breaks (None: all of them, or none)


DRILLS = MappingProxyType(
    {
        "web_server": Drill("Kill a web server", "One web server dies at its peak hour.", "web"),
        "cache": Drill(
            "Kill a cache node", "One cache node dies; its keys miss until they are warm again.", "cache"
        ),
        "db_primary": Drill(
            "Kill the primary database",
            "The primary (of one shard) dies; a replica may take over.",
            "db_primary",
        ),
        "data_center": Drill("Lose a data center", "A whole data center goes dark.", None),
        "traffic_spike": Drill(
            "Traffic doubles", "The arrival rate doubles at once (a launch, a news story).", None
        ),
    }
)

HEALTH_CHECK_S = 10.0
DNS_FAILOVER_S = 60.0  # health check plus the record's TTL
CACHE_WARMUP_S = 60.0  # time constant of a cold key share refilling from the database
METRIC_WINDOW_S = 60  # the autoscaler looks at the last minute
SCALE_OUT_MARGIN = 1.1  # ...and adds capacity once utilization is 10% above target
ERROR_LINE = 0.01  # a second with at most 1% errors counts as healthy


@dataclass(frozen=True)
class DrillConfig:
    drill: str = "web_server"
    duration: int = 900  # seconds of virtual time
    start: int = 120  # when the drill strikes
    seed: int = 0

    def __post_init__(self) -> None:
        checks.one_of("drill", self.drill, DRILLS)
        object.__setattr__(self, "duration", checks.int_between("duration", self.duration, 60, 7200))
        object.__setattr__(
            self,
            "start",
            checks.int_between("start", self.start, 0, self.duration - 1, hi_name="duration - 1"),
        )
        object.__setattr__(self, "seed", checks.seed(self.seed))


@dataclass(frozen=True)
class DrillEvent:
    time: float
    kind: str  # fail, detected, failover, replaced, scaled, dns_failover, nothing_to_break
    tier: str | None
    count: int = 0


@dataclass(frozen=True)
class DrillRun:
    """Per second: requests offered, served, failed, the typical latency of what succeeded, each tier's
    offered load / live capacity, and the jobs waiting in the message queue."""

    times: np.ndarray
    offered: np.ndarray
    goodput: np.ndarray
    errors: np.ndarray
    latency: np.ndarray  # seconds: the steady-state median plus the queueing this run adds
    utilization: dict[str, np.ndarray]  # tier -> array (inf while a tier has no live instance)
    queued_jobs: np.ndarray
    events: tuple[DrillEvent, ...]
    sessions_lost: float
    writes_lost: float

    @property
    def error_share(self) -> float:
        return float(self.errors.sum() / self.offered.sum()) if self.offered.sum() > 0 else 0.0

    def peak_utilization(self, tier: str) -> float:
        return float(np.max(self.utilization[tier]))

    def error_rate(self) -> np.ndarray:
        return np.divide(self.errors, self.offered, out=np.zeros_like(self.errors), where=self.offered > 0)


@dataclass(frozen=True)
class DrillResult:
    config: DrillConfig
    before: DrillRun  # the same seconds with nothing broken
    after: DrillRun

    @property
    def lost_goodput(self) -> float:
        """Requests that failed because of the drill: its errors beyond those of the healthy run."""
        return float(max(0.0, self.after.errors.sum() - self.before.errors.sum()))

    @property
    def recovered_at(self) -> float | None:
        """The first second after which every second stays at or under 1% errors; None if the run ends hurt."""
        rate = self.after.error_rate()
        bad = np.flatnonzero(rate > ERROR_LINE)
        if bad.size == 0:
            return float(self.config.start)
        last = int(bad[-1])
        return None if last >= rate.size - 1 else float(self.after.times[last + 1])

    @property
    def survived(self) -> bool:
        return self.recovered_at is not None

    def rows(self) -> list[dict]:
        a, b = self.after, self.before
        return [
            {
                "second": int(t),
                "offered": round(float(a.offered[i]), 1),
                "served": round(float(a.goodput[i]), 1),
                "failed": round(float(a.errors[i]), 1),
                "served without the drill": round(float(b.goodput[i]), 1),
                "latency (ms)": round(1000 * float(a.latency[i]), 2),
                **{f"utilization {TIERS[n].label}": round(float(u[i]), 4) for n, u in a.utilization.items()},
            }
            for i, t in enumerate(a.times)
        ]


class _Tier:
    """One tier's live instances, its queue and its pending capacity, in the fluid run."""

    def __init__(self, name: str, instances: int, service_time: float, scalable: bool):
        spec = TIERS[name]
        self.name = name
        self.planned = instances
        self.alive = float(instances)
        self.per_instance = spec.workers / service_time
        self.backlog = spec.backlog
        self.scalable = scalable
        self.service_time = service_time
        self.queue = 0.0
        self.pending: list[tuple[float, int]] = []  # (ready at, instances) on their way
        self.recent: deque[float] = deque(maxlen=METRIC_WINDOW_S)
        self.recent_sum = 0.0

    @property
    def capacity(self) -> float:
        return self.alive * self.per_instance

    @property
    def wait(self) -> float:
        return self.queue / self.capacity if self.capacity > 0 else 0.0

    def serve(self, arrivals: float, timeout: float) -> tuple[float, float]:
        """One second: (served, turned away). The queue keeps what fits and would not time out."""
        if len(self.recent) == self.recent.maxlen:
            self.recent_sum -= self.recent[0]
        self.recent.append(arrivals)
        self.recent_sum += arrivals
        cap = self.capacity
        self.queue += arrivals
        served = min(self.queue, cap)
        self.queue -= served
        limit = min(self.alive * self.backlog, timeout * cap)
        dropped = max(0.0, self.queue - limit)
        self.queue -= dropped
        return served, dropped


def run_drill(arch: Architecture, config: DrillConfig, healthy: DrillRun | None = None) -> DrillResult:
    """The drill on ``arch`` at its peak rate, and the same run with nothing broken (same seed).

    ``healthy``: :func:`healthy_run` of ``arch`` and a config of the same duration and seed (any drill: the run
    with nothing broken is the same for all of them), if it is at hand."""
    before = _Run(arch, config, broken=False).result() if healthy is None else healthy
    if before.times.size != config.duration:
        raise ValueError(f"healthy must be a run of {config.duration} seconds (got {before.times.size})")
    return DrillResult(config, before, _Run(arch, config, broken=True).result())


def healthy_run(arch: Architecture, config: DrillConfig) -> DrillRun:
    """``arch`` for ``config.duration`` seconds with nothing broken: the ``before`` of every drill of that
    duration and seed."""
    return _Run(arch, config, broken=False).result()


class _Run:
    """One virtual-time run; ``broken`` strikes the drill at ``config.start``."""

    def __init__(self, arch: Architecture, cfg: DrillConfig, broken: bool):
        self.arch, self.cfg, self.sc = arch, cfg, arch.config
        self.drill = cfg.drill if broken else None
        self.auto = "automation" in self.sc.practices
        self.tiers = {t.name: _Tier(t.name, t.instances, t.service_time, t.scalable) for t in arch.tiers}
        self.sites = self.sc.sites
        self.live_sites = self.sites
        queued_writes = "services" in self.sc.practices
        self.web_work = (WEB_STATIC_S, WEB_READ_S, WEB_WRITE_QUEUED_S if queued_writes else WEB_WRITE_S)
        n = cfg.duration
        self.times = np.arange(n, dtype=float)
        self.offered, self.goodput, self.errors, self.latency, self.jobs = (np.zeros(n) for _ in range(5))
        self.util = {name: np.zeros(n) for name in self.tiers}
        self.events: list[DrillEvent] = []
        self.timers: list[tuple[float, str]] = []
        self.sessions_lost = self.writes_lost = 0.0
        self.spike = 1.0
        self.site_black_hole = 0.0  # share of origin traffic sent to a dark data center
        self.web_black_hole = 0.0  # share of web traffic sent to a dead server
        self.cache_cold = 0.0  # share of the cached keys missing
        # share of writes (and, without replicas, of database reads) whose primary is down
        self.primary_down = 0.0
        self.blocked_jobs = 0.0  # jobs for a dead primary, kept on the queue
        self.failed = 0.0

    # -- what breaks and what mends -----------------------------------------------------------------------
    def _later(self, delay: float, what: str) -> None:
        self.timers.append((self.now + delay, what))

    def _replace(self, name: str, manual_s: float = MANUAL_REPAIR_S) -> None:
        """The autoscaler's replacement after its delay, or a person's after ``manual_s``."""
        if self.auto:
            self.tiers[name].pending.append((self.now + self.sc.autoscale_delay, 1))
        else:
            self._later(manual_s, f"repair {name}")

    def _strike(self) -> None:
        t, tiers, arch = self.now, self.tiers, self.arch
        stateful = "stateless" not in self.sc.practices
        if self.drill == "web_server":
            w = tiers["web"]
            w.alive -= 1
            self.events.append(DrillEvent(t, "fail", "web", 1))
            if stateful:
                self.sessions_lost = arch.concurrent_sessions / w.planned
            if w.alive > 0:  # the load balancer still sends it its share until a health check fails
                self.web_black_hole = 1.0 / w.planned
                self._later(HEALTH_CHECK_S, "health check")
            self._replace("web")
        elif self.drill == "cache":
            if "cache" not in tiers:
                self.events.append(DrillEvent(t, "nothing_to_break", "cache"))
                return
            c = tiers["cache"]
            c.alive -= 1
            self.cache_cold = 1.0 / c.planned
            self.events.append(DrillEvent(t, "fail", "cache", 1))
            self._replace("cache")
        elif self.drill == "db_primary":
            p = tiers["db_primary"]
            p.alive -= 1
            self.primary_down = 1.0 / p.planned  # its shard's writes in its data center
            self.events.append(DrillEvent(t, "fail", "db_primary", 1))
            if "db_replica" in tiers:  # asynchronous replication: what it had not shipped is gone
                self.writes_lost = self.sc.replication_lag * arch.load.writes * self.primary_down
                self._later(FAILOVER_AUTO_S if self.auto else FAILOVER_MANUAL_S, "failover")
            else:
                self._replace("db_primary")
        elif self.drill == "data_center":
            self.events.append(DrillEvent(t, "fail", None, 1))
            for tier in tiers.values():
                tier.alive -= tier.planned / self.sites
                tier.queue *= (self.sites - 1) / self.sites
            self.site_black_hole = 1.0 / self.sites
            self.live_sites -= 1
            if stateful:
                self.sessions_lost = arch.concurrent_sessions / self.sites
            if self.sites > 1:
                self._later(DNS_FAILOVER_S, "dns failover")
        elif self.drill == "traffic_spike":
            self.spike = 2.0
            self.events.append(DrillEvent(t, "spike", None, 2))

    def _mend(self) -> None:
        due = [x for x in self.timers if x[0] <= self.now]
        self.timers = [x for x in self.timers if x[0] > self.now]
        for _, what in due:
            if what == "health check":
                self.web_black_hole = 0.0
                self.events.append(DrillEvent(self.now, "detected", "web"))
            elif what == "failover":
                self.tiers["db_primary"].alive += 1
                self.tiers["db_replica"].alive -= 1  # a replica became the primary
                self.primary_down = 0.0
                self.events.append(DrillEvent(self.now, "failover", "db_primary"))
                self._replace("db_replica")
            elif what == "dns failover":
                self.site_black_hole = 0.0
                self.events.append(DrillEvent(self.now, "dns_failover", None))
            elif what.startswith("repair "):
                self._added(what.split()[1], 1)
        for tier in self.tiers.values():
            ready = [n for a, n in tier.pending if a <= self.now]
            if ready:
                tier.pending = [(a, n) for a, n in tier.pending if a > self.now]
                self._added(tier.name, sum(ready))

    def _added(self, name: str, count: int) -> None:
        tier = self.tiers[name]
        tier.alive += count
        self.events.append(
            DrillEvent(self.now, "replaced" if tier.alive <= tier.planned else "scaled", name, count)
        )
        if name == "db_primary":
            self.primary_down = 0.0
        if name == "cache":  # a node joining takes its share of the keys, empty
            self.cache_cold = min(1.0, self.cache_cold + count / max(tier.alive, 1.0))

    def _autoscale(self) -> None:
        """Add capacity once the last minute's load is 10% over target, ready after the reaction delay."""
        if not (self.auto and "redundancy" in self.sc.practices) or self.live_sites == 0:
            return  # one instance per tier cannot grow, and a dark data center has nowhere to grow into
        target = self.sc.target_utilization
        for tier in self.tiers.values():
            if not tier.scalable or tier.name == "db_primary" or not tier.recent:
                continue
            rate = tier.recent_sum / len(tier.recent)
            coming = tier.alive + sum(n for _, n in tier.pending)
            if rate > tier.per_instance * coming * target * SCALE_OUT_MARGIN:
                want = math.ceil(rate / (tier.per_instance * target) - 1e-9)
                tier.pending.append((self.now + self.sc.autoscale_delay, want - math.floor(coming)))

    # -- one second of traffic ------------------------------------------------------------------------------
    def _through(
        self, name: str, parts: list[float], background: float = 0.0, work: tuple[float, ...] | None = None
    ) -> list[float]:
        """Pass the flows ``parts`` through a tier. ``work`` gives each flow's seconds per request (default: the
        tier's mean), so a change of mix changes the load; ``background`` (replication, in requests of the
        last flow's kind) loads the tier but is nobody's request, so what it loses is not a user's error."""
        if name not in self.tiers:
            return parts
        tier = self.tiers[name]
        mean = tier.service_time
        scale = [1.0] * len(parts) if work is None else [w / mean for w in work]
        users = sum(x * k for x, k in zip(parts, scale, strict=True))
        total = users + background * scale[-1]
        self.util[name][self.i] = total / tier.capacity if tier.capacity > 0 else math.inf
        if total <= 0:
            return parts
        served, dropped = tier.serve(total, self.sc.timeout)
        self.failed += sum(parts) * dropped / total  # requests, in proportion to the work turned away
        return [x * served / total for x in parts]

    def _cut(self, parts: list[float], share: float) -> list[float]:
        self.failed += sum(parts) * share
        return [x * (1 - share) for x in parts]

    def _second(self) -> None:
        load, tiers, i = self.arch.load, self.tiers, self.i
        if self.cache_cold > 0 and "cache" in tiers and tiers["cache"].alive >= 1:
            self.cache_cold *= math.exp(-1.0 / CACHE_WARMUP_S)  # missing keys refill from the database
        cache_up = "cache" in tiers and tiers["cache"].alive >= 1
        h = load.cache_hit_ratio * (1.0 - self.cache_cold) if cache_up else 0.0
        arrivals = float(self.rng.poisson(load.total * self.spike))
        self.offered[i] = arrivals
        self.failed = 0.0
        static = arrivals * load.static / load.total
        done = static * (load.cdn_hits / load.static if load.static > 0 else 0.0)
        flows = [static - done, arrivals * load.reads / load.total, arrivals * load.writes / load.total]
        flows = self._cut(
            flows, 1.0 if self.sites == 1 and self.site_black_hole > 0 else self.site_black_hole
        )
        flows = self._through("load_balancer", flows)
        flows = self._cut(flows, self.web_black_hole)
        static, reads, writes = self._through("web", flows, work=self.web_work)
        done += static
        reads, writes = self._through("sessions", [reads, writes])
        if cache_up:  # cache-aside: with no live cache node every read goes to the database
            reads, writes = self._through("cache", [reads, writes])
            done += reads * h
            reads *= 1 - h
        if "queue" in tiers:
            (writes,) = self._through("queue", [writes])
            done += writes  # the user's write is acknowledged once it is queued
            self.blocked_jobs += writes * self.primary_down
            (jobs,) = self._through("workers", [writes * (1 - self.primary_down)])
            if self.primary_down == 0 and self.blocked_jobs > 0:  # the held jobs drain after failover
                extra = min(self.blocked_jobs, max(0.0, tiers["workers"].capacity - jobs))
                self.blocked_jobs -= extra
                jobs += extra
            db_writes = [jobs]
            self.jobs[i] = tiers["queue"].queue + tiers["workers"].queue + self.blocked_jobs
        else:
            db_writes = self._cut([writes], self.primary_down)
        replicas = "db_replica" in tiers
        primary_reads = [] if replicas else self._cut([reads], self.primary_down)
        other_sites = sum(db_writes) * max(0, self.live_sites - 1)  # every data center applies every write
        work = (DB_WRITE_S,) if replicas else (DB_READ_S, DB_WRITE_S)
        served = self._through("db_primary", primary_reads + db_writes, background=other_sites, work=work)
        if replicas:
            replay = sum(served) * max(1, self.live_sites) * DB_WRITE_S / DB_READ_S  # in reads' worth of work
            (reads,) = self._through("db_replica", [reads], background=replay, work=(DB_READ_S,))
            done += reads
        else:
            done += served[0]
        if "queue" not in tiers:
            done += served[-1]
        self.goodput[i], self.errors[i] = done, self.failed
        waits = sum(
            tiers[n].wait for n in ("load_balancer", "web", "sessions", "cache", "db_replica") if n in tiers
        )
        self.latency[i] = (
            (self.arch.latency_p50 or 0.0) + waits + (0.0 if "queue" in tiers else tiers["db_primary"].wait)
        )

    def result(self) -> DrillRun:
        self.rng = np.random.default_rng(self.cfg.seed)
        for i in range(self.cfg.duration):
            self.i, self.now = i, float(i)
            if self.drill and i == self.cfg.start:
                self._strike()
            self._mend()
            self._second()
            self._autoscale()
        for a in (
            self.times,
            self.offered,
            self.goodput,
            self.errors,
            self.latency,
            self.jobs,
            *self.util.values(),
        ):
            a.setflags(write=False)  # a run is shared by every session that asks for it: nobody may change it
        return DrillRun(
            self.times,
            self.offered,
            self.goodput,
            self.errors,
            self.latency,
            dict(self.util),
            self.jobs,
            tuple(self.events),
            self.sessions_lost,
            self.writes_lost,
        )
