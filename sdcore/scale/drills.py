"""Failure drills: break one part of an architecture at its peak hour and watch, second by second in virtual
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

    __slots__ = (
        "name", "planned", "alive", "per_instance", "backlog", "scalable", "service_time", "queue", "pending",
        "recent", "recent_sum", "util",
    )  # fmt: skip

    def __init__(self, name: str, instances: int, service_time: float, scalable: bool, seconds: int):
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
        self.util = [0.0] * seconds  # offered load / live capacity, second by second

    @property
    def capacity(self) -> float:
        return self.alive * self.per_instance

    @property
    def wait(self) -> float:
        return self.queue / self.capacity if self.capacity > 0 else 0.0

    def take(self, total: float, i: int, timeout: float) -> tuple[float, float] | None:
        """Second ``i`` with ``total`` requests' worth of work offered: its utilization is noted, then (served,
        turned away), or None if nothing came. The queue keeps what fits and would not time out."""
        cap = self.alive * self.per_instance
        self.util[i] = total / cap if cap > 0 else math.inf
        if total <= 0:
            return None
        recent = self.recent
        if len(recent) == METRIC_WINDOW_S:
            self.recent_sum -= recent[0]
        recent.append(total)
        self.recent_sum += total
        q = self.queue + total
        served = cap if cap < q else q  # min(q, cap), max(0.0, ...) below: the same floats, no call
        q -= served
        limit, room = self.alive * self.backlog, timeout * cap
        if room < limit:
            limit = room
        dropped = q - limit
        if not dropped > 0.0:
            dropped = 0.0
        self.queue = q - dropped
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
    """One virtual-time run; ``broken`` strikes the drill at ``config.start``.

    Each second is a tight pass over plain floats (:meth:`_second`): the tiers a run does not have are
    ``None``, every flow is a local variable, every constant is computed once; the arrivals of all seconds are
    drawn at once (the same draws, in the same order, as one per second)."""

    def __init__(self, arch: Architecture, cfg: DrillConfig, broken: bool):
        self.arch, self.cfg, self.sc = arch, cfg, arch.config
        self.drill = cfg.drill if broken else None
        self.auto = "automation" in self.sc.practices
        n = cfg.duration
        self.tiers = {t.name: _Tier(t.name, t.instances, t.service_time, t.scalable, n) for t in arch.tiers}
        self.sites = self.sc.sites
        self.live_sites = self.sites
        queued_writes = "services" in self.sc.practices
        self.web_work = (WEB_STATIC_S, WEB_READ_S, WEB_WRITE_QUEUED_S if queued_writes else WEB_WRITE_S)
        self.times = np.arange(n, dtype=float)
        self.offered, self.goodput, self.errors, self.latency, self.jobs = ([0.0] * n for _ in range(5))
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
        now = self.now
        if self.timers:
            due = [x for x in self.timers if x[0] <= now]
            self.timers = [x for x in self.timers if x[0] > now]
            for _, what in due:
                if what == "health check":
                    self.web_black_hole = 0.0
                    self.events.append(DrillEvent(now, "detected", "web"))
                elif what == "failover":
                    self.tiers["db_primary"].alive += 1
                    self.tiers["db_replica"].alive -= 1  # a replica became the primary
                    self.primary_down = 0.0
                    self.events.append(DrillEvent(now, "failover", "db_primary"))
                    self._replace("db_replica")
                elif what == "dns failover":
                    self.site_black_hole = 0.0
                    self.events.append(DrillEvent(now, "dns_failover", None))
                elif what.startswith("repair "):
                    self._added(what.split()[1], 1)
        for tier in self._growing:
            if not tier.pending:
                continue
            ready = [n for a, n in tier.pending if a <= now]
            if ready:
                tier.pending = [(a, n) for a, n in tier.pending if a > now]
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
        if not self.scaling or self.live_sites == 0:
            return  # one instance per tier cannot grow, and a dark data center has nowhere to grow into
        target = self.sc.target_utilization
        for tier in self._scaled:
            recent = tier.recent
            if not recent:
                continue
            rate = tier.recent_sum / len(recent)
            coming = tier.alive + (sum(n for _, n in tier.pending) if tier.pending else 0)
            if rate > tier.per_instance * coming * target * SCALE_OUT_MARGIN:
                want = math.ceil(rate / (tier.per_instance * target) - 1e-9)
                tier.pending.append((self.now + self.sc.autoscale_delay, want - math.floor(coming)))

    # -- one second of traffic ------------------------------------------------------------------------------
    def _second(self, i: int, arrivals: float) -> None:
        """Second ``i``: the flows (static misses, reads, writes) through the tiers in request order. Each
        tier's work is the flows weighted by their seconds per request over its mean (``k``); background work
        (replication) loads a tier but is nobody's request, so what it loses is not a user's error; an
        overloaded tier's losses are shared by the flows in proportion to their requests."""
        lb, web, sessions, cache = self.lb, self.web, self.sessions, self.cache
        queue, workers, primary, replica = self.queue_t, self.workers, self.primary, self.replica
        timeout = self.timeout
        cache_up = cache is not None and cache.alive >= 1
        if self.cache_cold > 0 and cache_up:
            self.cache_cold *= _WARM_STEP  # missing keys refill from the database
        h = self.hit_ratio * (1.0 - self.cache_cold) if cache_up else 0.0
        self.offered[i] = arrivals
        failed = 0.0
        static = arrivals * self.static_rate / self.total_rate
        done = static * self.cdn_share
        s0, r0, w0 = (
            static - done,
            arrivals * self.read_rate / self.total_rate,
            arrivals * self.write_rate / self.total_rate,
        )
        share = 1.0 if self.sites == 1 and self.site_black_hole > 0 else self.site_black_hole
        if share:
            failed += (s0 + r0 + w0) * share
            keep = 1 - share
            s0, r0, w0 = s0 * keep, r0 * keep, w0 * keep
        if lb is not None:
            total = s0 + r0 + w0
            got = lb.take(total, i, timeout)
            if got is not None:
                served, dropped = got
                failed += total * dropped / total
                s0, r0, w0 = s0 * served / total, r0 * served / total, w0 * served / total
        share = self.web_black_hole
        if share:
            failed += (s0 + r0 + w0) * share
            keep = 1 - share
            s0, r0, w0 = s0 * keep, r0 * keep, w0 * keep
        ks, kr, kw = self.web_k
        total = s0 * ks + r0 * kr + w0 * kw + 0.0 * kw
        got = web.take(total, i, timeout)
        if got is not None:
            served, dropped = got
            failed += (s0 + r0 + w0) * dropped / total
            s0, r0, w0 = s0 * served / total, r0 * served / total, w0 * served / total
        done += s0
        if sessions is not None:
            total = r0 + w0
            got = sessions.take(total, i, timeout)
            if got is not None:
                served, dropped = got
                failed += total * dropped / total
                r0, w0 = r0 * served / total, w0 * served / total
        if cache_up:  # cache-aside: with no live cache node every read goes to the database
            total = r0 + w0
            got = cache.take(total, i, timeout)
            if got is not None:
                served, dropped = got
                failed += total * dropped / total
                r0, w0 = r0 * served / total, w0 * served / total
            done += r0 * h
            r0 *= 1 - h
        down = self.primary_down
        if queue is not None:
            got = queue.take(w0, i, timeout)
            if got is not None:
                served, dropped = got
                failed += w0 * dropped / w0
                w0 = w0 * served / w0
            done += w0  # the user's write is acknowledged once it is queued
            self.blocked_jobs += w0 * down
            jobs = w0 * (1 - down)
            got = workers.take(jobs, i, timeout)
            if got is not None:
                served, dropped = got
                failed += jobs * dropped / jobs
                jobs = jobs * served / jobs
            if down == 0 and self.blocked_jobs > 0:  # the held jobs drain after failover
                extra = min(self.blocked_jobs, max(0.0, workers.alive * workers.per_instance - jobs))
                self.blocked_jobs -= extra
                jobs += extra
            self.jobs[i] = queue.queue + workers.queue + self.blocked_jobs
        else:
            failed += w0 * down
            jobs = w0 * (1 - down)  # the writes that reach the primary
        sites_on = self.live_sites
        other_sites = jobs * max(0, sites_on - 1)  # every data center applies every write
        if replica is not None:
            kw = self.primary_k[0]
            total = jobs * kw + other_sites * kw
            got = primary.take(total, i, timeout)
            if got is not None:
                served, dropped = got
                failed += jobs * dropped / total
                jobs = jobs * served / total
            replay = jobs * max(1, sites_on) * DB_WRITE_S / DB_READ_S  # in reads' worth of work
            kr = self.replica_k
            total = r0 * kr + replay * kr
            got = replica.take(total, i, timeout)
            if got is not None:
                served, dropped = got
                failed += r0 * dropped / total
                r0 = r0 * served / total
            done += r0
        else:
            failed += r0 * down
            r0 = r0 * (1 - down)
            kr, kw = self.primary_k
            total = r0 * kr + jobs * kw + other_sites * kw
            got = primary.take(total, i, timeout)
            if got is not None:
                served, dropped = got
                failed += (r0 + jobs) * dropped / total
                r0, jobs = r0 * served / total, jobs * served / total
            done += r0
        if queue is None:
            done += jobs
        self.goodput[i], self.errors[i] = done, failed
        waits = 0
        for t in self.waiting:
            cap = t.alive * t.per_instance
            waits += t.queue / cap if cap > 0 else 0.0
        if queue is None:
            cap = primary.alive * primary.per_instance
            end = primary.queue / cap if cap > 0 else 0.0
        else:
            end = 0.0
        self.latency[i] = self.p50 + waits + end

    def result(self) -> DrillRun:
        cfg, load, tiers = self.cfg, self.arch.load, self.tiers
        self.lb, self.web, self.sessions = tiers.get("load_balancer"), tiers["web"], tiers.get("sessions")
        self.cache, self.queue_t, self.workers = tiers.get("cache"), tiers.get("queue"), tiers.get("workers")
        self.primary, self.replica = tiers["db_primary"], tiers.get("db_replica")
        self.waiting = [
            tiers[n] for n in ("load_balancer", "web", "sessions", "cache", "db_replica") if n in tiers
        ]  # the tiers whose queue a request waits in (the primary's too, without a message queue)
        self.scaling = self.auto and "redundancy" in self.sc.practices
        self._scaled = [t for t in tiers.values() if t.scalable and t.name != "db_primary"]
        self._growing = list(tiers.values())
        self.timeout = self.sc.timeout
        self.hit_ratio = load.cache_hit_ratio
        self.total_rate, self.static_rate = load.total, load.static
        self.read_rate, self.write_rate = load.reads, load.writes
        self.cdn_share = load.cdn_hits / load.static if load.static > 0 else 0.0
        self.p50 = self.arch.latency_p50 or 0.0
        self.web_k = tuple(w / self.web.service_time for w in self.web_work)
        replicas = self.replica is not None
        self.primary_k = tuple(
            w / self.primary.service_time for w in ((DB_WRITE_S,) if replicas else (DB_READ_S, DB_WRITE_S))
        )
        self.replica_k = DB_READ_S / self.replica.service_time if replicas else 0.0
        n = cfg.duration
        # One Poisson draw per second, all at once: the same numbers, in the same order, as one call a second.
        rate = np.full(n, load.total * 1.0)
        if self.drill == "traffic_spike":
            rate[cfg.start :] = load.total * 2.0  # the spike doubles the rate from the strike on
        arrivals = np.random.default_rng(cfg.seed).poisson(rate).astype(float).tolist()
        strike = cfg.start if self.drill else -1
        second, mend, autoscale = self._second, self._mend, self._autoscale
        for i in range(n):
            self.now = float(i)
            if i == strike:
                self._strike()
            mend()
            second(i, arrivals[i])
            autoscale()
        offered, goodput, errors, latency, jobs = (
            _frozen(a) for a in (self.offered, self.goodput, self.errors, self.latency, self.jobs)
        )  # a run is shared by every session that asks for it: nobody may change it
        times = self.times
        times.setflags(write=False)
        return DrillRun(
            times,
            offered,
            goodput,
            errors,
            latency,
            {name: _frozen(t.util) for name, t in tiers.items()},
            jobs,
            tuple(self.events),
            self.sessions_lost,
            self.writes_lost,
        )


_WARM_STEP = math.exp(-1.0 / CACHE_WARMUP_S)  # one second of a cold key share refilling


def _frozen(values: list[float]) -> np.ndarray:
    a = np.array(values, dtype=float)
    a.setflags(write=False)
    return a
